#include "util/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace wisp {
namespace {

TEST(ThreadPool, CoversRangeExactlyOnce) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 7, 64, 1000}) {
      for (int64_t grain : {1, 4, 16}) {
        std::vector<std::atomic<int>> hits(n);
        pool.ParallelFor(n, grain, [&](int64_t b, int64_t e) {
          EXPECT_EQ(b % grain, 0);
          for (int64_t i = b; i < e; ++i) hits[i]++;
        });
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << threads << " " << n << " " << grain;
      }
    }
  }
}

TEST(ThreadPool, ReusableManyTimes) {
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  for (int r = 0; r < 2000; ++r) pool.ParallelFor(10, 1, [&](int64_t b, int64_t e) { sum += e - b; });
  EXPECT_EQ(sum.load(), 20000);
}

// More threads than cores (as when another process holds a core): workers are descheduled
// mid-stream, chunks are claimed by whoever runs, and every call still covers its range once,
// with no chunk of one call running in the next (the counts are checked after every call).
TEST(ThreadPool, OversubscribedCallsStayExactAndComplete) {
  ThreadPool pool(8);
  std::vector<std::atomic<int>> hits(97);
  for (int r = 0; r < 3000; ++r) {
    for (auto& h : hits) h.store(0);
    const int64_t n = 1 + r % 97;
    pool.ParallelFor(n, 1 + r % 3, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[i]++;
    });
    for (int64_t i = 0; i < 97; ++i) ASSERT_EQ(hits[i].load(), i < n ? 1 : 0) << "call " << r << " index " << i;
  }
}

TEST(ThreadPool, DefaultThreadCountPositive) {
  EXPECT_GE(ThreadPool::DefaultThreadCount(), 1);
  EXPECT_LE(ThreadPool::DefaultThreadCount(), ThreadPool::OnlineCores());
}

TEST(ThreadPool, ThreadCountIsCappedAtFourTimesTheOnlineCores) {
  const int cores = ThreadPool::OnlineCores();
  ASSERT_GE(cores, 1);
  EXPECT_EQ(ThreadPool::MaxThreads(), 4 * cores);
  const ThreadPool::ThreadCount within = ThreadPool::CapThreadCount(4 * cores);
  EXPECT_EQ(within.threads, 4 * cores);
  EXPECT_EQ(within.warning, "");
  const ThreadPool::ThreadCount over = ThreadPool::CapThreadCount(1024 * cores);
  EXPECT_EQ(over.threads, 4 * cores);
  EXPECT_EQ(over.warning, "thread count " + std::to_string(1024 * cores) + " lowered to " + std::to_string(4 * cores) +
                              " (4 x the " + std::to_string(cores) +
                              " online cores): more threads than that only slow the work down");
  EXPECT_EQ(ThreadPool::CapThreadCount(0).threads, 1);
  // The pool applies the same cap by itself (an API caller that skips CapThreadCount).
  ThreadPool pool(1024 * cores);
  EXPECT_EQ(pool.num_threads(), 4 * cores);
}

// Several pools in one process (a server running transcriptions at once), each driven by its
// own thread, with sleeps between bursts so that workers go through the futex path too.
TEST(ThreadPool, SeveralPoolsAtOnceStayExact) {
  std::vector<std::thread> drivers;
  std::atomic<int> failures{0};
  for (int p = 0; p < 4; ++p) {
    drivers.emplace_back([&, p] {
      ThreadPool pool(2 + p % 2);
      std::vector<std::atomic<int>> hits(64);
      for (int r = 0; r < 400; ++r) {
        for (auto& h : hits) h.store(0);
        pool.ParallelFor(64, 1 + r % 4, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) hits[i]++;
        });
        for (auto& h : hits) failures += h.load() != 1;
        if (r % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  for (auto& d : drivers) d.join();
  EXPECT_EQ(failures.load(), 0);
}

// Workers asleep on the futex (long gaps between calls) wake for the next call and for the
// destructor.
TEST(ThreadPool, SleepingWorkersWakeForWorkAndForShutdown) {
  ThreadPool pool(3);
  for (int r = 0; r < 5; ++r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(3));  // past the active wait
    std::atomic<int64_t> sum{0};
    pool.ParallelFor(300, 1, [&](int64_t b, int64_t e) { sum += e - b; });
    EXPECT_EQ(sum.load(), 300);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
}

}  // namespace
}  // namespace wisp
