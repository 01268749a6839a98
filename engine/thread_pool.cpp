#include "thread_pool.h"

namespace lenet::engine {

namespace {
// How long an idle worker spins before it sleeps: a little longer than one op of a step.
constexpr int kSpinRounds = 1 << 14;
}  // namespace

ThreadPool::ThreadPool(int threads) {
  try {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
  } catch (...) {
    // The destructor does not run for a half-built pool: stop and join what did start.
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_.store(true);
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
    throw;
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::parallel_for(std::int64_t tasks, const std::function<void(std::int64_t)>& fn) {
  if (tasks <= 0) return;
  if (workers_.empty() || tasks == 1) {
    for (std::int64_t t = 0; t < tasks; ++t) fn(t);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = &fn;
    tasks_ = tasks;
    error_ = nullptr;
    next_.store(0);
    finished_.store(0);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  run_tasks(fn, tasks);
  while (finished_.load() != tasks) std::this_thread::yield();
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = nullptr;  // no worker joins this loop any more ...
    error = error_;
  }
  // ... and none is still inside it, so the next loop cannot meet a straggler.
  while (active_.load() != 0) std::this_thread::yield();
  if (error) std::rethrow_exception(error);
}

void ThreadPool::run_tasks(const std::function<void(std::int64_t)>& fn, std::int64_t tasks) {
  for (;;) {
    const std::int64_t task = next_.fetch_add(1);
    if (task >= tasks) return;
    try {
      fn(task);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    finished_.fetch_add(1);
  }
}

void ThreadPool::worker_loop() {
  std::uint64_t seen = 0;
  for (;;) {
    for (int i = 0; i < kSpinRounds && generation_.load() == seen && !stop_.load(); ++i) {
      std::this_thread::yield();
    }
    const std::function<void(std::int64_t)>* fn = nullptr;
    std::int64_t tasks = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
      if (stop_.load()) return;
      seen = generation_.load();
      if (fn_ == nullptr) continue;  // that loop already finished
      fn = fn_;
      tasks = tasks_;
      active_.fetch_add(1);
    }
    run_tasks(*fn, tasks);
    active_.fetch_sub(1);
  }
}

}  // namespace lenet::engine
