#include "util/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
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

TEST(ThreadPool, DefaultThreadCountPositive) { EXPECT_GE(ThreadPool::DefaultThreadCount(), 1); }

}  // namespace
}  // namespace wisp
