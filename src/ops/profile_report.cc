#include "ops/profile_report.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace wisp {
namespace {

std::string Format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

}  // namespace

void WriteProfileTable(const Profiler& profiler, const std::string& section, std::ostream& out) {
  auto it = profiler.sections().find(section);
  if (it == profiler.sections().end()) {
    out << "(no ops recorded for " << section << ")\n";
    return;
  }
  std::vector<std::pair<std::string, Profiler::OpStats>> rows(it->second.begin(), it->second.end());
  std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second.total_ms > b.second.total_ms; });
  double total = 0, fast = 0;
  int64_t calls = 0;
  for (auto& [name, s] : rows) {
    total += s.total_ms;
    fast += s.fast_ms;
    calls += s.calls;
  }
  out << "| Op Name | Total Time (ms) | Share (%) | Calls | Fast path | Fast path (%) |\n";
  out << "|---|---:|---:|---:|---|---:|\n";
  for (auto& [name, s] : rows) {
    const double fast_share = s.total_ms > 0 ? 100.0 * s.fast_ms / s.total_ms : 100.0;
    const char* fast_word = s.fast_ms == s.total_ms ? "yes" : (s.fast_ms == 0 ? "no" : "partly");
    out << "| " << name << " | " << Format("%.3f", s.total_ms) << " | "
        << Format("%.1f", total > 0 ? 100.0 * s.total_ms / total : 0.0) << " | " << s.calls << " | " << fast_word
        << " | " << Format("%.1f", fast_share) << " |\n";
  }
  out << "| **" << section << " total (Method::execute)** | " << Format("%.3f", total) << " | 100.0 | " << calls
      << " | | " << Format("%.1f", total > 0 ? 100.0 * fast / total : 100.0) << " |\n";
}

void WriteChromeTrace(const Profiler& profiler, std::ostream& out) {
  out << "{\"traceEvents\":[";
  bool first = true;
  std::vector<std::string> tracks;
  for (const auto& [section, e] : profiler.events()) {
    auto pos = std::find(tracks.begin(), tracks.end(), section);
    const size_t tid = pos - tracks.begin();
    if (pos == tracks.end()) tracks.push_back(section);
    out << (first ? "" : ",") << "\n{\"name\":\"" << e.op << "\",\"cat\":\"" << section
        << "\",\"ph\":\"X\",\"pid\":1,\"tid\":" << tid << ",\"ts\":" << Format("%.3f", e.start_us)
        << ",\"dur\":" << Format("%.3f", e.dur_us) << ",\"args\":{\"fast_path\":" << (e.fast ? "true" : "false")
        << "}}";
    first = false;
  }
  for (size_t i = 0; i < tracks.size(); ++i) {
    out << (first ? "" : ",") << "\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":" << i
        << ",\"args\":{\"name\":\"" << tracks[i] << "\"}}";
    first = false;
  }
  out << "\n]}\n";
}

}  // namespace wisp
