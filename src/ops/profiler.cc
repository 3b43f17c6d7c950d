#include "ops/profiler.h"

namespace wisp {

void Profiler::Record(const char* op, std::chrono::steady_clock::time_point start,
                      std::chrono::steady_clock::time_point end, bool fast) {
  const double ms = std::chrono::duration<double, std::milli>(end - start).count();
  std::lock_guard<std::mutex> lock(mu_);
  OpStats& s = sections_[section_][op];
  s.total_ms += ms;
  s.calls += 1;
  if (fast) s.fast_ms += ms;
  if (keep_events_) {
    const double t0 = std::chrono::duration<double, std::micro>(start - origin_).count();
    events_.push_back({section_, Event{op, t0, ms * 1000.0, fast}});
  }
}

}  // namespace wisp
