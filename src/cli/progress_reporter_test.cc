// The progress text of `wisp transcribe` for given times: the exact lines and bars, the ETA's
// rounding, and which on_progress calls write something in each style.
#include "cli/progress_reporter.h"

#include <gtest/gtest.h>

#include <string>

namespace wisp {
namespace {

TEST(ProgressFormat, EtaRoundsUpAndChangesUnits) {
  EXPECT_EQ(FormatEta(0), "0 s");
  EXPECT_EQ(FormatEta(-3), "0 s");
  EXPECT_EQ(FormatEta(8.01), "9 s");
  EXPECT_EQ(FormatEta(59.0), "59 s");
  EXPECT_EQ(FormatEta(59.5), "1 min 00 s");
  EXPECT_EQ(FormatEta(125), "2 min 05 s");
  EXPECT_EQ(FormatEta(3599.2), "1 h 00 min");
  EXPECT_EQ(FormatEta(3600 + 2 * 60 + 59), "1 h 02 min");
  EXPECT_EQ(FormatEta(36000), "10 h 00 min");
}

TEST(ProgressFormat, LineWithPercentSpeedAndEta) {
  // 75 s of 180 decoded in 6.1 s: 12.295...x real time; 105 s left at that speed is 8.54 s.
  EXPECT_EQ(FormatProgressLine({.done = 75, .total = 180, .elapsed = 6.1}, ""),
            "progress: 41% (75.0/180.0 s audio, 12.3x real time, ETA 9 s)");
  // Percent is rounded down: 179.9 of 180 is not yet 100%.
  EXPECT_EQ(FormatProgressLine({.done = 179.9, .total = 180, .elapsed = 10}, ""),
            "progress: 99% (179.9/180.0 s audio, 18.0x real time, ETA 1 s)");
  EXPECT_EQ(FormatProgressLine({.done = 180, .total = 180, .elapsed = 20}, ""),
            "progress: 100% (180.0/180.0 s audio, 9.0x real time, ETA 0 s)");
  // Slower than real time: 3540 s left at 0.4x is 8850 s.
  EXPECT_EQ(FormatProgressLine({.done = 60, .total = 3600, .elapsed = 150}, ""),
            "progress: 1% (60.0/3600.0 s audio, 0.4x real time, ETA 2 h 27 min)");
}

TEST(ProgressFormat, LineBeforeAnythingIsDecodedHasNoSpeed) {
  EXPECT_EQ(FormatProgressLine({.done = 0, .total = 180, .elapsed = 0.7}, ""), "progress: 0% (0.0/180.0 s audio)");
  EXPECT_EQ(FormatProgressLine({.done = 30, .total = 180, .elapsed = 0}, ""), "progress: 16% (30.0/180.0 s audio)");
}

TEST(ProgressFormat, LineOfAStreamOfUnknownLengthAndWithALabel) {
  EXPECT_EQ(FormatProgressLine({.done = 90, .total = -1, .elapsed = 4.5}, ""),
            "progress: 90.0 s audio (20.0x real time)");
  EXPECT_EQ(FormatProgressLine({.done = 0, .total = -1, .elapsed = 1}, ""), "progress: 0.0 s audio");
  EXPECT_EQ(FormatProgressLine({.done = 75, .total = 180, .elapsed = 6.1}, "talk.wav"),
            "progress: talk.wav: 41% (75.0/180.0 s audio, 12.3x real time, ETA 9 s)");
}

TEST(ProgressFormat, BarFillsWhatTheTextLeavesAndNeverWraps) {
  const ProgressPoint p{.done = 90, .total = 180, .elapsed = 6};
  // 80 columns: 79 characters, of which "[" "]  " take 4 and the text is given the 60 of
  // "100%  180.0/180.0 s audio  100.0x real time  ETA 10 min 00 s": a 15-cell bar, half of it
  // (rounded down) filled.
  const std::string text = " 50%  90.0/180.0 s audio  15.0x real time  ETA 6 s";
  const std::string bar = FormatProgressBar(p, "", 80);
  EXPECT_EQ(bar, "[" + std::string(7, '#') + std::string(8, '.') + "]  " + text);
  // The bar keeps its width while the text changes.
  EXPECT_EQ(FormatProgressBar({.done = 0, .total = 180, .elapsed = 1}, "", 80),
            "[" + std::string(15, '.') + "]    0%  0.0/180.0 s audio");
  // Wide terminals: the bar stops at 40 cells.
  EXPECT_EQ(FormatProgressBar(p, "", 200), "[" + std::string(20, '#') + std::string(20, '.') + "]  " + text);
  // Too narrow for a bar of 10 cells: the text alone, cut to the width.
  EXPECT_EQ(FormatProgressBar(p, "", 60), text);
  EXPECT_EQ(FormatProgressBar(p, "", 20), text.substr(0, 19));
  EXPECT_EQ(FormatProgressBar({.done = 180, .total = 180, .elapsed = 9}, "b.wav", 200),
            "b.wav  [" + std::string(40, '#') + "]  100%  180.0/180.0 s audio  20.0x real time  ETA 0 s");
  // Unknown total: no percent, no bar.
  EXPECT_EQ(FormatProgressBar({.done = 45, .total = -1, .elapsed = 3}, "", 80), "45.0 s audio  15.0x real time");
}

TEST(ProgressReporterTest, LinesComeAtMostOncePerIntervalAndAlwaysAtTheEnd) {
  ProgressReporter r(ProgressStyle::kLines, "", 5.0, 80);
  EXPECT_EQ(r.Update({.done = 0, .total = 120, .elapsed = 0.2}), "");  // before the first window
  EXPECT_EQ(r.Update({.done = 30, .total = 120, .elapsed = 3}), "");   // under 5 s since the start
  EXPECT_EQ(r.Update({.done = 60, .total = 120, .elapsed = 6}),
            "progress: 50% (60.0/120.0 s audio, 10.0x real time, ETA 6 s)\n");
  EXPECT_EQ(r.Update({.done = 90, .total = 120, .elapsed = 9}), "");  // 3 s after the last line
  EXPECT_EQ(r.Update({.done = 120, .total = 120, .elapsed = 10}),
            "progress: 100% (120.0/120.0 s audio, 12.0x real time, ETA 0 s)\n");
  EXPECT_EQ(r.Update({.done = 120, .total = 120, .elapsed = 20}), "");  // the end is reported once
  EXPECT_EQ(r.Hide(), "");
  EXPECT_EQ(r.Show(), "");
  EXPECT_EQ(r.Finish(), "");
}

TEST(ProgressReporterTest, IntervalZeroWritesEveryCall) {
  ProgressReporter r(ProgressStyle::kLines, "a.wav", 0.0, 80);
  EXPECT_EQ(r.Update({.done = 0, .total = 60, .elapsed = 0}), "progress: a.wav: 0% (0.0/60.0 s audio)\n");
  EXPECT_EQ(r.Update({.done = 30, .total = 60, .elapsed = 1}),
            "progress: a.wav: 50% (30.0/60.0 s audio, 30.0x real time, ETA 1 s)\n");
}

TEST(ProgressReporterTest, OneWindowOfAudioGetsNoProgress) {
  for (ProgressStyle style : {ProgressStyle::kLines, ProgressStyle::kBar}) {
    ProgressReporter r(style, "", 0.0, 80);
    EXPECT_EQ(r.Update({.done = 0, .total = 30, .elapsed = 0}), "");
    EXPECT_EQ(r.Update({.done = 30, .total = 30, .elapsed = 1}), "");
    EXPECT_EQ(r.Finish(), "");
  }
  // A stream's length is not known in advance: reported.
  ProgressReporter stream(ProgressStyle::kLines, "", 0.0, 80);
  EXPECT_EQ(stream.Update({.done = 0, .total = -1, .elapsed = 0}), "progress: 0.0 s audio\n");
}

TEST(ProgressReporterTest, OffWritesNothing) {
  ProgressReporter r(ProgressStyle::kOff, "", 0.0, 80);
  EXPECT_EQ(r.Update({.done = 0, .total = 600, .elapsed = 0}), "");
  EXPECT_EQ(r.Update({.done = 600, .total = 600, .elapsed = 9}), "");
  EXPECT_EQ(r.Finish(), "");
}

TEST(ProgressReporterTest, BarIsRedrawnInPlaceHiddenAroundOutputAndErasedAtTheEnd) {
  ProgressReporter r(ProgressStyle::kBar, "", 0.0, 80);
  EXPECT_EQ(r.Hide(), "");  // nothing drawn yet
  const std::string first = r.Update({.done = 0, .total = 60, .elapsed = 0.1});
  // 79 characters: 58 kept for the text, 4 of brackets and spaces, 17 cells.
  EXPECT_EQ(first, "\r\033[K[" + std::string(17, '.') + "]    0%  0.0/60.0 s audio");
  EXPECT_EQ(r.Hide(), "\r\033[K");
  EXPECT_EQ(r.Hide(), "");  // already erased
  EXPECT_EQ(r.Show(), first);
  EXPECT_EQ(r.Show(), "");  // already shown
  EXPECT_EQ(r.Update({.done = 30, .total = 60, .elapsed = 2}),
            "\r\033[K[" + std::string(8, '#') + std::string(9, '.') + "]   50%  30.0/60.0 s audio  15.0x real time  ETA 2 s");
  EXPECT_EQ(r.Finish(), "\r\033[K");
  EXPECT_EQ(r.Finish(), "");
}

}  // namespace
}  // namespace wisp
