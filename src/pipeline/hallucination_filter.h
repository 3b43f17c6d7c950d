// transcribe()'s hallucination_silence_threshold (openai-whisper v20250625, whisper/transcribe.py):
// after a window's word timestamps, segments whose words look invented (very short, very long or
// improbable) and that sit between silences are dropped, and seek jumps past the silence so the
// next window starts where speech resumes. Pure functions of the window's segments and the loop's
// numbers, so every rule is unit-tested without a model; transcribe.cc applies the verdict.
//
// How the window loop uses it (after AddWordTimestamps and the plain last-word seek rule):
//   HallucinationVerdict v = SkipHallucinationSilences(segments, window, threshold, seek);
//   seek = v.seek;
//   if (v.skip_window) continue;   // the official's `continue`: no segments, no prompt update
//   segments.resize(v.keep_segments);
//   if (LastWordEnd(segments)) last_speech_timestamp = *LastWordEnd(segments);
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "pipeline/transcribe.h"

namespace wisp {

// word_anomaly_score: +1 below probability 0.15, +(0.133 - d) * 15 for a duration d under
// 0.133 s, +(d - 2) over 2 s.
double WordAnomalyScore(const Word& word);

// is_segment_anomaly: over the first 8 words that are not punctuation (the official's fixed
// `punctuation`, the default prepend and append punctuations concatenated, whatever the caller
// passed; python's `w not in punctuation` is a substring test, so "" and e.g. "'." count as
// punctuation too), the summed score is >= 3 or within 0.01 of the word count. A null segment or one without words is not an
// anomaly; a segment of punctuation only is (0 + 0.01 >= 0).
bool IsSegmentAnomaly(const Segment* segment);

// next_words_segment: the first segment with words, or null.
const Segment* NextWordsSegment(std::span<const Segment> segments);

// The loop's numbers for one window, as transcribe() names them.
struct HallucinationWindow {
  int64_t previous_seek = 0;         // the window's seek (frames)
  int64_t segment_size = 0;          // frames of audio in the window
  int64_t content_frames = 0;        // frames of audio in the file
  bool single_timestamp_ending = false;
  double last_speech_timestamp = 0;  // before this window's words
};

struct HallucinationVerdict {
  int64_t seek = 0;              // where the next window starts
  bool skip_window = false;      // drop the whole window as the official's `continue` does
  size_t keep_segments = 0;      // otherwise keep segments[0, keep_segments)
};

// The `if hallucination_silence_threshold is not None` block for a window whose segments carry
// their words. seek: the loop's seek after the segmentation and the last-word rule. threshold:
// hallucination_silence_threshold in seconds.
HallucinationVerdict SkipHallucinationSilences(std::span<const Segment> segments, const HallucinationWindow& window,
                                               double threshold, int64_t seek);

}  // namespace wisp
