#include "pipeline/segments.h"

#include <cstddef>

namespace wisp {

WindowSegmentation SegmentWindowTokens(const std::vector<int>& tokens, int timestamp_begin, double time_offset,
                                       int64_t segment_size) {
  WindowSegmentation out;
  const size_t n = tokens.size();
  auto is_timestamp = [&](size_t i) { return tokens[i] >= timestamp_begin; };

  // single_timestamp_ending = timestamp_tokens[-2:].tolist() == [False, True]: needs at least
  // two tokens, text then timestamp.
  out.single_timestamp_ending = n >= 2 && !is_timestamp(n - 2) && is_timestamp(n - 1);

  // consecutive = torch.where(ts[:-1] & ts[1:])[0] + 1: the index of the second timestamp of
  // every adjacent pair.
  std::vector<size_t> slices;
  for (size_t i = 0; i + 1 < n; ++i) {
    if (is_timestamp(i) && is_timestamp(i + 1)) slices.push_back(i + 1);
  }

  if (!slices.empty()) {
    if (out.single_timestamp_ending) slices.push_back(n);
    size_t last_slice = 0;
    for (size_t current_slice : slices) {
      // tokens[last_slice:current_slice] starts and ends with a timestamp by construction
      // (after the first slice); the first slice may start with text if the model was not
      // forced to a timestamp (the official takes sliced_tokens[0] regardless).
      WindowSegment segment;
      segment.tokens.assign(tokens.begin() + last_slice, tokens.begin() + current_slice);
      const int start_pos = segment.tokens.front() - timestamp_begin;
      const int end_pos = segment.tokens.back() - timestamp_begin;
      segment.start = time_offset + start_pos * kTimePrecision;
      segment.end = time_offset + end_pos * kTimePrecision;
      out.segments.push_back(std::move(segment));
      last_slice = current_slice;
    }
    if (out.single_timestamp_ending) {
      // A single timestamp at the end means no speech after it: consume the whole window.
      out.seek_advance = segment_size;
    } else {
      // Ignore the unfinished segment and seek to the last timestamp: tokens[last_slice - 1]
      // is the second timestamp of the last pair.
      const int last_timestamp_pos = tokens[last_slice - 1] - timestamp_begin;
      out.seek_advance = static_cast<int64_t>(last_timestamp_pos) * kInputStride;
    }
    return out;
  }

  // No pair: one segment over the window. Python: segment_duration = segment_size *
  // HOP_LENGTH / SAMPLE_RATE; the last timestamp (if any and not <|0.00|>) shortens it.
  double duration = FramesToSeconds(segment_size);
  for (size_t i = n; i-- > 0;) {
    if (!is_timestamp(i)) continue;
    if (tokens[i] != timestamp_begin) duration = (tokens[i] - timestamp_begin) * kTimePrecision;
    break;
  }
  WindowSegment segment;
  segment.tokens = tokens;
  segment.start = time_offset;
  segment.end = time_offset + duration;
  out.segments.push_back(std::move(segment));
  out.seek_advance = segment_size;
  return out;
}

}  // namespace wisp
