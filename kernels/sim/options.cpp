// Process-wide simulator settings, their environment variables, and the simulator's errors.
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

#include <lenet/sim/options.h>
#include <lenet/sim/runtime.h>

namespace lenet::sim {
namespace {

struct Settings {
  std::mutex mutex;
  bool initialized = false;
  Options options;
};

Settings& settings() {
  static Settings s;
  return s;
}

// Decimal digits only, no sign, no overflow.
bool parse_u64(std::string_view text, std::uint64_t& value) {
  if (text.empty() || text.size() > 20) return false;
  std::uint64_t v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  value = v;
  return true;
}

Options from_environment() {
  Options o;
  if (const char* order = std::getenv("LENET_SIM_ORDER"); order != nullptr && *order != '\0') {
    try {
      o = parse_order(order, o);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string("LENET_SIM_ORDER: ") + e.what());
    }
  }
  if (const char* threads = std::getenv("LENET_SIM_THREADS");
      threads != nullptr && *threads != '\0') {
    try {
      o.threads = parse_threads(threads);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string("LENET_SIM_THREADS: ") + e.what());
    }
  }
  return o;
}

// With the lock held.
Options& current(Settings& s) {
  if (!s.initialized) {
    s.options = from_environment();
    s.initialized = true;
  }
  return s.options;
}

void check(const Options& o) {
  LENET_CHECK(o.threads >= 0, "lenet::sim::set_options: threads must be >= 0, got " << o.threads);
}

std::string describe(const std::string& what, const std::string& kernel, dim3 block,
                     dim3 thread) {
  if (what.find(kernel) != std::string::npos) return what;
  return what + " (kernel " + kernel + ", block (" + std::to_string(block.x) + "," +
         std::to_string(block.y) + "," + std::to_string(block.z) + "), thread (" +
         std::to_string(thread.x) + "," + std::to_string(thread.y) + "," +
         std::to_string(thread.z) + "))";
}

}  // namespace

Options options() {
  Settings& s = settings();
  std::lock_guard<std::mutex> lock(s.mutex);
  return current(s);
}

void set_options(const Options& options) {
  check(options);
  Settings& s = settings();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.options = options;
  s.initialized = true;
}

void set_order(Order order, std::uint64_t seed) {
  Settings& s = settings();
  std::lock_guard<std::mutex> lock(s.mutex);
  Options& o = current(s);
  o.order = order;
  o.seed = seed;
}

void set_threads(int threads) {
  LENET_CHECK(threads >= 0, "lenet::sim::set_threads: threads must be >= 0, got " << threads);
  Settings& s = settings();
  std::lock_guard<std::mutex> lock(s.mutex);
  current(s).threads = threads;
}

void set_shared_memory_limit(std::size_t bytes) {
  Settings& s = settings();
  std::lock_guard<std::mutex> lock(s.mutex);
  current(s).shared_memory_limit = bytes;
}

Options parse_order(std::string_view text, Options base) {
  if (text == "forward") {
    base.order = Order::kForward;
  } else if (text == "reverse") {
    base.order = Order::kReverse;
  } else if (text == "random") {
    base.order = Order::kRandom;
  } else if (text.substr(0, 7) == "random:") {
    std::uint64_t seed = 0;
    if (!parse_u64(text.substr(7), seed)) {
      throw std::invalid_argument("lenet::sim::parse_order: the seed in '" + std::string(text) +
                                  "' is not a decimal number below 2^64");
    }
    base.order = Order::kRandom;
    base.seed = seed;
  } else {
    throw std::invalid_argument(
        "lenet::sim::parse_order: expected forward, reverse, random or random:<seed>, got '" +
        std::string(text) + "'");
  }
  return base;
}

std::string to_string(Order order, std::uint64_t seed) {
  switch (order) {
    case Order::kForward: return "forward";
    case Order::kReverse: return "reverse";
    case Order::kRandom: return "random:" + std::to_string(seed);
  }
  return "unknown";
}

int parse_threads(std::string_view text) {
  constexpr std::uint64_t kMaxThreads = 4096;
  std::uint64_t n = 0;
  if (text == "auto") return 0;
  if (!parse_u64(text, n) || n > kMaxThreads) {
    throw std::invalid_argument(
        "lenet::sim::parse_threads: expected a number of threads up to " +
        std::to_string(kMaxThreads) + " (0 or 'auto' for one per hardware thread), got '" +
        std::string(text) + "'");
  }
  return static_cast<int>(n);
}

ScopedOptions::ScopedOptions(const Options& options) : saved_(lenet::sim::options()) {
  set_options(options);
}

ScopedOptions::~ScopedOptions() {
  Settings& s = settings();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.options = saved_;
}

SimError::SimError(const std::string& kernel, dim3 block, dim3 thread, const std::string& what)
    : CudaError(runtime::cudaErrorLaunchFailure, describe(what, kernel, block, thread)),
      kernel_(kernel),
      block_(block),
      thread_(thread) {}

}  // namespace lenet::sim
