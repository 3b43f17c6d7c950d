#include "pipeline/transcribe.h"

#include <algorithm>
#include <cmath>

#include "pipeline/segments.h"
#include "pipeline/text_metrics.h"

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

// The language decode() will use. A given code is checked later by PlanDecoding (one place
// for those errors); an empty one is "en" on an English-only model and otherwise detected from
// pad_or_trim(mel, N_FRAMES): the first 30 s of the padded spectrogram.
Result<std::string> ResolveLanguage(const TranscribeOptions& options, const Tokenizer& tokenizer,
                                    const LogMelSpectrogram& mel, WindowDecoder* decoder, std::vector<float>* window) {
  if (!options.language.empty()) return options.language;
  if (!tokenizer.multilingual()) return std::string("en");
  mel.Window(0, std::min<int64_t>(kWindowFrames, mel.total_frames()), window->data());
  decoder->EncodeWindow(window->data());
  return decoder->DetectLanguage();
}

}  // namespace

Result<DecodingResult> DecodeWithFallback(WindowDecoder* decoder, const DecodingOptions& base_options,
                                          std::span<const double> temperatures, const TranscribeOptions& thresholds,
                                          std::mt19937_64* rng) {
  if (temperatures.empty()) return InvalidArgument("no temperature to decode at");
  Result<DecodingResult> result = InvalidArgument("unreachable");
  for (double t : temperatures) {
    DecodingOptions options = base_options;
    options.temperature = t;
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
                                       const TranscribeOptions& options) {
  const HParams& hp = weights.hparams;
  if (mel.n_mels() != hp.n_mels) {
    return InvalidArgument("the spectrogram has " + std::to_string(mel.n_mels()) + " mel bands, the model expects " +
                           std::to_string(hp.n_mels));
  }
  if (!(options.temperature >= 0.0)) {
    return InvalidArgument("temperature " + std::to_string(options.temperature) + " must be a number >= 0");
  }

  DecodingOptions decode_options;
  decode_options.task = options.task;
  decode_options.language = options.language;  // empty validates as "en"; detection comes later
  decode_options.sample_len = options.sample_len;
  decode_options.suppress_tokens = options.suppress_tokens;
  decode_options.suppress_blank = options.suppress_blank;
  decode_options.without_timestamps = options.without_timestamps;
  decode_options.max_initial_timestamp = options.max_initial_timestamp;
  // Validate the options once, before the first (expensive) encoder pass.
  if (Result<DecodingPlan> plan = PlanDecoding(decode_options, tokenizer, hp); !plan.ok()) return plan.status();

  WindowDecoder decoder(weights, tokenizer, ctx);
  std::vector<float> window(static_cast<size_t>(hp.n_mels) * kWindowFrames);
  Result<std::string> language = ResolveLanguage(options, tokenizer, mel, &decoder, &window);
  if (!language.ok()) return language.status();
  decode_options.language = language.value();

  const std::vector<double> temperatures = {options.temperature};
  std::mt19937_64 rng(options.seed);
  const int timestamp_begin = tokenizer.timestamp_begin();
  const int64_t content_frames = mel.content_frames();

  std::vector<int> all_tokens;
  TranscriptionResult out;
  out.language = language.value();
  size_t prompt_reset_since = 0;

  // initial_prompt_tokens = tokenizer.encode(" " + initial_prompt.strip())
  std::vector<int> initial_prompt_tokens;
  if (!options.initial_prompt.empty()) {
    initial_prompt_tokens = tokenizer.Encode(" " + std::string(StripPythonWhitespace(options.initial_prompt)));
    all_tokens = initial_prompt_tokens;
  }
  const int64_t remaining_prompt_length =
      static_cast<int64_t>(hp.n_text_ctx / 2 - 1) - static_cast<int64_t>(initial_prompt_tokens.size());

  int64_t seek = 0;
  while (seek < content_frames) {
    const double time_offset = FramesToSeconds(seek);
    const int64_t segment_size = std::min<int64_t>(kWindowFrames, content_frames - seek);
    // mel[:, seek:seek + segment_size] padded with zeros to N_FRAMES.
    mel.Window(seek, segment_size, window.data());
    decoder.EncodeWindow(window.data());

    if (options.carry_initial_prompt) {
      const size_t ignored = std::max(initial_prompt_tokens.size(), prompt_reset_since);
      std::vector<int> prompt = initial_prompt_tokens;
      const std::vector<int> rest =
          PythonTail(std::span<const int>(all_tokens).subspan(std::min(ignored, all_tokens.size())),
                     remaining_prompt_length);
      prompt.insert(prompt.end(), rest.begin(), rest.end());
      decode_options.prompt = std::move(prompt);
    } else {
      decode_options.prompt.assign(all_tokens.begin() + prompt_reset_since, all_tokens.end());
    }

    Result<DecodingResult> decoded = DecodeWithFallback(&decoder, decode_options, temperatures, options, &rng);
    if (!decoded.ok()) return decoded.status();
    const DecodingResult& result = decoded.value();

    // No voice activity: skip the window when no_speech_prob is high, unless the decode was
    // confident anyway.
    if (Enabled(options.no_speech_threshold)) {
      bool should_skip = result.no_speech_prob > options.no_speech_threshold;
      if (Enabled(options.logprob_threshold) && result.avg_logprob > options.logprob_threshold) {
        should_skip = false;
      }
      if (should_skip) {
        seek += segment_size;  // fast-forward to the next segment boundary
        continue;
      }
    }

    WindowSegmentation window_segments = SegmentWindowTokens(result.tokens, timestamp_begin, time_offset, segment_size);
    for (WindowSegment& ws : window_segments.segments) {
      Segment segment;
      segment.id = static_cast<int>(out.segments.size());
      segment.seek = static_cast<int>(seek);  // the window's seek, before it advances
      segment.start = ws.start;
      segment.end = ws.end;
      // tokenizer.decode([t for t in tokens if t < eot]) as a python str.
      segment.text = ReplaceInvalidUtf8(tokenizer.Decode(ws.tokens));
      segment.tokens = std::move(ws.tokens);
      segment.temperature = result.temperature;
      segment.avg_logprob = result.avg_logprob;
      segment.compression_ratio = result.compression_ratio;
      segment.no_speech_prob = result.no_speech_prob;
      // "if a segment is instantaneous or does not contain text, clear it": it stays in the
      // list, and its (now empty) tokens are all it contributes to the prompt.
      if (segment.start == segment.end || StripPythonWhitespace(segment.text).empty()) {
        segment.text.clear();
        segment.tokens.clear();
      }
      all_tokens.insert(all_tokens.end(), segment.tokens.begin(), segment.tokens.end());
      if (options.on_segment) options.on_segment(segment);
      out.segments.push_back(std::move(segment));
    }
    // Under ApplyTimestampRules the last pair's timestamp is always > 0, so the advance is
    // positive; without_timestamps gives no pairs (advance = segment_size). The guard only
    // keeps a pathological token stream from looping forever.
    seek += window_segments.seek_advance > 0 ? window_segments.seek_advance : segment_size;

    if (!options.condition_on_previous_text || result.temperature > 0.5) {
      // Do not feed the prompt tokens if a high temperature was used.
      prompt_reset_since = all_tokens.size();
    }
  }

  // tokenizer.decode(all_tokens[len(initial_prompt_tokens):]): timestamps dropped, other
  // specials (none survive the default suppression) as text.
  const std::vector<int> spoken(all_tokens.begin() + initial_prompt_tokens.size(), all_tokens.end());
  out.text = ReplaceInvalidUtf8(tokenizer.DecodeWithSpecials(spoken));
  return out;
}

}  // namespace wisp
