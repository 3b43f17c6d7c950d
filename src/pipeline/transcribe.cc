#include "pipeline/transcribe.h"

#include <algorithm>
#include <cmath>

#include "pipeline/transcription_run.h"

namespace wisp {
namespace {

bool Enabled(double threshold) { return !std::isnan(threshold); }

// Python's list[-k:] for an int k of any sign: k > 0 keeps the last k, k == 0 keeps everything
// (-0 is 0), k < 0 drops the first -k. carry_initial_prompt slices with a length that becomes
// zero or negative once the initial prompt is long, and the official inherits these semantics.
std::vector<int> PythonTail(std::span<const int> list, int64_t k) {
  const int64_t n = static_cast<int64_t>(list.size());
  int64_t begin = 0;
  if (k > 0) begin = std::max<int64_t>(n - k, 0);
  if (k < 0) begin = std::min<int64_t>(-k, n);
  return std::vector<int>(list.begin() + begin, list.end());
}

}  // namespace

TranscribeState TranscribeState::Start(const TranscribeOptions& options,
                                       const std::vector<int>& initial_prompt_tokens, int64_t content_frames) {
  TranscribeState st;
  // seek_points = [round(ts * FRAMES_PER_SECOND) for ts in clip_timestamps] (round half to even).
  std::vector<int64_t> points;
  for (double t : options.clip_timestamps) points.push_back(static_cast<int64_t>(std::nearbyint(t * 100.0)));
  if (points.empty()) points.push_back(0);
  if (points.size() % 2 == 1) points.push_back(content_frames);
  for (size_t i = 0; i + 1 < points.size(); i += 2) st.clips.emplace_back(points[i], points[i + 1]);
  st.seek = st.clips[0].first;
  st.initial_prompt_tokens = initial_prompt_tokens;
  st.all_tokens = initial_prompt_tokens;
  st.rng.seed(options.seed);
  return st;
}

bool TranscribeState::NextWindow() {
  while (clip_index < clips.size()) {
    const auto [clip_start, clip_end] = clips[clip_index];
    if (seek < clip_start) seek = clip_start;
    if (seek >= clip_end) {
      ++clip_index;
      if (clip_index < clips.size()) seek = clips[clip_index].first;
      continue;
    }
    return true;
  }
  return false;
}

int64_t TranscribeState::WindowFrames(int64_t content_frames) const {
  return std::min({static_cast<int64_t>(kWindowFrames), content_frames - seek, clips[clip_index].second - seek});
}

std::vector<int> TranscribeState::Prompt(bool carry_initial_prompt, int n_text_ctx) const {
  if (!carry_initial_prompt) return std::vector<int>(all_tokens.begin() + prompt_reset_since, all_tokens.end());
  // nignored = max(len(initial_prompt_tokens), prompt_reset_since); remaining_prompt_length =
  // n_text_ctx // 2 - 1 - len(initial_prompt_tokens);
  // prompt = initial_prompt_tokens + all_tokens[nignored:][-remaining_prompt_length:]
  const size_t ignored = std::max(initial_prompt_tokens.size(), prompt_reset_since);
  const int64_t remaining = static_cast<int64_t>(n_text_ctx / 2 - 1) - static_cast<int64_t>(initial_prompt_tokens.size());
  std::vector<int> prompt = initial_prompt_tokens;
  const std::vector<int> rest =
      PythonTail(std::span<const int>(all_tokens).subspan(std::min(ignored, all_tokens.size())), remaining);
  prompt.insert(prompt.end(), rest.begin(), rest.end());
  return prompt;
}

void TranscribeState::FinishWindow(double temperature, bool condition_on_previous_text) {
  last_temperature = temperature;
  // Do not feed the prompt tokens if a high temperature was used.
  if (!condition_on_previous_text || temperature > 0.5) prompt_reset_since = all_tokens.size();
}

Result<DecodingResult> DecodeWithFallback(WindowDecoder* decoder, const DecodingOptions& base_options,
                                          const TranscribeOptions& thresholds, std::mt19937_64* rng) {
  if (thresholds.temperatures.empty()) return InvalidArgument("no temperature to decode at");
  Result<DecodingResult> result = InvalidArgument("unreachable");
  for (double t : thresholds.temperatures) {
    DecodingOptions options = base_options;
    options.temperature = t;
    if (t > 0) {
      // disable beam_size and patience when t > 0
      options.best_of = thresholds.best_of;
    } else {
      // disable best_of when t == 0
      options.beam_size = thresholds.beam_size;
      options.patience = thresholds.patience;
    }
    result = decoder->Decode(options, rng);
    if (!result.ok()) return result;
    const DecodingResult& r = result.value();
    bool needs_fallback = false;
    if (Enabled(thresholds.compression_ratio_threshold) &&
        r.compression_ratio > thresholds.compression_ratio_threshold) {
      needs_fallback = true;  // too repetitive
    }
    if (Enabled(thresholds.logprob_threshold) && r.avg_logprob < thresholds.logprob_threshold) {
      needs_fallback = true;  // average log probability is too low
    }
    if (Enabled(thresholds.no_speech_threshold) && r.no_speech_prob > thresholds.no_speech_threshold &&
        Enabled(thresholds.logprob_threshold) && r.avg_logprob < thresholds.logprob_threshold) {
      needs_fallback = false;  // silence: the window will be skipped, not retried
    }
    if (!needs_fallback) break;
  }
  return result;
}

Result<TranscriptionResult> Transcribe(const ModelWeights& weights, const Tokenizer& tokenizer,
                                       const OpContext& ctx, const LogMelSpectrogram& mel,
                                       const TranscribeOptions& options, const ModelMetadata* metadata) {
  Result<std::unique_ptr<TranscriptionRun>> run = TranscriptionRun::Start(weights, tokenizer, ctx, options, metadata);
  if (!run.ok()) return run.status();
  WISP_RETURN_IF_ERROR((*run)->Advance(mel, /*ended=*/true));
  return (*run)->Finish();
}

}  // namespace wisp
