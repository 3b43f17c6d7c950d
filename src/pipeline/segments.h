// How openai-whisper's transcribe() turns the tokens of one decoded 30-s window into segments
// and decides where the next window starts (the "consecutive timestamps" slicing and the seek
// rules). Pure arithmetic on token ids, so every case is unit-tested without a model.
#pragma once
#include <cstdint>
#include <vector>

#include "audio/mel.h"

namespace wisp {

// Mel frames per decoder time step (N_FRAMES / n_audio_ctx = 3000 / 1500) and the seconds one
// timestamp step stands for (input_stride * HOP_LENGTH / SAMPLE_RATE = 0.02, computed the same
// way so the double is bit-identical to Python's).
constexpr int kInputStride = 2;
constexpr double kTimePrecision = static_cast<double>(kInputStride * kHopLength) / kSampleRate;

// Seconds at a frame offset: Python's float(seek * HOP_LENGTH / SAMPLE_RATE).
inline double FramesToSeconds(int64_t frames) {
  return static_cast<double>(frames * kHopLength) / static_cast<double>(kSampleRate);
}

// One segment as new_segment() builds it, before its text is decoded. start and end are
// time_offset + position * time_precision in double arithmetic, never rounded.
struct WindowSegment {
  double start = 0;
  double end = 0;
  std::vector<int> tokens;  // the slice, timestamps included (what the official stores)
};

struct WindowSegmentation {
  std::vector<WindowSegment> segments;
  int64_t seek_advance = 0;  // frames to add to seek
  bool single_timestamp_ending = false;
};

// The body of transcribe()'s loop after the no-speech check, for one window:
//  - tokens: DecodingResult.tokens (sampled tokens without the trailing eot);
//  - time_offset: seconds at the window's seek; segment_size: frames of real audio in it.
// With two consecutive timestamps somewhere, the tokens are cut after each such pair; each
// slice is a segment from its first to its last token's time. A single timestamp at the very
// end (text then timestamp) closes a last segment and the window is consumed whole; otherwise
// the text after the last pair is dropped and seek moves to the last pair's timestamp. Without
// any pair the whole window is one segment ending at the last timestamp (unless that is
// <|0.00|>) or at the end of the real audio.
WindowSegmentation SegmentWindowTokens(const std::vector<int>& tokens, int timestamp_begin, double time_offset,
                                       int64_t segment_size);

}  // namespace wisp
