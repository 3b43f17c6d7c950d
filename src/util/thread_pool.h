// A fixed set of worker threads, created by the caller and passed explicitly (no global pool).
// ParallelFor splits [0, n) into contiguous chunks, one per thread (at most one per online core),
// and runs them to completion; any thread (the caller included) may run any chunk, whichever
// claims it first.
//
// Degrading gracefully (issue 11): a decoding step makes ~70 ParallelFor calls of tens of
// microseconds each, so an idle worker first waits for the next call actively, but only
// briefly and politely: a few microseconds of pause instructions, then sched_yield (which hands
// the core to any other runnable thread: another pool's, another process's, or this pool's own
// surplus threads), and after ~100 us (or at once when a yield shows the core is contended) it
// sleeps on a futex. At most one worker per online core waits actively; sleeping workers are
// woken one at a time, each by the caller or by the previous worker and only while unclaimed
// chunks remain, so a pool with more threads than cores does not pay a wake-up per thread per
// call, and a job never has more chunks than there are cores. The caller
// waits for stragglers the same way, so a core it no longer needs goes to the thread it waits
// for (e.g. a worker preempted by another process). Thread counts are capped at
// kMaxThreadsPerCore x the online cores (CapThreadCount says when, for the front end to print).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace wisp {

class ThreadPool {
 public:
  // Beyond this many threads per online core nothing runs faster and every call pays for
  // waking threads that find no core: requests above it are lowered (see CapThreadCount).
  static constexpr int kMaxThreadsPerCore = 4;

  // num_threads counts the calling thread: ThreadPool(1) starts no worker. Values below 1 mean 1,
  // values above MaxThreads() mean MaxThreads().
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
  // The CPUs this process may run on (its affinity mask: taskset and cgroup cpusets count).
  static int OnlineCores();
  // kMaxThreadsPerCore x OnlineCores().
  static int MaxThreads();

  // The thread count a pool will use for `requested`, and when that is lower, a warning for the
  // user ("--threads 1024 lowered to 8 (4 x the 2 online cores): more threads than that only
  // slow transcription down"); warning is empty when the request stands.
  struct ThreadCount {
    int threads = 1;
    std::string warning;
  };
  static ThreadCount CapThreadCount(int requested);

 private:
  void WorkerLoop();
  // Runs chunks of the job of `generation` until none is left unclaimed.
  void RunChunks(uint32_t generation);
  // Wakes one sleeping worker when more chunks of `generation` are unclaimed than the waker and
  // the actively waiting workers will take.
  void WakeOneIfWork(uint32_t generation);

  std::vector<std::thread> workers_;
  int max_chunks_ = 1;    // min(threads, online cores): a job's chunk count
  int max_spinners_ = 0;  // workers allowed to wait actively at once
  // Chunks are claimed, not assigned: claim_ holds the generation (32 bits), the chunk count (16)
  // and the next chunk (16). When a worker is descheduled, the caller and the other workers claim
  // its chunk instead of waiting a scheduler time slice for it.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  std::vector<std::pair<int64_t, int64_t>> chunks_;
  std::atomic<uint64_t> claim_{0};
  // Futex words: workers wait for generation_ to change, the caller for done_ to reach the
  // chunk count. The sleeper counts let the common case (nobody asleep) skip the wake syscall.
  std::atomic<uint32_t> generation_{0};
  std::atomic<uint32_t> done_{0};
  std::atomic<int> sleeping_workers_{0};
  std::atomic<int> spinning_workers_{0};
  std::atomic<int> caller_sleeping_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace wisp
