#include "util/thread_pool.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <string>

namespace wisp {

namespace {

// Iterations of a short pause before a thread sleeps (~tens of microseconds).
constexpr int kSpinIterations = 20000;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  num_threads = std::max(1, num_threads);
  chunks_.assign(num_threads, {0, 0});
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

// claim_ = generation (32 bits) | chunk count (16) | next chunk (16): everything a thread must
// check before a claim succeeds is in the word, so a late worker reads nothing the next job's
// caller may be writing.
namespace {
constexpr uint64_t ClaimWord(uint64_t generation, int n_chunks) {
  return (generation & 0xffffffffu) << 32 | static_cast<uint64_t>(n_chunks) << 16;
}
}  // namespace

void ThreadPool::RunChunks(uint64_t generation) {
  uint64_t claim = claim_.load(std::memory_order_acquire);
  for (;;) {
    // A claim of another generation (an old one seen late, or one not yet published) is not ours.
    if ((claim >> 32) != (generation & 0xffffffffu)) return;
    const int n_chunks = static_cast<int>((claim >> 16) & 0xffffu), index = static_cast<int>(claim & 0xffffu);
    if (index >= n_chunks) return;
    if (!claim_.compare_exchange_weak(claim, claim + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
      continue;  // claim now holds the current value
    }
    // The claim is of the current job: its caller cannot return before this chunk is done, so
    // job_ and chunks_ stay as they were published.
    const std::pair<int64_t, int64_t> chunk = chunks_[index];
    (*job_)(chunk.first, chunk.second);
    if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_chunks) {
      std::lock_guard<std::mutex> lock(mu_);
      done_cv_.notify_one();
    }
    claim = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::WorkerLoop() {
  uint64_t seen = 0;
  for (;;) {
    // Spin for new work first; sleep only when none comes soon.
    bool fresh = false;
    for (int i = 0; i < kSpinIterations; ++i) {
      if (stop_.load(std::memory_order_acquire)) return;
      if (generation_.load(std::memory_order_acquire) != seen) {
        fresh = true;
        break;
      }
      CpuRelax();
    }
    if (!fresh) {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
      if (stop_.load()) return;
    }
    seen = generation_.load(std::memory_order_acquire);
    RunChunks(seen);
  }
}

void ThreadPool::ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t units = (n + grain - 1) / grain;
  const int nt = static_cast<int>(std::min<int64_t>(num_threads(), units));
  if (nt <= 1) {
    fn(0, n);
    return;
  }
  // No chunk of the previous job is unclaimed or running here (the previous call waited for
  // all of them), so these plain writes race with nothing; claim_ publishes them (release).
  for (int t = 0; t < nt; ++t) {
    const int64_t b = units * t / nt * grain, e = std::min(n, units * (t + 1) / nt * grain);
    chunks_[t] = {b, e};
  }
  job_ = &fn;
  done_.store(0, std::memory_order_relaxed);
  uint64_t generation;
  {
    // Under the mutex so that a worker about to sleep either sees the new generation in its
    // wait predicate or is already waiting when notify_all runs.
    std::lock_guard<std::mutex> lock(mu_);
    generation = generation_.load(std::memory_order_relaxed) + 1;
    claim_.store(ClaimWord(generation, nt), std::memory_order_release);
    generation_.store(generation, std::memory_order_release);
  }
  work_cv_.notify_all();
  RunChunks(generation);
  for (int i = 0; i < kSpinIterations && done_.load(std::memory_order_acquire) != nt; ++i) CpuRelax();
  if (done_.load(std::memory_order_acquire) != nt) {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return done_.load(std::memory_order_acquire) == nt; });
  }
}

int ThreadPool::DefaultThreadCount() {
  // Count distinct (physical id, core id) pairs; fall back to hardware_concurrency.
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string line, phys = "0";
  while (std::getline(in, line)) {
    auto value = [&] { return line.substr(line.find(':') + 1); };
    if (line.rfind("physical id", 0) == 0) phys = value();
    if (line.rfind("core id", 0) == 0) cores.insert({phys, value()});
  }
  int n = static_cast<int>(cores.size());
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, n);
}

}  // namespace wisp
