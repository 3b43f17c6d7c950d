#include "pipeline/hallucination_filter.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>

#include "pipeline/segments.h"
#include "pipeline/transcribe_options.h"
#include "pipeline/word_timestamps.h"

namespace wisp {
namespace {

constexpr int kFramesPerSecond = kSampleRate / kHopLength;  // FRAMES_PER_SECOND = 100

// Python's round(x) for the seeks computed from seconds: half to even, as nearbyint under the
// default rounding mode.
int64_t RoundFrames(double seconds) { return static_cast<int64_t>(std::nearbyint(seconds * kFramesPerSecond)); }

// `w["word"] in punctuation`: a substring test on python strings. On valid UTF-8 a byte-wise
// substring match is a code-point substring match (no code point's bytes start inside another's).
bool IsPunctuation(std::string_view word) {
  static const std::string punctuation =
      std::string(kDefaultPrependPunctuations) + std::string(kDefaultAppendPunctuations);
  return punctuation.find(word) != std::string::npos;
}

}  // namespace

double WordAnomalyScore(const Word& word) {
  const double probability = word.probability;
  const double duration = word.end - word.start;
  double score = 0.0;
  if (probability < 0.15) score += 1.0;
  if (duration < 0.133) score += (0.133 - duration) * 15;
  if (duration > 2.0) score += duration - 2.0;
  return score;
}

bool IsSegmentAnomaly(const Segment* segment) {
  if (segment == nullptr || segment->words.empty()) return false;
  double score = 0.0;  // python's sum() from int 0 adds the same doubles in the same order
  size_t counted = 0;
  for (const Word& w : segment->words) {
    if (IsPunctuation(w.word)) continue;
    if (counted == 8) break;  // words[:8] of the non-punctuation words
    score += WordAnomalyScore(w);
    ++counted;
  }
  return score >= 3 || score + 0.01 >= static_cast<double>(counted);
}

const Segment* NextWordsSegment(std::span<const Segment> segments) {
  for (const Segment& s : segments) {
    if (!s.words.empty()) return &s;
  }
  return nullptr;
}

HallucinationVerdict SkipHallucinationSilences(std::span<const Segment> segments, const HallucinationWindow& window,
                                               double threshold, int64_t seek) {
  const double time_offset = FramesToSeconds(window.previous_seek);
  const double window_end_time = FramesToSeconds(window.previous_seek + kWindowFrames);
  const double segment_duration = FramesToSeconds(window.segment_size);
  const double content_duration = FramesToSeconds(window.content_frames);
  HallucinationVerdict verdict;
  verdict.keep_segments = segments.size();

  // Unlike the plain last-word rule, seek stays at the window's end when the speech runs to
  // within `threshold` of it: a possible hallucination in that tail is not re-decoded.
  if (!window.single_timestamp_ending) {
    const std::optional<double> last_word_end = LastWordEnd(segments);
    if (last_word_end && *last_word_end > time_offset) {
      const double remaining_duration = window_end_time - *last_word_end;
      seek = remaining_duration > threshold ? RoundFrames(*last_word_end) : window.previous_seek + window.segment_size;
    }
  }

  // If the first segment might be a hallucination, skip the leading silence and decode again
  // from where the words start; nothing of this window is kept.
  const Segment* first_segment = NextWordsSegment(segments);
  if (first_segment != nullptr && IsSegmentAnomaly(first_segment)) {
    const double gap = first_segment->start - time_offset;
    if (gap > threshold) {
      verdict.seek = window.previous_seek + RoundFrames(gap);
      verdict.skip_window = true;
      return verdict;
    }
  }

  // Skip the silence before any possible hallucination that is surrounded by silence or more
  // hallucinations: the segment and everything after it are dropped.
  double hal_last_end = window.last_speech_timestamp;
  for (size_t si = 0; si < segments.size(); ++si) {
    const Segment& segment = segments[si];
    if (segment.words.empty()) continue;
    if (IsSegmentAnomaly(&segment)) {
      const Segment* next_segment = NextWordsSegment(segments.subspan(si + 1));
      const double hal_next_start =
          next_segment != nullptr ? next_segment->words[0].start : time_offset + segment_duration;
      const bool silence_before = segment.start - hal_last_end > threshold || segment.start < threshold ||
                                  segment.start - time_offset < 2.0;
      const bool silence_after = hal_next_start - segment.end > threshold || IsSegmentAnomaly(next_segment) ||
                                 window_end_time - segment.end < 2.0;
      if (silence_before && silence_after) {
        seek = RoundFrames(std::max(time_offset + 1, segment.start));
        if (content_duration - segment.end < threshold) seek = window.content_frames;
        verdict.keep_segments = si;
        break;
      }
    }
    hal_last_end = segment.end;
  }
  verdict.seek = seek;
  return verdict;
}

}  // namespace wisp
