// Per-op timing. Every op entry point opens an OpScope; with no profiler attached the scope is
// a null check and nothing else, so the profiler costs nothing when off.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace wisp {

class Profiler {
 public:
  struct OpStats {
    double total_ms = 0;
    int64_t calls = 0;
    double fast_ms = 0;  // time spent in calls that ran on the fast path
  };
  struct Event {  // one op call, for trace files
    const char* op;
    double start_us, dur_us;
    bool fast;
  };

  // Groups ops under a section ("encoder", "decoder") until the next SetSection.
  void SetSection(const std::string& section) { section_ = section; }
  // SetSection at the start of one call of a section's method (a RunEncoder, a decoder forward
  // pass): the `Method::execute` count of the report.
  void BeginCall(const std::string& section) {
    section_ = section;
    ++calls_[section];
  }
  int64_t calls(const std::string& section) const {
    auto it = calls_.find(section);
    return it == calls_.end() ? 0 : it->second;
  }
  void Record(const char* op, std::chrono::steady_clock::time_point start,
              std::chrono::steady_clock::time_point end, bool fast);

  const std::map<std::string, std::map<std::string, OpStats>>& sections() const { return sections_; }
  const std::vector<std::pair<std::string, Event>>& events() const { return events_; }
  void set_keep_events(bool keep) { keep_events_ = keep; }

 private:
  std::mutex mu_;
  std::string section_ = "main";
  std::map<std::string, std::map<std::string, OpStats>> sections_;
  std::map<std::string, int64_t> calls_;
  std::vector<std::pair<std::string, Event>> events_;
  bool keep_events_ = false;
  std::chrono::steady_clock::time_point origin_ = std::chrono::steady_clock::now();
};

class OpScope {
 public:
  OpScope(Profiler* p, const char* op, bool fast) : p_(p), op_(op), fast_(fast) {
    if (p_) start_ = std::chrono::steady_clock::now();
  }
  ~OpScope() {
    if (p_) p_->Record(op_, start_, std::chrono::steady_clock::now(), fast_);
  }

 private:
  Profiler* p_;
  const char* op_;
  bool fast_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace wisp
