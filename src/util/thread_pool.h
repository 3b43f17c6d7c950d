// A fixed set of worker threads, created by the caller and passed explicitly (no global pool).
// ParallelFor splits [0, n) into contiguous chunks, one per thread, and runs them to completion;
// any thread (the caller included) may run any chunk, whichever claims it first.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace wisp {

class ThreadPool {
 public:
  // num_threads counts the calling thread: ThreadPool(1) starts no worker.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(begin, end) on disjoint chunks covering [0, n); chunk boundaries are multiples of grain.
  // The calling thread takes part. Not re-entrant: fn must not call ParallelFor on the same pool.
  void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  // Default thread count: the physical cores of this machine (hyper-threads share FMA units).
  static int DefaultThreadCount();

 private:
  void WorkerLoop();

  // Runs chunks of the current job until none is left unclaimed.
  void RunChunks(uint64_t generation);

  std::vector<std::thread> workers_;
  // A decoding step makes ~70 ParallelFor calls of tens of microseconds each, so waking a
  // sleeping thread per call (tens of microseconds itself) would cost as much as the work:
  // workers and the caller spin briefly on these atomics before falling back to the
  // condition variables.
  // Chunks are claimed, not assigned: claim_ holds the generation, the chunk count and the next chunk. When
  // another process holds a core and a worker is descheduled, the caller claims that worker's
  // chunk itself instead of waiting a scheduler time slice for it (on a loaded 2-core machine
  // that wait made 2 threads up to 8x slower than 1).
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  std::vector<std::pair<int64_t, int64_t>> chunks_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> claim_{0};
  std::atomic<int> done_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace wisp
