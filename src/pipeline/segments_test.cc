// transcribe()'s slicing of one window's tokens into segments and its seek advance. Each
// expectation is derived by hand from whisper/transcribe.py (v20250625) and written out in
// the comments; the doubles were evaluated with CPython (time_offset + pos * time_precision).
#include "pipeline/segments.h"

#include <gtest/gtest.h>

#include <vector>

namespace wisp {
namespace {

constexpr int kTb = 50363;  // timestamp_begin of the English-only vocabulary
int Ts(int position) { return kTb + position; }

TEST(Segments, ConstantsMatchPython) {
  EXPECT_EQ(kTimePrecision, 0.02);           // 2 * 160 / 16000
  EXPECT_EQ(FramesToSeconds(4580), 45.8);    // float(4580 * 160 / 16000)
  EXPECT_EQ(FramesToSeconds(1234), 12.34);
}

// tokens = <|0.00|> a b <|3.00|><|3.00|> c <|5.80|><|5.80|> d
// timestamp_tokens = T F F T T F T T F; consecutive = [4, 7]; single_timestamp_ending: [T, F]
// is not [F, T] -> False. Segments tokens[0:4], tokens[4:7]; the unfinished "d" is dropped and
// seek += (tokens[6] - tb) * input_stride = 290 * 2.
TEST(Segments, ConsecutivePairsWithUnfinishedTail) {
  const std::vector<int> tokens = {Ts(0), 100, 101, Ts(150), Ts(150), 200, Ts(290), Ts(290), 300};
  const WindowSegmentation w = SegmentWindowTokens(tokens, kTb, 45.8, 3000);
  EXPECT_FALSE(w.single_timestamp_ending);
  ASSERT_EQ(w.segments.size(), 2u);
  EXPECT_EQ(w.segments[0].tokens, (std::vector<int>{Ts(0), 100, 101, Ts(150)}));
  EXPECT_EQ(w.segments[0].start, 45.8);
  EXPECT_EQ(w.segments[0].end, 48.8);  // 45.8 + 150 * 0.02
  EXPECT_EQ(w.segments[1].tokens, (std::vector<int>{Ts(150), 200, Ts(290)}));
  EXPECT_EQ(w.segments[1].start, 48.8);
  EXPECT_EQ(w.segments[1].end, 51.599999999999994);  // 45.8 + 290 * 0.02 in double
  EXPECT_EQ(w.seek_advance, 580);
}

// tokens = <|0.00|> a <|2.00|><|2.00|> b <|5.00|>
// consecutive = [3]; [-2:] = [F, T] -> single_timestamp_ending; slices = [3, 6]: the last
// segment runs to the end and the whole window is consumed (seek += segment_size).
TEST(Segments, SingleTimestampEndingConsumesTheWindow) {
  const std::vector<int> tokens = {Ts(0), 100, Ts(100), Ts(100), 200, Ts(250)};
  const WindowSegmentation w = SegmentWindowTokens(tokens, kTb, 30.0, 1234);
  EXPECT_TRUE(w.single_timestamp_ending);
  ASSERT_EQ(w.segments.size(), 2u);
  EXPECT_EQ(w.segments[0].tokens, (std::vector<int>{Ts(0), 100, Ts(100)}));
  EXPECT_EQ(w.segments[0].start, 30.0);
  EXPECT_EQ(w.segments[0].end, 32.0);
  EXPECT_EQ(w.segments[1].tokens, (std::vector<int>{Ts(100), 200, Ts(250)}));
  EXPECT_EQ(w.segments[1].start, 32.0);
  EXPECT_EQ(w.segments[1].end, 35.0);
  EXPECT_EQ(w.seek_advance, 1234);
}

// Several pairs, the last directly before eot: <|0|> x <|1.00|><|1.00|> y <|2.00|><|2.00|> z
// <|3.00|><|3.00|>. consecutive = [3, 6, 9]; [-2:] = [T, T] -> not single ending; the final
// <|3.00|> (index 9) belongs to no segment; seek += (tokens[8] - tb) * 2 = 300.
TEST(Segments, SeveralPairsEndingInAPair) {
  const std::vector<int> tokens = {Ts(0), 1, Ts(50), Ts(50), 2, Ts(100), Ts(100), 3, Ts(150), Ts(150)};
  const WindowSegmentation w = SegmentWindowTokens(tokens, kTb, 0.0, 3000);
  EXPECT_FALSE(w.single_timestamp_ending);
  ASSERT_EQ(w.segments.size(), 3u);
  EXPECT_EQ(w.segments[0].tokens, (std::vector<int>{Ts(0), 1, Ts(50)}));
  EXPECT_EQ(w.segments[1].tokens, (std::vector<int>{Ts(50), 2, Ts(100)}));
  EXPECT_EQ(w.segments[2].tokens, (std::vector<int>{Ts(100), 3, Ts(150)}));
  EXPECT_EQ(w.segments[0].start, 0.0);
  EXPECT_EQ(w.segments[0].end, 1.0);
  EXPECT_EQ(w.segments[1].start, 1.0);
  EXPECT_EQ(w.segments[1].end, 2.0);
  EXPECT_EQ(w.segments[2].start, 2.0);
  EXPECT_EQ(w.segments[2].end, 3.0);
  EXPECT_EQ(w.seek_advance, 300);
}

// No timestamp at all (e.g. without_timestamps): one segment over the real audio,
// end = time_offset + segment_size * 160 / 16000, seek += segment_size.
TEST(Segments, NoTimestampsIsOneSegmentOverTheWindow) {
  const std::vector<int> tokens = {100, 101, 102};
  const WindowSegmentation w = SegmentWindowTokens(tokens, kTb, 30.0, 1500);
  ASSERT_EQ(w.segments.size(), 1u);
  EXPECT_EQ(w.segments[0].tokens, tokens);
  EXPECT_EQ(w.segments[0].start, 30.0);
  EXPECT_EQ(w.segments[0].end, 45.0);
  EXPECT_EQ(w.seek_advance, 1500);
}

// Timestamps but no pair: <|0.00|> a b <|4.40|> -> duration = 220 * 0.02, one segment with all
// tokens, and the whole window consumed.
TEST(Segments, SingleTimestampWithoutPairsEndsAtIt) {
  const std::vector<int> tokens = {Ts(0), 100, 101, Ts(220)};
  const WindowSegmentation w = SegmentWindowTokens(tokens, kTb, 45.8, 3000);
  ASSERT_EQ(w.segments.size(), 1u);
  EXPECT_EQ(w.segments[0].tokens, tokens);
  EXPECT_EQ(w.segments[0].start, 45.8);
  EXPECT_EQ(w.segments[0].end, 50.199999999999996);  // 45.8 + 4.4
  EXPECT_EQ(w.seek_advance, 3000);
}

// The last timestamp is <|0.00|> (`timestamps[-1].item() != tokenizer.timestamp_begin` fails):
// the segment keeps the full segment_duration instead of ending at 0.
TEST(Segments, LastTimestampAtZeroKeepsTheWindowDuration) {
  const std::vector<int> tokens = {Ts(0), 100};
  const WindowSegmentation w = SegmentWindowTokens(tokens, kTb, 0.0, 1234);
  ASSERT_EQ(w.segments.size(), 1u);
  EXPECT_EQ(w.segments[0].end, 12.34);
  EXPECT_EQ(w.seek_advance, 1234);
}

// Nothing decoded: still one (empty) segment; transcribe() then clears and keeps it.
TEST(Segments, EmptyTokens) {
  const WindowSegmentation w = SegmentWindowTokens({}, kTb, 30.0, 3000);
  EXPECT_FALSE(w.single_timestamp_ending);
  ASSERT_EQ(w.segments.size(), 1u);
  EXPECT_TRUE(w.segments[0].tokens.empty());
  EXPECT_EQ(w.segments[0].start, 30.0);
  EXPECT_EQ(w.segments[0].end, 60.0);
  EXPECT_EQ(w.seek_advance, 3000);
}

// A pair at indices (0, 1): consecutive = [1], so the only slice is tokens[0:1] = [<|0.50|>],
// a segment whose start and end are both 0.5 (transcribe() clears it); the text after the pair
// is unfinished, and seek += (tokens[0] - tb) * 2 = 50.
TEST(Segments, LeadingPairMakesAnInstantaneousSegment) {
  const std::vector<int> tokens = {Ts(25), Ts(25), 100};
  const WindowSegmentation w = SegmentWindowTokens(tokens, kTb, 0.0, 3000);
  ASSERT_EQ(w.segments.size(), 1u);
  EXPECT_EQ(w.segments[0].tokens, (std::vector<int>{Ts(25)}));
  EXPECT_EQ(w.segments[0].start, 0.5);
  EXPECT_EQ(w.segments[0].end, 0.5);
  EXPECT_EQ(w.seek_advance, 50);
}

}  // namespace
}  // namespace wisp
