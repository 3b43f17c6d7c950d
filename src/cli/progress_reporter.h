// Progress of `wisp transcribe` on stderr, fed by TranscribeOptions::on_progress (called before
// every 30-s window and once at the end). Two styles: a bar redrawn in place when stderr is a
// terminal, and plain lines when it is a file or a pipe (logs, CI), where \r redraws would pile
// up as garbage. Everything here is pure: the reporter returns the bytes to write and takes the
// elapsed wall time as an argument, so the formatting and the throttling are unit-tested with
// made-up times (src/cli/progress_reporter_test.cc) and the command only adds a clock and fputs.
#pragma once
#include <string>

namespace wisp {

enum class ProgressStyle {
  kOff,    // --no-progress
  kLines,  // "progress: 42% (75.0/180.0 s audio, 12.3x real time, ETA 9 s)" lines
  kBar,    // one line redrawn with \r and erased at the end (a terminal)
};

// One on_progress call with the wall time the file has taken so far, all in seconds.
// total < 0: a stream whose length is not known yet.
struct ProgressPoint {
  double done = 0;
  double total = -1;
  double elapsed = 0;
};

// Audio at most this long (one window) gets no progress at all: it is decoded in one step, so
// the only report would be "0%" followed by "100%".
constexpr double kProgressMinAudioSeconds = 30.0;
// Plain lines come at most this often by default (one per window would flood a log when a
// window takes a fraction of a second); the last line (100%) is always written.
constexpr double kProgressDefaultLineInterval = 5.0;

// A remaining time, rounded up to whole seconds: "9 s", "2 min 05 s", "1 h 02 min".
std::string FormatEta(double seconds);

// "progress: 42% (75.0/180.0 s audio, 12.3x real time, ETA 9 s)". The speed and ETA are left
// out while nothing is decoded yet; an unknown total gives "progress: 75.0 s audio (12.3x real
// time)". A non-empty label (the file, when there are several) follows "progress: ".
std::string FormatProgressLine(const ProgressPoint& p, const std::string& label);

// The terminal form, at most columns - 1 characters so it never wraps (a wrapped line cannot be
// redrawn with \r): "[#####.....]  42%  75.0/180.0 s audio  12.3x real time  ETA 9 s", the bar
// taking what the text leaves; no bar when the total is unknown or the terminal is narrow.
std::string FormatProgressBar(const ProgressPoint& p, const std::string& label, int columns);

class ProgressReporter {
 public:
  // line_interval: least wall time between two plain lines (0: one line per call).
  // columns: the terminal's width, for kBar.
  ProgressReporter(ProgressStyle style, std::string label, double line_interval, int columns);

  // The bytes to write to stderr for one on_progress call ("" for none).
  std::string Update(const ProgressPoint& p);
  // Around other output on the same terminal (segments printed on stdout): erase the bar, then
  // draw it again, so text never lands in the middle of it. "" when no bar is shown.
  std::string Hide();
  std::string Show();
  // At the end of the file (or on an error): erase the bar; nothing for lines.
  std::string Finish();

 private:
  ProgressStyle style_;
  std::string label_;
  double line_interval_;
  int columns_;
  double last_line_elapsed_ = 0;  // the first line waits one interval too
  bool line_written_at_end_ = false;
  bool bar_visible_ = false;
  bool bar_hidden_ = false;  // Hide() erased a bar that Show() should bring back
  std::string last_bar_;
};

}  // namespace wisp
