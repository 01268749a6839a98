// A fixed set of worker threads for the cpu backend's parallel loops.
//
// One training step runs about twenty parallel loops of a few hundred microseconds each, so the
// cost of waking the workers matters: after a loop a worker spins briefly on an atomic counter
// before it sleeps on a condition variable, and the next loop usually finds it awake.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lenet::engine {

class ThreadPool {
 public:
  // threads >= 1 in total, the calling thread included.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(task) for task in [0, tasks), spread over the pool, and returns when all are done.
  // Which thread runs a task does not matter to the result: callers give each task its own
  // output. The first exception a task throws is rethrown here. Not reentrant.
  void parallel_for(std::int64_t tasks, const std::function<void(std::int64_t)>& fn);

 private:
  void worker_loop();
  void run_tasks(const std::function<void(std::int64_t)>& fn, std::int64_t tasks);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  // The current loop, guarded by mutex_; a worker copies them when it joins a generation.
  const std::function<void(std::int64_t)>* fn_ = nullptr;
  std::int64_t tasks_ = 0;
  std::exception_ptr error_;
  std::atomic<std::int64_t> next_{0};      // next task index to claim
  std::atomic<std::int64_t> finished_{0};  // tasks done
  std::atomic<int> active_{0};             // workers inside run_tasks
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace lenet::engine
