// The cpu backend's thread pool: every task runs exactly once per loop, across many loops in a
// row (where a late worker could meet the next loop), and exceptions reach the caller.
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "thread_pool.h"

namespace {

using lenet::engine::ThreadPool;

TEST(ThreadPool, EveryTaskRunsExactlyOnceInEveryLoop) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int loop = 0; loop < 2000; ++loop) {
      const std::int64_t tasks = 1 + loop % 7;
      std::vector<std::atomic<int>> runs(static_cast<std::size_t>(tasks));
      for (auto& r : runs) r.store(0);
      pool.parallel_for(tasks, [&](std::int64_t t) { runs[static_cast<std::size_t>(t)]++; });
      for (std::int64_t t = 0; t < tasks; ++t) {
        ASSERT_EQ(runs[static_cast<std::size_t>(t)].load(), 1)
            << threads << " threads, loop " << loop << ", task " << t;
      }
    }
  }
}

TEST(ThreadPool, NoTasksIsANoOp) {
  ThreadPool pool(2);
  int calls = 0;
  pool.parallel_for(0, [&](std::int64_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(ThreadPool, TheFirstExceptionReachesTheCallerAndThePoolStaysUsable) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for(8,
                                 [](std::int64_t t) {
                                   if (t == 3) throw std::runtime_error("task 3 failed");
                                 }),
               std::runtime_error);
  std::atomic<int> sum{0};
  pool.parallel_for(10, [&](std::int64_t t) { sum += static_cast<int>(t); });
  EXPECT_EQ(sum.load(), 45);
}

}  // namespace
