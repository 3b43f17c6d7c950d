// transcribe()'s hallucination_silence_threshold rules on crafted windows. Each expectation is
// derived by hand from whisper/transcribe.py (v20250625) and the derivation written beside it;
// doubles that depend on rounding were evaluated with CPython. The real-weights check is
// tests/real_decoding_test.cc ("words_hallucination": the official's transcribe() on real speech).
#include "pipeline/hallucination_filter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace wisp {
namespace {

Word W(const std::string& text, double start, double end, double probability) {
  Word w;
  w.word = text;
  w.start = start;
  w.end = end;
  w.probability = probability;
  return w;
}
// A plausible word (score 0) and an invented one: 0.05 s at probability 0.05, score
// 1 + (0.133 - 0.05) * 15 = 2.245, so a segment of it alone is an anomaly (2.245 + 0.01 >= 1).
Word Good(double start, double end) { return W(" word", start, end, 0.9); }
Word Bad(double start) { return W(" uh", start, start + 0.05, 0.05); }

Segment Seg(std::vector<Word> words) {
  Segment s;
  if (!words.empty()) {
    s.start = words.front().start;
    s.end = words.back().end;
  }
  s.words = std::move(words);
  return s;
}

// The window used below: seek 3000 (time_offset 30.0, window_end_time 60.0), 30 s of audio in a
// 100-s file, threshold 2.0, no speech before it.
HallucinationWindow Window(bool single_timestamp_ending = false) {
  return {/*previous_seek=*/3000, /*segment_size=*/3000, /*content_frames=*/10000, single_timestamp_ending,
          /*last_speech_timestamp=*/0.0};
}

TEST(HallucinationFilter, WordAnomalyScore) {
  EXPECT_EQ(WordAnomalyScore(W(" a", 1.0, 1.4, 0.9)), 0.0);
  // improbable and 0.1 s: 1 + (0.133 - (1.1 - 1.0)) * 15 = 1.4949999999999988 in CPython
  EXPECT_EQ(WordAnomalyScore(W(" a", 1.0, 1.1, 0.1)), 1.4949999999999988);
  EXPECT_EQ(WordAnomalyScore(W(" a", 1.0, 4.5, 0.9)), 1.5);       // 3.5 s: 3.5 - 2
  EXPECT_EQ(WordAnomalyScore(W(" a", 1.0, 1.2, 0.15)), 0.0);      // 0.15 is not < 0.15
}

TEST(HallucinationFilter, SegmentAnomaly) {
  EXPECT_FALSE(IsSegmentAnomaly(nullptr));
  EXPECT_FALSE(IsSegmentAnomaly(std::vector<Segment>{Seg({})}.data()));
  const Segment fine = Seg({Good(1.0, 1.4), Good(1.4, 1.8)});
  EXPECT_FALSE(IsSegmentAnomaly(&fine));
  const Segment one_bad = Seg({Bad(1.0)});
  EXPECT_TRUE(IsSegmentAnomaly(&one_bad));  // 2.245 + 0.01 >= 1
  // Two good and one bad word: 2.245 < 3 and 2.255 < 3 words.
  const Segment mixed = Seg({Good(1.0, 1.4), Bad(1.4), Good(1.5, 1.9)});
  EXPECT_FALSE(IsSegmentAnomaly(&mixed));
  // Two bad words: 4.49 >= 3.
  const Segment two_bad = Seg({Good(1.0, 1.4), Bad(1.4), Bad(1.5), Good(1.6, 2.0)});
  EXPECT_TRUE(IsSegmentAnomaly(&two_bad));
  // Punctuation-only words are filtered out, leaving none: 0 + 0.01 >= 0.
  const Segment punct = Seg({W(".", 1.0, 1.01, 0.01), W("\xe3\x80\x82", 1.01, 1.02, 0.01)});  // "." and "。"
  EXPECT_TRUE(IsSegmentAnomaly(&punct));
  // `w["word"] not in punctuation` is a substring test: "'." is in the string, " ." is not.
  const Segment substring = Seg({W("'.", 1.0, 1.01, 0.01), Good(1.1, 1.5)});
  EXPECT_FALSE(IsSegmentAnomaly(&substring));  // only the good word counts
  const Segment spaced = Seg({W(" .", 1.0, 1.01, 0.01), Good(1.1, 1.5)});
  EXPECT_TRUE(IsSegmentAnomaly(&spaced));  // 1 + 0.123 * 15 = 2.845 < 3, but 2.855 >= 2 words
  // Only the first 8 counted words: eight good words then two bad ones score 0.
  std::vector<Word> ten;
  for (int i = 0; i < 8; ++i) ten.push_back(Good(1.0 + i * 0.5, 1.4 + i * 0.5));
  ten.push_back(Bad(6.0));
  ten.push_back(Bad(6.1));
  const Segment long_segment = Seg(ten);
  EXPECT_FALSE(IsSegmentAnomaly(&long_segment));
}

TEST(HallucinationFilter, NextWordsSegment) {
  const std::vector<Segment> segments = {Seg({}), Seg({Good(1.0, 1.4)}), Seg({Good(2.0, 2.4)})};
  EXPECT_EQ(NextWordsSegment(segments), &segments[1]);
  EXPECT_EQ(NextWordsSegment(std::span<const Segment>(segments).subspan(3)), nullptr);
}

// Speech ending at 32.5: remaining_duration = 60.0 - 32.5 = 27.5 > 2, so seek =
// round(32.5 * 100) = 3250 (replacing whatever the loop had); nothing is anomalous.
TEST(HallucinationFilter, SeeksToTheLastWordWhenSilenceFollows) {
  const std::vector<Segment> segments = {Seg({Good(30.5, 31.0), Good(31.0, 32.5)})};
  const HallucinationVerdict v = SkipHallucinationSilences(segments, Window(), 2.0, 9999);
  EXPECT_EQ(v.seek, 3250);
  EXPECT_FALSE(v.skip_window);
  EXPECT_EQ(v.keep_segments, 1u);
}

// Speech to 58.5: remaining 1.5 <= 2, so seek = previous_seek + segment_size = 6000. With a
// single timestamp ending the loop's seek (here 4321, whatever the loop had) is kept as is.
TEST(HallucinationFilter, KeepsTheWindowEndWhenSpeechRunsToIt) {
  const std::vector<Segment> segments = {Seg({Good(57.0, 57.5), Good(57.5, 58.0), Good(58.0, 58.5)})};
  EXPECT_EQ(SkipHallucinationSilences(segments, Window(), 2.0, 5850).seek, 6000);
  EXPECT_EQ(SkipHallucinationSilences(segments, Window(/*single_timestamp_ending=*/true), 2.0, 4321).seek, 4321);
}

// The first segment with words is an anomaly 5 s into the window: gap 5.0 > 2, so the window
// is dropped whole and decoding restarts at previous_seek + round(5.0 * 100) = 3500.
// Two long words (5 s and 3.5 s: 3 + 1.5 >= 3) are an anomaly too, here 20 s into the window.
TEST(HallucinationFilter, SkipsLeadingSilenceBeforeAFirstHallucination) {
  const std::vector<Segment> long_words = {Seg({Good(50.0, 55.0), Good(55.0, 58.5)})};
  const HallucinationVerdict skipped = SkipHallucinationSilences(long_words, Window(), 2.0, 5850);
  EXPECT_TRUE(skipped.skip_window);
  EXPECT_EQ(skipped.seek, 5000);  // 3000 + round(20.0 * 100)

  const std::vector<Segment> segments = {Seg({}), Seg({Bad(35.0)}), Seg({Good(40.0, 41.0)})};
  const HallucinationVerdict v = SkipHallucinationSilences(segments, Window(), 2.0, 4100);
  EXPECT_TRUE(v.skip_window);
  EXPECT_EQ(v.seek, 3500);
}

// The loop over the segments, one crafted window per row (threshold 2.0, Window() unless noted).
struct LoopCase {
  const char* what;
  std::vector<Segment> segments;
  HallucinationWindow window;
  int64_t seek_in;            // the loop's seek before the block
  size_t keep_segments;       // expected
  int64_t seek;               // expected
};

TEST(HallucinationFilter, DropsHallucinationsBetweenSilences) {
  const std::vector<LoopCase> cases = {
      // A first anomaly only 1.5 s in (gap not > 2) reaches the loop: silence_before (31.5 - 0.0
      // > 2), no later words so hal_next_start = 30 + 30 = 60 and 60 - 31.55 > 2: silence_after.
      // seek = round(max(31.0, 31.5) * 100) = 3150, every segment from it dropped.
      {"isolated near the start", {Seg({Bad(31.5)})}, Window(), 6000, 0, 3150},
      // Speech to 32.0, an invented word at 40.0, speech again at 45.0: before 40 - 32 = 8 > 2,
      // after 45 - 40.05 = 4.95 > 2. The last-word rule first gives round(47.0 * 100) = 4700; the
      // cut then sets seek = round(40.0 * 100) = 4000 and keeps only the first segment.
      {"surrounded by silence", {Seg({Good(30.0, 32.0)}), Seg({Bad(40.0)}), Seg({Good(45.0, 47.0)})}, Window(),
       4700, 1, 4000},
      // The same word right after speech (33.0 after 32.5; 33 - 30 >= 2, 33 >= threshold): no
      // silence before it, so it stays, and seek is the last-word rule's round(47.0 * 100).
      {"no silence before", {Seg({Good(30.0, 32.5)}), Seg({Bad(33.0)}), Seg({Good(45.0, 47.0)})}, Window(), 1234, 3,
       4700},
      // A 41-s file (content_frames 4100, this window holds 1100 frames): speech to 32.0, then
      // invented words at 39.0 and 40.0. The first: before 39 - 32 > 2, after: the next segment is
      // an anomaly. seek = round(39.0 * 100) = 3900, but content_duration - end = 41.0 - 39.05 < 2,
      // so the file is finished: seek = content_frames.
      {"trailing, at the end of the file", {Seg({Good(30.0, 32.0)}), Seg({Bad(39.0)}), Seg({Bad(40.0)})},
       {3000, 1100, 4100, false, 0.0}, 4005, 1, 4100},
  };
  for (const LoopCase& c : cases) {
    const HallucinationVerdict v = SkipHallucinationSilences(c.segments, c.window, 2.0, c.seek_in);
    EXPECT_FALSE(v.skip_window) << c.what;
    EXPECT_EQ(v.keep_segments, c.keep_segments) << c.what;
    EXPECT_EQ(v.seek, c.seek) << c.what;
  }
}

// hal_last_end starts at last_speech_timestamp (the previous window's last word): speech up to
// 29.5 makes an anomaly at 31.0 not preceded by silence (31 - 29.5 <= 2, 31 >= 2) -- except that
// it is within 2 s of the window start (31 - 30 < 2), which counts as silence before too.
TEST(HallucinationFilter, WindowStartCountsAsSilenceBefore) {
  const std::vector<Segment> segments = {Seg({Bad(31.0)}), Seg({Good(45.0, 46.0)})};
  HallucinationWindow window = Window();
  window.last_speech_timestamp = 29.5;
  const HallucinationVerdict v = SkipHallucinationSilences(segments, window, 2.0, 4600);
  EXPECT_EQ(v.keep_segments, 0u);
  EXPECT_EQ(v.seek, 3100);  // round(max(31.0, 31.0) * 100)
}

}  // namespace
}  // namespace wisp
