#include "util/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <fstream>
#include <set>
#include <string>

#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace wisp {

namespace {

// How long an idle thread waits actively before it sleeps. A decoding step's calls come a few
// microseconds apart, so the pause phase catches most of them at no syscall cost; the yield
// phase catches slower ones (a layer's serial work) while giving the core away to anyone else
// who wants it; after that a futex wake-up (~10-50 us) is cheap by comparison.
constexpr int64_t kPauseNs = 5'000;
constexpr int64_t kActiveWaitNs = 100'000;
// A pause burst or a sched_yield that took this long means another thread had this core in
// between: the machine is oversubscribed, and waiting actively only takes time from the
// threads that have work (this pool's caller, another pool, another process). Sleep instead.
constexpr int64_t kContendedNs = 20'000;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#else
  std::this_thread::yield();
#endif
}

inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Returns true as soon as ready() is; false when the active phase ended without it, or early
// when the core turned out to be contended.
template <typename Ready>
bool WaitActively(Ready ready) {
  for (int i = 0; i < 64; ++i) {
    if (ready()) return true;
    CpuRelax();
  }
  const int64_t start = NowNs();
  int64_t now = start, before = start;
  while (now - start < kPauseNs) {
    for (int i = 0; i < 32; ++i) {
      if (ready()) return true;
      CpuRelax();
    }
    before = now;
    now = NowNs();
    if (now - before > kContendedNs) return ready();  // preempted while spinning
  }
  while (now - start < kActiveWaitNs) {
    if (ready()) return true;
    sched_yield();
    before = now;
    now = NowNs();
    if (now - before > kContendedNs) return ready();  // the yield let someone else run
  }
  return ready();
}

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) && std::atomic<uint32_t>::is_always_lock_free);

// Sleeps while *word == expected (returns at once if it already differs; spurious returns are
// allowed: callers re-check in a loop).
void FutexWait(std::atomic<uint32_t>* word, uint32_t expected) {
#ifdef __linux__
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
#else
  word->wait(expected);
#endif
}

void FutexWake(std::atomic<uint32_t>* word, int count) {
#ifdef __linux__
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
#else
  if (count == 1) word->notify_one();
  else word->notify_all();
#endif
}

// claim_ = generation (32 bits) | chunk count (16) | next chunk (16): everything a thread must
// check before a claim succeeds is in the word, so a late worker reads nothing the next job's
// caller may be writing.
constexpr uint64_t ClaimWord(uint32_t generation, int n_chunks) {
  return static_cast<uint64_t>(generation) << 32 | static_cast<uint64_t>(n_chunks) << 16;
}

}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  num_threads = std::clamp(num_threads, 1, MaxThreads());
  max_chunks_ = std::min(num_threads, OnlineCores());
  max_spinners_ = max_chunks_ - 1;
  chunks_.assign(num_threads, {0, 0});
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_seq_cst);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  FutexWake(&generation_, INT_MAX);
  for (auto& t : workers_) t.join();
}

void ThreadPool::RunChunks(uint32_t generation) {
  uint64_t claim = claim_.load(std::memory_order_acquire);
  for (;;) {
    // A claim of another generation (an old one seen late, or one not yet published) is not ours.
    if (static_cast<uint32_t>(claim >> 32) != generation) return;
    const int n_chunks = static_cast<int>((claim >> 16) & 0xffffu), index = static_cast<int>(claim & 0xffffu);
    if (index >= n_chunks) return;
    if (!claim_.compare_exchange_weak(claim, claim + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
      continue;  // claim now holds the current value
    }
    // The claim is of the current job: its caller cannot return before this chunk is done, so
    // job_ and chunks_ stay as they were published.
    const std::pair<int64_t, int64_t> chunk = chunks_[index];
    (*job_)(chunk.first, chunk.second);
    // seq_cst pairs with the caller's store to caller_sleeping_: either it sees this count or
    // this thread sees it asleep and wakes it.
    if (done_.fetch_add(1, std::memory_order_seq_cst) + 1 == static_cast<uint32_t>(n_chunks) &&
        caller_sleeping_.load(std::memory_order_seq_cst) != 0) {
      FutexWake(&done_, 1);
    }
    claim = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::WakeOneIfWork(uint32_t generation) {
  if (sleeping_workers_.load(std::memory_order_seq_cst) == 0) return;
  const uint64_t claim = claim_.load(std::memory_order_acquire);
  if (static_cast<uint32_t>(claim >> 32) != generation) return;
  const int unclaimed = static_cast<int>((claim >> 16) & 0xffffu) - static_cast<int>(claim & 0xffffu);
  // The waker takes one chunk itself, and each actively waiting worker will take one.
  if (unclaimed - 1 > spinning_workers_.load(std::memory_order_relaxed)) FutexWake(&generation_, 1);
}

void ThreadPool::WorkerLoop() {
  uint32_t seen = 0;
  for (;;) {
    auto fresh = [&] {
      return generation_.load(std::memory_order_seq_cst) != seen || stop_.load(std::memory_order_relaxed);
    };
    // Only as many workers wait actively as a job can use (one chunk per online core, the
    // caller's included); the rest sleep at once instead of competing for the cores.
    bool woke = false;
    if (spinning_workers_.fetch_add(1, std::memory_order_relaxed) < max_spinners_) woke = WaitActively(fresh);
    spinning_workers_.fetch_sub(1, std::memory_order_relaxed);
    if (!woke) {
      // seq_cst pairs with the caller's store of a new generation: either it sees this worker
      // asleep and wakes it, or the futex sees the new value and does not sleep.
      sleeping_workers_.fetch_add(1, std::memory_order_seq_cst);
      while (!fresh()) FutexWait(&generation_, seen);
      sleeping_workers_.fetch_sub(1, std::memory_order_seq_cst);
    }
    if (stop_.load(std::memory_order_acquire)) return;
    seen = generation_.load(std::memory_order_acquire);
    // Wake-ups cascade: another sleeper is woken only if chunks remain beyond the one this
    // worker takes (a worker that never gets a core never wakes anyone, which keeps an
    // oversubscribed pool from paying for its surplus).
    WakeOneIfWork(seen);
    RunChunks(seen);
  }
}

void ThreadPool::ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t units = (n + grain - 1) / grain;
  // Never more chunks than online cores: on 2 cores, 8 threads split a job as 2 do (extra
  // chunks would only queue for a core and cost a wake-up each).
  const int nt = static_cast<int>(std::min<int64_t>(max_chunks_, units));
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
  const uint32_t generation = generation_.load(std::memory_order_relaxed) + 1;
  claim_.store(ClaimWord(generation, nt), std::memory_order_release);
  generation_.store(generation, std::memory_order_seq_cst);
  WakeOneIfWork(generation);
  RunChunks(generation);

  auto finished = [&] { return done_.load(std::memory_order_seq_cst) == static_cast<uint32_t>(nt); };
  if (finished() || WaitActively(finished)) return;
  // A straggler (most likely a worker preempted mid-chunk): sleeping frees this core for it.
  caller_sleeping_.store(1, std::memory_order_seq_cst);
  for (uint32_t d = done_.load(std::memory_order_seq_cst); d != static_cast<uint32_t>(nt);
       d = done_.load(std::memory_order_seq_cst)) {
    FutexWait(&done_, d);
  }
  caller_sleeping_.store(0, std::memory_order_relaxed);
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
  return std::clamp(n, 1, OnlineCores());
}

int ThreadPool::OnlineCores() {
#ifdef __linux__
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// The claim word counts chunks in 16 bits.
int ThreadPool::MaxThreads() { return std::min(kMaxThreadsPerCore * OnlineCores(), 0xffff); }

ThreadPool::ThreadCount ThreadPool::CapThreadCount(int requested) {
  const int cores = OnlineCores(), limit = MaxThreads();
  if (requested <= limit) return {std::max(1, requested), ""};
  return {limit, "thread count " + std::to_string(requested) + " lowered to " + std::to_string(limit) + " (" +
                     std::to_string(kMaxThreadsPerCore) + " x the " + std::to_string(cores) +
                     " online cores): more threads than that only slow the work down"};
}

}  // namespace wisp
