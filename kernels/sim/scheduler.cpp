// The simulator's executor: a grid's blocks on one or more OS threads, each block's threads
// as Boost.Context fibers on one OS thread, switching at barriers and warp collectives.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/context/fiber.hpp>

#include <lenet/sim/sim.h>

#include "registry.h"
#include "sanitizers.h"

namespace lenet::sim::detail {
namespace {

namespace bctx = boost::context;

std::atomic<std::uint64_t> g_launches{0};  // lenet::sim::launch_count()
using runtime::cudaErrorInvalidConfiguration;
using runtime::cudaErrorInvalidResourceHandle;
using runtime::cudaErrorInvalidValue;

// Kernel frames are small; sanitizers make them several times larger.
constexpr std::size_t kStackBytes = (sanitizers::kEnabled ? 256 : 64) * 1024;
constexpr unsigned kWarpSize = 32;
constexpr unsigned kMaxBlockThreads = 1024;

// Thrown at a fiber's suspension point to unwind a block that cannot go on.
struct AbortBlock {};

// mmap'ed stacks with a guard page below, so an overflow faults instead of corrupting the
// neighbour. Shared by all launches and kept for the life of the process (never destroyed, so
// that a launch from a static destructor still finds it).
class StackPool {
 public:
  static StackPool& instance() {
    static StackPool* pool = new StackPool;
    return *pool;
  }

  bctx::stack_context take() {
    std::size_t serial = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        bctx::stack_context sctx = free_.back();
        free_.pop_back();
        return sctx;
      }
      serial = serial_++;
    }
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t total = kStackBytes + page;
    void* base = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) throw std::bad_alloc();
    if (mprotect(base, page, PROT_NONE) != 0) {
      munmap(base, total);
      throw std::bad_alloc();
    }
    // Stack tops at the same offset in every page would all compete for the same few cache
    // sets; staggering them by up to 4 KiB spreads the fibers' hot frames over the cache.
    const std::size_t color = (serial % kStackColors) * kStackColorStep;
    bctx::stack_context sctx;
    sctx.size = kStackBytes - color;
    sctx.sp = static_cast<char*>(base) + total - color;
    return sctx;
  }

  void give(std::vector<bctx::stack_context>& stacks) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.insert(free_.end(), stacks.begin(), stacks.end());
    stacks.clear();
  }

 private:
  StackPool() = default;
  static constexpr std::size_t kStackColors = 16;
  static constexpr std::size_t kStackColorStep = 256;  // boost aligns its record to 256 bytes

  std::mutex mutex_;
  std::vector<bctx::stack_context> free_;
  std::size_t serial_ = 0;
};

enum class State : std::uint8_t { kNotStarted, kRunnable, kAtBarrier, kAtWarp, kDone };

struct ThreadFiber {
  bctx::fiber context;    // the suspended fiber; the scheduler resumes it
  bctx::fiber scheduler;  // inside the fiber: the way back to the scheduler
  uint3 idx{0, 0, 0};
  unsigned linear = 0;
  State state = State::kNotStarted;
  const char* file = nullptr;  // the __syncthreads() it waits at
  int line = 0;
  WarpOp op = WarpOp::kShfl;  // the warp collective it waits at
  unsigned mask = 0;
  int param = 0;
  int width = 0;
  std::uint64_t value = 0;
  std::uint64_t result = 0;
  sanitizers::FiberState san;
};

std::string format_dim(dim3 d) {
  return "(" + std::to_string(d.x) + "," + std::to_string(d.y) + "," + std::to_string(d.z) + ")";
}

std::string format_mask(unsigned mask) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", mask);
  return text;
}

const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::kShfl: return "__shfl_sync";
    case WarpOp::kShflUp: return "__shfl_up_sync";
    case WarpOp::kShflDown: return "__shfl_down_sync";
    case WarpOp::kShflXor: return "__shfl_xor_sync";
    case WarpOp::kBallot: return "__ballot_sync";
    case WarpOp::kAny: return "__any_sync";
    case WarpOp::kAll: return "__all_sync";
    case WarpOp::kSyncWarp: return "__syncwarp";
  }
  return "a warp collective";
}

bool same_site(const ThreadFiber& a, const ThreadFiber& b) {
  return a.line == b.line && (a.file == b.file || std::strcmp(a.file, b.file) == 0);
}

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class BlockRunner;
thread_local BlockRunner* t_runner = nullptr;
thread_local ThreadFiber* t_fiber = nullptr;

// Runs blocks of one launch, one after another, on the calling OS thread.
class BlockRunner {
 public:
  BlockRunner(const LaunchConfig& config, const Options& options, void (*body)(void*),
              void* context)
      : config_(config),
        options_(options),
        body_(body),
        context_(context),
        threads_(config.block.x * config.block.y * config.block.z),
        fibers_(threads_),
        lane_arrive_(threads_),
        lane_leave_(threads_),
        shared_(new unsigned char[config.shared_bytes]) {
    sanitizers::init_scheduler(san_);
    for (unsigned i = 0; i < threads_; ++i) {
      ThreadFiber& f = fibers_[i];
      f.linear = i;
      f.idx = uint3{i % config.block.x, (i / config.block.x) % config.block.y,
                    i / (config.block.x * config.block.y)};
    }
    stacks_.reserve(threads_);
    used_stacks_.reserve(threads_);
    order_.resize(threads_);
    std::iota(order_.begin(), order_.end(), 0u);
    if (options_.order == Order::kReverse) std::reverse(order_.begin(), order_.end());
    t_runner = this;
    dynamic_shared = shared_.get();
    blockDim = config.block;
    gridDim = config.grid;
  }

  ~BlockRunner() {
    abort_block();
    stacks_.insert(stacks_.end(), used_stacks_.begin(), used_stacks_.end());
    StackPool::instance().give(stacks_);
    t_runner = nullptr;
    t_fiber = nullptr;
    dynamic_shared = nullptr;
  }

  BlockRunner(const BlockRunner&) = delete;
  BlockRunner& operator=(const BlockRunner&) = delete;

  void run_block(std::uint64_t linear_block) {
    const dim3 grid = config_.grid;
    block_ = dim3(static_cast<unsigned>(linear_block % grid.x),
                  static_cast<unsigned>((linear_block / grid.x) % grid.y),
                  static_cast<unsigned>(linear_block / (std::uint64_t{grid.x} * grid.y)));
    blockIdx = uint3(block_);
    std::memset(shared_.get(), 0xFF, config_.shared_bytes);
    for (ThreadFiber& f : fibers_) f.state = State::kNotStarted;
    // Stacks are reused from one block to the next, never within a block (ThreadSanitizer
    // would see two threads of a block share stack memory).
    stacks_.insert(stacks_.end(), used_stacks_.begin(), used_stacks_.end());
    used_stacks_.clear();
    aborting_ = false;
    error_ = nullptr;
    rng_ = options_.seed ^ (linear_block * 0xd1b54a32d192ed03ull);

    for (;;) {
      // A pass visits every thread once; only a warp collective completed during the pass
      // can leave a thread runnable after it (one the pass had already visited).
      if (options_.order == Order::kRandom) shuffle_order();
      released_ = false;
      for (const unsigned i : order_) {
        ThreadFiber& f = fibers_[i];
        if (f.state == State::kNotStarted) start(f);
        if (f.state != State::kRunnable) continue;
        resume(f);
        if (error_) {
          abort_block();
          std::rethrow_exception(std::exchange(error_, nullptr));
        }
      }
      if (released_) continue;

      // Nobody can run: the block is done, at a barrier, or stuck.
      unsigned done = 0;
      unsigned at_barrier = 0;
      bool one_site = true;
      const ThreadFiber* first = nullptr;
      for (const ThreadFiber& f : fibers_) {
        done += f.state == State::kDone;
        if (f.state != State::kAtBarrier) continue;
        ++at_barrier;
        if (first == nullptr) {
          first = &f;
        } else if (!same_site(f, *first)) {
          one_site = false;
        }
      }
      if (done == threads_) break;
      if (at_barrier == threads_ && one_site) {
        for (ThreadFiber& f : fibers_) f.state = State::kRunnable;
        ++barrier_generation_;
        continue;
      }
      report_stall();
    }
    sanitizers::acquire(&block_sync_);
  }

  // Called by a fiber (CUDA thread) f.
  void sync_threads(ThreadFiber& f, const char* file, int line) {
    const sanitizers::IgnoreAccesses ignore;
    f.state = State::kAtBarrier;
    f.file = file;
    f.line = line;
    const char* sync = &barrier_sync_[barrier_generation_ % 2];
    sanitizers::release(sync);
    suspend(f);
    sanitizers::acquire(sync);
  }

  // Called by a fiber (CUDA thread) f.
  std::uint64_t warp_collective(ThreadFiber& f, WarpOp op, unsigned mask, std::uint64_t value,
                                int param, int width) {
    const sanitizers::IgnoreAccesses ignore;
    const unsigned lane = f.linear % kWarpSize;
    const unsigned base = f.linear - lane;
    const unsigned lanes = std::min(kWarpSize, threads_ - base);
    const unsigned present = lanes == kWarpSize ? 0xffffffffu : (1u << lanes) - 1u;
    if (((mask >> lane) & 1u) == 0) {
      fail(f, std::string(op_name(op)) + " with mask " + format_mask(mask) +
                  " does not name the calling lane " + std::to_string(lane));
    }
    if ((mask & ~present) != 0) {
      fail(f, std::string(op_name(op)) + " with mask " + format_mask(mask) + " names lanes " +
                  format_mask(mask & ~present) + " that do not exist: warp " +
                  std::to_string(base / kWarpSize) + " of a block of " +
                  std::to_string(threads_) + " threads has " + std::to_string(lanes) +
                  " lanes");
    }
    if (width < 1 || width > static_cast<int>(kWarpSize) || (width & (width - 1)) != 0) {
      fail(f, std::string(op_name(op)) + ": width " + std::to_string(width) +
                  " is not a power of two in [1, 32]");
    }
    f.state = State::kAtWarp;
    f.op = op;
    f.mask = mask;
    f.value = value;
    f.param = param;
    f.width = width;
    sanitizers::release(&lane_arrive_[f.linear]);
    bool complete = true;
    for (unsigned l = 0; l < kWarpSize && complete; ++l) {
      const ThreadFiber& g = fibers_[base + l];
      complete = ((mask >> l) & 1u) == 0 ||
                 (g.state == State::kAtWarp && g.op == op && g.mask == mask);
    }
    if (complete) {
      complete_warp_collective(f, base, op, mask);
    } else {
      suspend(f);  // the last lane to arrive completes the collective for everyone
      sanitizers::acquire(&lane_leave_[f.linear]);
    }
    return f.result;
  }

  unsigned active_mask(const ThreadFiber& f) const {
    const sanitizers::IgnoreAccesses ignore;
    const unsigned base = f.linear - f.linear % kWarpSize;
    const unsigned lanes = std::min(kWarpSize, threads_ - base);
    unsigned mask = 0;
    for (unsigned l = 0; l < lanes; ++l) {
      if (fibers_[base + l].state != State::kDone) mask |= 1u << l;
    }
    return mask;
  }

 private:
  // Hands a finished fiber's stack back to this runner (boost calls it when the fiber exits).
  struct StackReturn {
    BlockRunner* runner;
    bctx::stack_context allocate() { return StackPool::instance().take(); }
    void deallocate(bctx::stack_context& sctx) noexcept {
      const sanitizers::IgnoreAccesses ignore;
      runner->used_stacks_.push_back(sctx);  // reserved: never reallocates
    }
  };

  void shuffle_order() {
    for (unsigned i = threads_; i > 1; --i) {
      const unsigned j = static_cast<unsigned>(splitmix64(rng_) % i);
      std::swap(order_[i - 1], order_[j]);
    }
  }

  void start(ThreadFiber& f) {
    if (stacks_.empty()) stacks_.push_back(StackPool::instance().take());
    bctx::stack_context sctx = stacks_.back();
    stacks_.pop_back();
    sanitizers::before_create(f.san, static_cast<char*>(sctx.sp) - sctx.size, sctx.size);
    f.context = bctx::fiber(std::allocator_arg, bctx::preallocated(sctx.sp, sctx.size, sctx),
                            StackReturn{this}, [this, &f](bctx::fiber&& scheduler) {
                              return fiber_main(f, std::move(scheduler));
                            });
    sanitizers::after_create(san_);
    f.state = State::kRunnable;
  }

  bctx::fiber fiber_main(ThreadFiber& f, bctx::fiber&& scheduler) {
    sanitizers::fiber_entered(san_);
    bool run = false;
    {
      const sanitizers::IgnoreAccesses ignore;
      f.scheduler = std::move(scheduler);
      run = !aborting_;
    }
    if (run) {
      try {
        body_(context_);
      } catch (const bctx::detail::forced_unwind&) {
        throw;  // boost's own unwinding of a fiber must pass
      } catch (const AbortBlock&) {
      } catch (...) {
        const sanitizers::IgnoreAccesses ignore;
        if (!error_) error_ = std::current_exception();
      }
    }
    {
      const sanitizers::IgnoreAccesses ignore;
      f.state = State::kDone;
      sanitizers::release(&block_sync_);
    }
    sanitizers::before_suspend(san_, f.san, true);
    return std::move(f.scheduler);
  }

  void resume(ThreadFiber& f) {
    t_fiber = &f;
    threadIdx = f.idx;
    sanitizers::before_resume(san_, f.san);
    f.context = std::move(f.context).resume();
    sanitizers::after_resume(san_, f.san, !f.context);
    t_fiber = nullptr;
  }

  // Inside fiber f: back to the scheduler until it resumes f.
  void suspend(ThreadFiber& f) {
    sanitizers::before_suspend(san_, f.san, false);
    f.scheduler = std::move(f.scheduler).resume();
    sanitizers::after_suspend(san_, f.san);
    if (aborting_) throw AbortBlock{};
  }

  // Lets every started fiber unwind (AbortBlock at its suspension point) and finish.
  void abort_block() noexcept {
    aborting_ = true;
    for (ThreadFiber& f : fibers_) {
      if (f.state != State::kNotStarted && f.state != State::kDone) resume(f);
    }
    sanitizers::acquire(&block_sync_);
  }

  // Run by the last lane to arrive, self. Under ThreadSanitizer it takes what every lane did
  // before arriving and hands it to each lane leaving; per-lane addresses keep a lane's next
  // arrival out of what others take from this collective.
  void complete_warp_collective(const ThreadFiber& self, unsigned base, WarpOp op,
                                unsigned mask) {
    for (unsigned l = 0; l < kWarpSize; ++l) {
      if (((mask >> l) & 1u) != 0) sanitizers::acquire(&lane_arrive_[base + l]);
    }
    unsigned votes = 0;
    for (unsigned l = 0; l < kWarpSize; ++l) {
      if (((mask >> l) & 1u) != 0 && fibers_[base + l].value != 0) votes |= 1u << l;
    }
    for (unsigned l = 0; l < kWarpSize; ++l) {
      if (((mask >> l) & 1u) == 0) continue;
      ThreadFiber& g = fibers_[base + l];
      switch (op) {
        case WarpOp::kBallot: g.result = votes; break;
        case WarpOp::kAny: g.result = votes != 0; break;
        case WarpOp::kAll: g.result = votes == mask; break;
        case WarpOp::kSyncWarp: g.result = 0; break;
        default: {
          const unsigned src = source_lane(op, l, g.param, g.width);
          if (((mask >> src) & 1u) == 0) {
            fail(g, std::string(op_name(op)) + " with mask " + format_mask(mask) + " on lane " +
                        std::to_string(l) + " reads lane " + std::to_string(src) +
                        ", which is not in the mask (undefined on a GPU)");
          }
          g.result = fibers_[base + src].value;
        }
      }
    }
    released_ = true;
    for (unsigned l = 0; l < kWarpSize; ++l) {
      if (((mask >> l) & 1u) == 0) continue;
      fibers_[base + l].state = State::kRunnable;
      if (base + l != self.linear) sanitizers::release(&lane_leave_[base + l]);
    }
  }

  // PTX shfl.sync: lanes form segments of width; a source outside the lane's segment (up,
  // down) or after it (xor) leaves the lane with its own value.
  static unsigned source_lane(WarpOp op, unsigned lane, int param, int width) {
    const int l = static_cast<int>(lane);
    const int b = param & 31;
    const int first = l & ~(width - 1);
    const int last = first + width - 1;
    int j = l;
    switch (op) {
      case WarpOp::kShfl: j = first | (b & (width - 1)); break;
      case WarpOp::kShflUp: j = l - b >= first ? l - b : l; break;
      case WarpOp::kShflDown: j = l + b <= last ? l + b : l; break;
      case WarpOp::kShflXor: j = (l ^ b) <= last ? (l ^ b) : l; break;
      default: break;
    }
    return static_cast<unsigned>(j);
  }

  [[noreturn]] void fail(const ThreadFiber& f, const std::string& what) {
    throw SimError(config_.kernel, block_, f.idx,
                   "lenet::sim: in kernel " + std::string(config_.kernel) + ", block " +
                       format_dim(block_) + ", thread " + format_dim(f.idx) + ": " + what);
  }

  static std::string waits_at(const ThreadFiber& f) {
    switch (f.state) {
      case State::kDone: return "has returned";
      case State::kAtBarrier:
        return "waits at __syncthreads() (" + std::string(f.file) + ":" + std::to_string(f.line) +
               ")";
      case State::kAtWarp:
        return "waits at " + std::string(op_name(f.op)) + " with mask " + format_mask(f.mask);
      default: return "is running";
    }
  }

  // No thread can run, yet not all are done: name the first thread left waiting and one that
  // will never join it.
  [[noreturn]] void report_stall() {
    const ThreadFiber* waiting = nullptr;
    const ThreadFiber* other = nullptr;
    for (const ThreadFiber& f : fibers_) {
      if (f.state == State::kAtBarrier || f.state == State::kAtWarp) {
        waiting = &f;
        break;
      }
    }
    if (waiting->state == State::kAtBarrier) {
      for (const ThreadFiber& g : fibers_) {
        if (g.state != State::kAtBarrier || !same_site(g, *waiting)) {
          other = &g;
          break;
        }
      }
    } else {
      const unsigned base = waiting->linear - waiting->linear % kWarpSize;
      for (unsigned l = 0; l < kWarpSize && other == nullptr; ++l) {
        const ThreadFiber& g = fibers_[base + l];
        if (((waiting->mask >> l) & 1u) != 0 &&
            (g.state != State::kAtWarp || g.op != waiting->op || g.mask != waiting->mask)) {
          other = &g;
        }
      }
    }
    std::string what = "lenet::sim: barrier divergence in kernel " + std::string(config_.kernel) +
                       ", block " + format_dim(block_) + ": thread " + format_dim(waiting->idx) +
                       " " + waits_at(*waiting);
    if (other != nullptr) what += ", but thread " + format_dim(other->idx) + " " + waits_at(*other);
    const uint3 idx = waiting->idx;
    abort_block();
    throw BarrierDivergence(config_.kernel, block_, idx, what);
  }

  // The scheduler's own accesses are bookkeeping, never a kernel's race.
  const sanitizers::IgnoreAccesses ignore_;
  LaunchConfig config_;
  Options options_;
  void (*body_)(void*);
  void* context_;
  unsigned threads_;
  std::vector<ThreadFiber> fibers_;
  // Addresses ThreadSanitizer synchronizes on (sanitizers.h). Barriers alternate between two,
  // so that threads leaving one barrier do not take what the fastest ones did after it.
  char barrier_sync_[2] = {0, 0};
  unsigned barrier_generation_ = 0;
  std::vector<char> lane_arrive_;
  std::vector<char> lane_leave_;
  char block_sync_ = 0;
  std::vector<unsigned> order_;
  std::vector<bctx::stack_context> stacks_;       // free for the next fiber of this block
  std::vector<bctx::stack_context> used_stacks_;  // used in this block
  std::unique_ptr<unsigned char[]> shared_;
  dim3 block_;
  std::uint64_t rng_ = 0;
  bool released_ = false;  // a warp collective released threads during this pass
  bool aborting_ = false;
  std::exception_ptr error_;
  sanitizers::SchedulerState san_;
};

[[noreturn]] void launch_error(const LaunchConfig& config, runtime::cudaError_t code,
                               const std::string& what) {
  throw CudaError(code, "lenet::sim::launch(" + std::string(config.kernel) + "): " +
                            runtime::cudaGetErrorName(code) + " (" +
                            std::to_string(static_cast<int>(code)) + "): " + what);
}

void validate(const LaunchConfig& config, const Options& options) {
  const dim3 b = config.block;
  const dim3 g = config.grid;
  if (b.x == 0 || b.y == 0 || b.z == 0 || b.x > 1024 || b.y > 1024 || b.z > 64) {
    launch_error(config, cudaErrorInvalidConfiguration,
                 "block " + format_dim(b) + " is outside [1, 1024] x [1, 1024] x [1, 64]");
  }
  if (std::uint64_t{b.x} * b.y * b.z > kMaxBlockThreads) {
    launch_error(config, cudaErrorInvalidConfiguration,
                 "block " + format_dim(b) + " has " + std::to_string(std::uint64_t{b.x} * b.y * b.z) +
                     " threads, more than " + std::to_string(kMaxBlockThreads));
  }
  if (g.x == 0 || g.y == 0 || g.z == 0 || g.x > 2147483647u || g.y > 65535 || g.z > 65535) {
    launch_error(config, cudaErrorInvalidConfiguration,
                 "grid " + format_dim(g) + " is outside [1, 2^31-1] x [1, 65535] x [1, 65535]");
  }
  if (config.shared_bytes > options.shared_memory_limit) {
    launch_error(config, cudaErrorInvalidValue,
                 std::to_string(config.shared_bytes) + " bytes of dynamic shared memory, more than "
                 "the limit of " + std::to_string(options.shared_memory_limit));
  }
  if (!runtime::detail::valid_stream(config.stream)) {
    launch_error(config, cudaErrorInvalidResourceHandle, "unknown stream");
  }
}

std::uint64_t gcd(std::uint64_t a, std::uint64_t b) {
  while (b != 0) a = std::exchange(b, a % b);
  return a;
}

// The k-th block to run. Random order is an affine permutation k -> (a k + c) mod n with a
// coprime to n: a different order for every seed, without materializing a huge grid.
class BlockOrder {
 public:
  BlockOrder(const Options& options, std::uint64_t n) : order_(options.order), n_(n) {
    if (order_ != Order::kRandom || n_ < 2) return;
    std::uint64_t state = options.seed;
    c_ = splitmix64(state) % n_;
    do {
      a_ = splitmix64(state) % n_;
    } while (a_ == 0 || gcd(a_, n_) != 1);
  }
  std::uint64_t operator[](std::uint64_t k) const {
    switch (order_) {
      case Order::kForward: return k;
      case Order::kReverse: return n_ - 1 - k;
      case Order::kRandom:
        return static_cast<std::uint64_t>(
            (static_cast<unsigned __int128>(a_) * k + c_) % n_);
    }
    return k;
  }

 private:
  Order order_;
  std::uint64_t n_;
  std::uint64_t a_ = 1;
  std::uint64_t c_ = 0;
};

}  // namespace

void run_grid(const LaunchConfig& config, void (*body)(void*), void* context) {
  if (t_runner != nullptr) {
    throw CudaError(runtime::cudaErrorLaunchFailure,
                    "lenet::sim::launch(" + std::string(config.kernel) +
                        "): launched from inside a kernel; the simulator has no dynamic "
                        "parallelism");
  }
  const Options options = lenet::sim::options();
  validate(config, options);
  g_launches.fetch_add(1, std::memory_order_relaxed);

  const std::uint64_t blocks = std::uint64_t{config.grid.x} * config.grid.y * config.grid.z;
  const BlockOrder order(options, blocks);
  unsigned workers = options.threads > 0 ? static_cast<unsigned>(options.threads)
                                         : std::max(1u, std::thread::hardware_concurrency());
  if (workers > blocks) workers = static_cast<unsigned>(blocks);

  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex error_mutex;
  std::exception_ptr first_error;
  auto work = [&]() noexcept {
    try {
      BlockRunner runner(config, options, body, context);
      while (!stop.load(std::memory_order_relaxed)) {
        const std::uint64_t k = next.fetch_add(1, std::memory_order_relaxed);
        if (k >= blocks) break;
        runner.run_block(order[k]);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!first_error) first_error = std::current_exception();
      stop = true;
    }
  };

  if (workers <= 1) {
    work();
  } else {
    std::vector<std::thread> threads;
    threads.reserve(workers - 1);
    try {
      for (unsigned i = 1; i < workers; ++i) threads.emplace_back(work);
    } catch (...) {
      stop = true;
      for (std::thread& t : threads) t.join();
      throw;
    }
    work();
    for (std::thread& t : threads) t.join();
  }
  if (first_error) std::rethrow_exception(first_error);
}

void launch_or_record(const LaunchConfig& config, void (*body)(void*),
                      std::shared_ptr<const void> context) {
  if (!runtime::detail::capturing(config.stream)) {
    run_grid(config, body, const_cast<void*>(context.get()));
    return;
  }
  validate(config, lenet::sim::options());  // a bad launch fails at capture, as on a GPU
  runtime::detail::record(config.stream, [config, body, context] {
    run_grid(config, body, const_cast<void*>(context.get()));
  });
}

void sync_threads(const char* file, int line) {
  if (t_runner == nullptr || t_fiber == nullptr) {
    throw std::logic_error("__syncthreads(): called outside a simulated kernel");
  }
  t_runner->sync_threads(*t_fiber, file, line);
}

std::uint64_t warp_collective(WarpOp op, unsigned mask, std::uint64_t value, int param,
                              int width) {
  if (t_runner == nullptr || t_fiber == nullptr) {
    throw std::logic_error(std::string(op_name(op)) + ": called outside a simulated kernel");
  }
  return t_runner->warp_collective(*t_fiber, op, mask, value, param, width);
}

unsigned active_mask() {
  if (t_runner == nullptr || t_fiber == nullptr) {
    throw std::logic_error("__activemask(): called outside a simulated kernel");
  }
  return t_runner->active_mask(*t_fiber);
}

}  // namespace lenet::sim::detail

namespace lenet::sim {

std::uint64_t launch_count() noexcept { return detail::g_launches.load(std::memory_order_relaxed); }

}  // namespace lenet::sim
