#include "cli/progress_reporter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace wisp {
namespace {

// Carriage return, then ANSI "erase to end of line": a shorter redraw leaves no tail of the
// previous one, and erasing needs no knowledge of what was drawn.
constexpr const char* kEraseLine = "\r\033[K";

bool Known(const ProgressPoint& p) { return p.total >= 0; }

// Audio decoded per second of wall time; 0 while it cannot be measured yet.
double Speed(const ProgressPoint& p) { return p.done > 0 && p.elapsed > 0 ? p.done / p.elapsed : 0.0; }

// Rounded down, so that 100% means finished, never "almost".
int Percent(const ProgressPoint& p) {
  if (p.total <= 0) return p.done >= p.total ? 100 : 0;
  return static_cast<int>(std::clamp(std::floor(100.0 * p.done / p.total), 0.0, 100.0));
}

std::string Printf(const char* format, double a, double b = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, a, b);
  return buf;
}

std::string AudioAmount(const ProgressPoint& p) {
  return Known(p) ? Printf("%.1f/%.1f s audio", p.done, p.total) : Printf("%.1f s audio", p.done);
}

std::string SpeedText(double speed) { return Printf("%.1fx real time", speed); }

std::string EtaText(const ProgressPoint& p, double speed) {
  return "ETA " + FormatEta(std::max(0.0, p.total - p.done) / speed);
}

bool WorthReporting(const ProgressPoint& p) { return !Known(p) || p.total > kProgressMinAudioSeconds; }

bool AtEnd(const ProgressPoint& p) { return Known(p) && p.done >= p.total; }

}  // namespace

std::string FormatEta(double seconds) {
  const long s = static_cast<long>(std::ceil(std::max(0.0, seconds)));
  char buf[48];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%ld s", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%ld min %02ld s", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld h %02ld min", s / 3600, s % 3600 / 60);
  }
  return buf;
}

std::string FormatProgressLine(const ProgressPoint& p, const std::string& label) {
  std::string out = "progress: ";
  if (!label.empty()) out += label + ": ";
  const double speed = Speed(p);
  if (!Known(p)) {
    out += AudioAmount(p);
    if (speed > 0) out += " (" + SpeedText(speed) + ")";
    return out;
  }
  out += std::to_string(Percent(p)) + "% (" + AudioAmount(p);
  if (speed > 0) out += ", " + SpeedText(speed) + ", " + EtaText(p, speed);
  return out + ")";
}

std::string FormatProgressBar(const ProgressPoint& p, const std::string& label, int columns) {
  const double speed = Speed(p);
  std::string text = AudioAmount(p);
  if (speed > 0) text += "  " + SpeedText(speed);
  if (Known(p) && speed > 0) text += "  " + EtaText(p, speed);
  std::string head = label.empty() ? "" : label + "  ";
  const size_t limit = columns > 1 ? static_cast<size_t>(columns - 1) : 0;
  if (Known(p)) {
    char percent[8];
    std::snprintf(percent, sizeof percent, "%3d%%", Percent(p));
    text = std::string(percent) + "  " + text;
    // "[" bar "]  " in front; a bar under 10 cells says nothing, so then none. The space kept for
    // the text is that of a typical long one for this total, so the bar does not change width
    // as the speed and ETA appear and shrink.
    const ProgressPoint end{.done = p.total, .total = p.total};
    const size_t typical = ("100%  " + AudioAmount(end) + "  100.0x real time  ETA 10 min 00 s").size();
    const size_t used = head.size() + std::max(text.size(), typical) + 4;
    if (used + 10 <= limit) {
      const size_t cells = std::min<size_t>(limit - used, 40);
      const size_t filled = cells * static_cast<size_t>(Percent(p)) / 100;
      head += "[" + std::string(filled, '#') + std::string(cells - filled, '.') + "]  ";
    }
  }
  std::string line = head + text;
  if (line.size() > limit) line.resize(limit);
  return line;
}

ProgressReporter::ProgressReporter(ProgressStyle style, std::string label, double line_interval, int columns)
    : style_(style), label_(std::move(label)), line_interval_(line_interval), columns_(columns) {}

std::string ProgressReporter::Update(const ProgressPoint& p) {
  if (style_ == ProgressStyle::kOff || !WorthReporting(p)) return "";
  if (style_ == ProgressStyle::kBar) {
    last_bar_ = FormatProgressBar(p, label_, columns_);
    bar_visible_ = true;
    return kEraseLine + last_bar_;
  }
  // Lines: the end is always reported (once), anything else when an interval has passed.
  const bool at_end = AtEnd(p);
  if (at_end ? line_written_at_end_ : p.elapsed - last_line_elapsed_ < line_interval_) return "";
  last_line_elapsed_ = p.elapsed;
  line_written_at_end_ = line_written_at_end_ || at_end;
  return FormatProgressLine(p, label_) + "\n";
}

std::string ProgressReporter::Hide() {
  if (!bar_visible_) return "";
  bar_visible_ = false;
  bar_hidden_ = true;
  return kEraseLine;
}

std::string ProgressReporter::Show() {
  if (!bar_hidden_) return "";
  bar_hidden_ = false;
  bar_visible_ = true;
  return kEraseLine + last_bar_;
}

std::string ProgressReporter::Finish() {
  bar_hidden_ = false;
  if (!bar_visible_) return "";
  bar_visible_ = false;
  return kEraseLine;
}

}  // namespace wisp
