#include "pipeline/transcription_run.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "model/decoder_batch.h"
#include "pipeline/decoder_rows.h"
#include "pipeline/hallucination_filter.h"
#include "pipeline/languages.h"
#include "pipeline/segments.h"
#include "pipeline/text_metrics.h"

namespace wisp {
namespace {

bool Enabled(double threshold) { return !std::isnan(threshold); }

// No voice activity: the window is skipped when no_speech_prob is high, unless the decode was
// confident anyway (transcribe()'s should_skip).
bool SkipsAsNoSpeech(const DecodingResult& result, const TranscribeOptions& options) {
  if (!Enabled(options.no_speech_threshold)) return false;
  bool should_skip = result.no_speech_prob > options.no_speech_threshold;
  if (Enabled(options.logprob_threshold) && result.avg_logprob > options.logprob_threshold) should_skip = false;
  return should_skip;
}

constexpr int64_t kUnknownFrames = std::numeric_limits<int64_t>::max();

}  // namespace

TranscriptionRun::TranscriptionRun(const ModelWeights& weights, const Tokenizer& tokenizer, const OpContext& ctx,
                                   const TranscribeOptions& options, const ModelMetadata* metadata)
    : weights_(weights), tokenizer_(tokenizer), ctx_(ctx), options_(options), metadata_(metadata) {}

TranscriptionRun::~TranscriptionRun() = default;

Result<std::unique_ptr<TranscriptionRun>> TranscriptionRun::Start(const ModelWeights& weights,
                                                                  const Tokenizer& tokenizer, const OpContext& ctx,
                                                                  const TranscribeOptions& options,
                                                                  const ModelMetadata* metadata,
                                                                  int64_t content_frames) {
  const HParams& hp = weights.hparams;
  WISP_RETURN_IF_ERROR(options.ValidateForModel(tokenizer));
  std::unique_ptr<TranscriptionRun> run(new TranscriptionRun(weights, tokenizer, ctx, options, metadata));

  // Every window's options but temperature, prompt and the group (set per attempt).
  DecodingOptions& d = run->decode_options_;
  d.task = options.task;
  d.language = NormalizeLanguage(options.language);  // empty validates as "en"
  d.length_penalty = options.length_penalty;
  d.sample_len = options.sample_len;
  d.suppress_tokens = options.suppress_tokens;
  d.suppress_blank = options.suppress_blank;
  d.without_timestamps = options.without_timestamps;
  d.max_initial_timestamp = options.max_initial_timestamp;
  // Validate the options once, before the first (expensive) encoder pass.
  if (Result<DecodingPlan> plan = PlanDecoding(d, tokenizer, hp); !plan.ok()) return plan.status();

  run->decoder_ = std::make_unique<WindowDecoder>(weights, tokenizer, ctx, MakeBatchedDecoderRows(weights, ctx));
  run->window_.resize(static_cast<size_t>(hp.n_mels) * kWindowFrames);
  // initial_prompt_tokens = tokenizer.encode(" " + initial_prompt.strip())
  if (!options.initial_prompt.empty()) {
    run->initial_prompt_tokens_ = tokenizer.Encode(" " + std::string(StripPythonWhitespace(options.initial_prompt)));
  }
  run->known_content_frames_ = content_frames;
  run->state_ = TranscribeState::Start(options, run->initial_prompt_tokens_,
                                       content_frames >= 0 ? content_frames : kUnknownFrames);
  return run;
}

int64_t TranscriptionRun::first_needed_frame() const {
  // Language detection reads frames from 0 on; once every clip is done nothing is read again.
  if (!language_resolved_) return 0;
  return windows_done_ ? kUnknownFrames : state_.seek;
}

// The language decode() will use. A given code or name is normalised to its code; an empty one
// is "en" on an English-only model and otherwise detected from pad_or_trim(mel, N_FRAMES): the
// first 30 s of the padded spectrogram, among the candidates when there are any.
Status TranscriptionRun::ResolveLanguage(const LogMelSpectrogram& mel) {
  std::string language;
  if (!options_.language.empty()) {
    language = NormalizeLanguage(options_.language);
  } else if (!tokenizer_.multilingual()) {
    language = "en";
  } else {
    mel.Window(0, std::min<int64_t>(kWindowFrames, mel.total_frames()), window_.data());
    decoder_->EncodeWindow(window_.data());
    std::vector<std::string> candidates;
    for (const std::string& c : options_.language_candidates) candidates.push_back(NormalizeLanguage(c));
    Result<LanguageDetection> detected = decoder_->DetectLanguage(candidates);
    if (!detected.ok()) return detected.status();
    out_.language_probs = std::move(detected->probs);
    language = detected->language;
  }
  decode_options_.language = language;
  out_.language = language;
  if (options_.word_timestamps) {
    alignment_model_.weights = &weights_;
    alignment_model_.ctx = ctx_;
    alignment_model_.heads = ResolveAlignmentHeads(metadata_ ? *metadata_ : ModelMetadata{}, weights_.hparams);
    word_options_.language = language;
    word_options_.task = options_.task;
    word_options_.prepend_punctuations = options_.prepend_punctuations;
    word_options_.append_punctuations = options_.append_punctuations;
  }
  language_resolved_ = true;
  if (options_.on_language) options_.on_language(language, out_.language_probs);
  return Status::Ok();
}

Status TranscriptionRun::Advance(const LogMelSpectrogram& mel, bool ended) {
  if (done_) return Status::Ok();
  if (mel.n_mels() != weights_.hparams.n_mels) {
    return InvalidArgument("the spectrogram has " + std::to_string(mel.n_mels()) + " mel bands, the model expects " +
                           std::to_string(weights_.hparams.n_mels));
  }
  if (!language_resolved_) {
    // The detection window is the padded spectrogram's first 30 s: wait for them (or the end).
    if (!ended && mel.total_frames() < kWindowFrames) return Status::Ok();
    WISP_RETURN_IF_ERROR(ResolveLanguage(mel));
  }
  const int64_t content_frames =
      ended ? mel.content_frames() : (known_content_frames_ >= 0 ? known_content_frames_ : kUnknownFrames);
  // An odd clip_timestamps list ends at the audio's end, known now.
  if (ended) {
    for (auto& clip : state_.clips) {
      if (clip.second == kUnknownFrames) clip.second = content_frames;
    }
  }
  const double total_seconds = content_frames == kUnknownFrames ? -1.0 : FramesToSeconds(content_frames);
  while (state_.NextWindow()) {
    const int64_t segment_size = state_.WindowFrames(content_frames);
    if (segment_size <= 0) break;  // a clip that starts after the audio ends
    if (!ended && state_.seek + segment_size > mel.total_frames()) return Status::Ok();  // wait for frames
    if (options_.cancel && options_.cancel->load(std::memory_order_relaxed)) {
      return Cancelled("transcription cancelled at " + std::to_string(FramesToSeconds(state_.seek)) + " s");
    }
    if (options_.on_progress) options_.on_progress(FramesToSeconds(state_.seek), total_seconds);
    WISP_RETURN_IF_ERROR(DecodeWindow(mel, segment_size, content_frames));
  }
  windows_done_ = true;  // every clip decoded, or the rest starts after the audio's end
  if (!ended) return Status::Ok();
  done_ = true;
  if (options_.on_progress) options_.on_progress(total_seconds, total_seconds);
  return Status::Ok();
}

Status TranscriptionRun::DecodeWindow(const LogMelSpectrogram& mel, int64_t segment_size, int64_t content_frames) {
  const HParams& hp = weights_.hparams;
  const int timestamp_begin = tokenizer_.timestamp_begin();
  const int64_t seek = state_.seek;
  const double time_offset = FramesToSeconds(seek);
  // mel[:, seek:seek + segment_size] padded with zeros to N_FRAMES.
  mel.Window(seek, segment_size, window_.data());
  // A window with less than 30 s of audio may be encoded on fewer positions (opt-in): its
  // audio with some of its padding, and the window's last positions.
  const AudioContext audio_ctx = options_.short_audio
                                     ? ShortAudioContext(segment_size, hp.n_audio_ctx, options_.short_audio_rule)
                                     : AudioContext{hp.n_audio_ctx, 0};
  decoder_->EncodeWindow(window_.data(), audio_ctx.head, audio_ctx.tail);
  decode_options_.prompt = state_.Prompt(options_.carry_initial_prompt, hp.n_text_ctx);

  const std::mt19937_64 rng_before = state_.rng;  // the full-window retry draws what it would have
  Result<DecodingResult> decoded = DecodeWithFallback(decoder_.get(), decode_options_, options_, &state_.rng);
  if (!decoded.ok()) return decoded.status();
  // The short window's confidence check: a text token sampled below the rule's probability means the
  // model was unsure, which is where a shortened context changes the transcript. Encode and decode
  // the window again on all positions: the full window's tokens, at the full window's cost.
  // A window the no-speech rule skips keeps the short decode: no text of it is kept.
  const double fallback_prob = options_.short_audio_rule.fallback_prob;
  out_.short_audio_windows += audio_ctx.total() < hp.n_audio_ctx;
  if (audio_ctx.total() < hp.n_audio_ctx && fallback_prob > 0.0 && !SkipsAsNoSpeech(*decoded, options_) &&
      decoded->min_token_logprob < std::log(fallback_prob)) {
    ++out_.short_audio_fallbacks;
    decoder_->EncodeWindow(window_.data());
    state_.rng = rng_before;
    decoded = DecodeWithFallback(decoder_.get(), decode_options_, options_, &state_.rng);
    if (!decoded.ok()) return decoded.status();
  }
  const DecodingResult& result = decoded.value();

  if (SkipsAsNoSpeech(result, options_)) {
    state_.seek += segment_size;  // fast-forward to the next segment boundary
    return Status::Ok();
  }

  WindowSegmentation window_segments = SegmentWindowTokens(result.tokens, timestamp_begin, time_offset, segment_size);
  std::vector<Segment> current_segments;
  for (WindowSegment& ws : window_segments.segments) {
    Segment segment;
    segment.seek = static_cast<int>(seek);  // the window's seek, before it advances
    segment.start = ws.start;
    segment.end = ws.end;
    // tokenizer.decode([t for t in tokens if t < eot]) as a python str.
    segment.text = ReplaceInvalidUtf8(tokenizer_.Decode(ws.tokens));
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
  state_.seek += window_segments.seek_advance > 0 ? window_segments.seek_advance : segment_size;

  if (options_.word_timestamps) {
    alignment_model_.state = decoder_->window_state();
    WISP_RETURN_IF_ERROR(AddWordTimestamps(current_segments, tokenizer_, alignment_model_,
                                           static_cast<int>(segment_size), last_speech_timestamp_, word_options_));
    std::optional<double> last_word_end = LastWordEnd(current_segments);
    if (!window_segments.single_timestamp_ending && last_word_end && *last_word_end > time_offset) {
      state_.seek = static_cast<int64_t>(std::nearbyint(*last_word_end * 100.0));  // round(): half to even
    }
    if (options_.hallucination_silence_threshold) {
      const HallucinationWindow window_numbers{seek, segment_size, content_frames,
                                               window_segments.single_timestamp_ending, last_speech_timestamp_};
      const HallucinationVerdict verdict = SkipHallucinationSilences(
          current_segments, window_numbers, *options_.hallucination_silence_threshold, state_.seek);
      state_.seek = verdict.seek;
      if (verdict.skip_window) return Status::Ok();  // as the official: no segments, no prompt update
      current_segments.resize(verdict.keep_segments);
      last_word_end = LastWordEnd(current_segments);
    }
    if (last_word_end) last_speech_timestamp_ = *last_word_end;
  }

  for (Segment& segment : current_segments) {
    segment.id = static_cast<int>(out_.segments.size());
    // "if a segment is instantaneous or does not contain text, clear it": it stays in the
    // list, and its (now empty) tokens are all it contributes to the prompt.
    if (segment.start == segment.end || StripPythonWhitespace(segment.text).empty()) {
      segment.text.clear();
      segment.tokens.clear();
      segment.words.clear();
    }
    state_.all_tokens.insert(state_.all_tokens.end(), segment.tokens.begin(), segment.tokens.end());
    if (options_.on_segment) options_.on_segment(segment);
    out_.segments.push_back(std::move(segment));
  }
  state_.FinishWindow(result.temperature, options_.condition_on_previous_text);
  return Status::Ok();
}

TranscriptionResult TranscriptionRun::Finish() {
  const std::vector<int>& all_tokens = state_.all_tokens;
  // tokenizer.decode(all_tokens[len(initial_prompt_tokens):]): timestamps dropped, other
  // specials (none survive the default suppression) as text.
  const std::vector<int> spoken(all_tokens.begin() + initial_prompt_tokens_.size(), all_tokens.end());
  out_.text = ReplaceInvalidUtf8(tokenizer_.DecodeWithSpecials(spoken));
  return std::move(out_);
}

}  // namespace wisp
