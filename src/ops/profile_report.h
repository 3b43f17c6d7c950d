// Renders a Profiler's numbers: the per-op table of the seed report and Chrome trace JSON.
#pragma once
#include <ostream>
#include <string>

#include "ops/profiler.h"

namespace wisp {

// For one section ("encoder", "decoder"): rows sorted by total time,
// `Op Name | Total Time (ms) | Share (%) | Calls | Fast path | Fast path (%)`, then the
// section total (Method::execute-style) and the share of time on the fast path.
void WriteProfileTable(const Profiler& profiler, const std::string& section, std::ostream& out);

// Every recorded op call as a Chrome/Perfetto trace event ("X" phase, microseconds); one
// track per section. Needs Profiler::set_keep_events(true) before the run.
void WriteChromeTrace(const Profiler& profiler, std::ostream& out);

}  // namespace wisp
