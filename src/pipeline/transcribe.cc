#include "pipeline/transcribe.h"

#include <algorithm>
#include <cmath>

#include "pipeline/hallucination_filter.h"
#include "pipeline/languages.h"
#include "pipeline/segments.h"
#include "pipeline/text_metrics.h"
#include "pipeline/word_timestamps.h"

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

// The language decode() will use. A given code or name is normalised to its code; an empty one
// is "en" on an English-only model and otherwise detected from pad_or_trim(mel, N_FRAMES): the
// first 30 s of the padded spectrogram, among the candidates when there are any.
Result<std::string> ResolveLanguage(const TranscribeOptions& options, const Tokenizer& tokenizer,
                                    const LogMelSpectrogram& mel, WindowDecoder* decoder, std::vector<float>* window,
                                    TranscriptionResult* out) {
  if (!options.language.empty()) return NormalizeLanguage(options.language);
  if (!tokenizer.multilingual()) return std::string("en");
  mel.Window(0, std::min<int64_t>(kWindowFrames, mel.total_frames()), window->data());
  decoder->EncodeWindow(window->data());
  std::vector<std::string> candidates;
  for (const std::string& c : options.language_candidates) candidates.push_back(NormalizeLanguage(c));
  Result<LanguageDetection> detected = decoder->DetectLanguage(candidates);
  if (!detected.ok()) return detected.status();
  out->language_probs = std::move(detected->probs);
  return detected->language;
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
  const HParams& hp = weights.hparams;
  if (mel.n_mels() != hp.n_mels) {
    return InvalidArgument("the spectrogram has " + std::to_string(mel.n_mels()) + " mel bands, the model expects " +
                           std::to_string(hp.n_mels));
  }
  WISP_RETURN_IF_ERROR(options.ValidateForModel(tokenizer));

  // Every window's options but temperature, prompt and the group (set per attempt).
  DecodingOptions decode_options;
  decode_options.task = options.task;
  decode_options.language = NormalizeLanguage(options.language);  // empty validates as "en"
  decode_options.length_penalty = options.length_penalty;
  decode_options.sample_len = options.sample_len;
  decode_options.suppress_tokens = options.suppress_tokens;
  decode_options.suppress_blank = options.suppress_blank;
  decode_options.without_timestamps = options.without_timestamps;
  decode_options.max_initial_timestamp = options.max_initial_timestamp;
  // Validate the options once, before the first (expensive) encoder pass.
  if (Result<DecodingPlan> plan = PlanDecoding(decode_options, tokenizer, hp); !plan.ok()) return plan.status();

  TranscriptionResult out;
  WindowDecoder decoder(weights, tokenizer, ctx, MakeBatchedDecoderRows(weights, ctx));
  std::vector<float> window(static_cast<size_t>(hp.n_mels) * kWindowFrames);
  Result<std::string> language = ResolveLanguage(options, tokenizer, mel, &decoder, &window, &out);
  if (!language.ok()) return language.status();
  decode_options.language = language.value();
  out.language = language.value();

  AlignmentModel alignment_model;
  WordTimestampOptions word_options;
  if (options.word_timestamps) {
    alignment_model.weights = &weights;
    alignment_model.ctx = ctx;
    alignment_model.heads = ResolveAlignmentHeads(metadata ? *metadata : ModelMetadata{}, hp);
    word_options.language = language.value();
    word_options.task = options.task;
    word_options.prepend_punctuations = options.prepend_punctuations;
    word_options.append_punctuations = options.append_punctuations;
  }
  double last_speech_timestamp = 0.0;

  const int timestamp_begin = tokenizer.timestamp_begin();
  const int64_t content_frames = mel.content_frames();
  // initial_prompt_tokens = tokenizer.encode(" " + initial_prompt.strip())
  std::vector<int> initial_prompt_tokens;
  if (!options.initial_prompt.empty()) {
    initial_prompt_tokens = tokenizer.Encode(" " + std::string(StripPythonWhitespace(options.initial_prompt)));
  }
  TranscribeState state = TranscribeState::Start(options, initial_prompt_tokens, content_frames);

  while (state.NextWindow()) {
    const int64_t seek = state.seek;
    const double time_offset = FramesToSeconds(seek);
    const int64_t segment_size = state.WindowFrames(content_frames);
    if (segment_size <= 0) break;  // a clip that starts after the audio ends
    // mel[:, seek:seek + segment_size] padded with zeros to N_FRAMES.
    mel.Window(seek, segment_size, window.data());
    decoder.EncodeWindow(window.data());
    decode_options.prompt = state.Prompt(options.carry_initial_prompt, hp.n_text_ctx);

    Result<DecodingResult> decoded = DecodeWithFallback(&decoder, decode_options, options, &state.rng);
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
        state.seek += segment_size;  // fast-forward to the next segment boundary
        continue;
      }
    }

    WindowSegmentation window_segments = SegmentWindowTokens(result.tokens, timestamp_begin, time_offset, segment_size);
    std::vector<Segment> current_segments;
    for (WindowSegment& ws : window_segments.segments) {
      Segment segment;
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
      current_segments.push_back(std::move(segment));
    }
    // Under ApplyTimestampRules the last pair's timestamp is always > 0, so the advance is
    // positive; without_timestamps gives no pairs (advance = segment_size). The guard only
    // keeps a pathological token stream from looping forever.
    state.seek += window_segments.seek_advance > 0 ? window_segments.seek_advance : segment_size;

    if (options.word_timestamps) {
      alignment_model.state = decoder.window_state();
      WISP_RETURN_IF_ERROR(AddWordTimestamps(current_segments, tokenizer, alignment_model, static_cast<int>(segment_size),
                                             last_speech_timestamp, word_options));
      std::optional<double> last_word_end = LastWordEnd(current_segments);
      if (!window_segments.single_timestamp_ending && last_word_end && *last_word_end > time_offset) {
        state.seek = static_cast<int64_t>(std::nearbyint(*last_word_end * 100.0));  // round(): half to even
      }
      if (options.hallucination_silence_threshold) {
        const HallucinationWindow window_numbers{seek, segment_size, content_frames,
                                                 window_segments.single_timestamp_ending, last_speech_timestamp};
        const HallucinationVerdict verdict = SkipHallucinationSilences(
            current_segments, window_numbers, *options.hallucination_silence_threshold, state.seek);
        state.seek = verdict.seek;
        if (verdict.skip_window) continue;  // as the official: no segments, no prompt update
        current_segments.resize(verdict.keep_segments);
        last_word_end = LastWordEnd(current_segments);
      }
      if (last_word_end) last_speech_timestamp = *last_word_end;
    }

    for (Segment& segment : current_segments) {
      segment.id = static_cast<int>(out.segments.size());
      // "if a segment is instantaneous or does not contain text, clear it": it stays in the
      // list, and its (now empty) tokens are all it contributes to the prompt.
      if (segment.start == segment.end || StripPythonWhitespace(segment.text).empty()) {
        segment.text.clear();
        segment.tokens.clear();
        segment.words.clear();
      }
      state.all_tokens.insert(state.all_tokens.end(), segment.tokens.begin(), segment.tokens.end());
      if (options.on_segment) options.on_segment(segment);
      out.segments.push_back(std::move(segment));
    }
    state.FinishWindow(result.temperature, options.condition_on_previous_text);
  }

  const std::vector<int>& all_tokens = state.all_tokens;
  // tokenizer.decode(all_tokens[len(initial_prompt_tokens):]): timestamps dropped, other
  // specials (none survive the default suppression) as text.
  const std::vector<int> spoken(all_tokens.begin() + initial_prompt_tokens.size(), all_tokens.end());
  out.text = ReplaceInvalidUtf8(tokenizer.DecodeWithSpecials(spoken));
  return out;
}

}  // namespace wisp
