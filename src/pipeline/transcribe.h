// openai-whisper's transcribe() (v20250625) at a fixed temperature: 30-s windows, seeking by
// timestamp tokens, segments with start/end and the official statistics. Not reproduced:
// word_timestamps (and so hallucination_silence_threshold, which needs them), clip_timestamps
// other than the default whole file, beam search and best_of.
#pragma once
#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "audio/mel.h"
#include "model/weights.h"
#include "ops/ops.h"
#include "pipeline/decoding.h"
#include "pipeline/tokenizer.h"
#include "util/status.h"

namespace wisp {

// One entry of a segment's "words" (word_timestamps=True, pipeline/word_timestamps.h): the word
// as decoded (leading space included), start/end in seconds rounded to 0.01, and the mean
// probability of its tokens.
struct Word {
  std::string word;
  double start = 0, end = 0;
  double probability = 0;
  // One heuristic of the official sets start to max(0, ...), which is the python int 0 when the
  // other value is not positive; json.dump then writes "0", not "0.0".
  bool start_is_int_zero = false;
};

// One entry of the official result["segments"]. A segment of zero duration or blank text keeps
// its place (and id) with text "" and no tokens, as the official clears rather than removes it.
struct Segment {
  int id = 0;
  int seek = 0;  // frame offset of the window that produced it
  double start = 0, end = 0;
  std::string text;
  std::vector<int> tokens;
  double temperature = 0;
  double avg_logprob = 0;
  double compression_ratio = 0;
  double no_speech_prob = 0;
  std::vector<Word> words;  // filled only with word timestamps
};

struct TranscriptionResult {
  std::string text;
  std::string language;
  std::vector<Segment> segments;
};

struct TranscribeOptions {
  // Code as in whisper's LANGUAGES ("en", "de", ...). Empty: detected from the first 30 s on a
  // multilingual model (openai-whisper's language=None), "en" on an English-only one.
  std::string language = "en";
  std::string task = "transcribe";  // or "translate"
  double temperature = 0.0;
  bool without_timestamps = false;
  bool condition_on_previous_text = true;
  bool suppress_blank = true;
  std::string suppress_tokens = "-1";  // comma-separated ids; -1 = the non-speech set
  double max_initial_timestamp = 1.0;
  int sample_len = 0;  // 0: n_text_ctx / 2 (224)
  std::string initial_prompt;  // empty: none (python's None; an empty python string is not reproduced)
  bool carry_initial_prompt = false;  // prepend the initial prompt to every window's prompt
  // The thresholds; NaN disables one (python's None).
  double compression_ratio_threshold = 2.4;
  double logprob_threshold = -1.0;
  double no_speech_threshold = 0.6;
  uint64_t seed = 0;  // of the generator that samples at temperature > 0
  // Called with every segment as soon as its window is decoded (the official verbose print).
  std::function<void(const Segment&)> on_segment;
};

// Errors: a spectrogram whose n_mels differs from the model's, a negative temperature, and the
// option errors of PlanDecoding (unknown language code or task, language other than "en" or
// translate on an English-only model, sample_len outside [0, n_text_ctx], bad suppress_tokens).
Result<TranscriptionResult> Transcribe(const ModelWeights& weights, const Tokenizer& tokenizer,
                                       const OpContext& ctx, const LogMelSpectrogram& mel,
                                       const TranscribeOptions& options);

// transcribe()'s decode_with_fallback on the window the decoder holds: decodes at each
// temperature in turn until the result is neither too repetitive (compression ratio above its
// threshold) nor too improbable (avg_logprob below its threshold), a likely-silent window
// (no_speech_prob above its threshold with a low avg_logprob) never counting as a failure.
// Transcribe passes the single temperature of its options.
Result<DecodingResult> DecodeWithFallback(WindowDecoder* decoder, const DecodingOptions& base_options,
                                          std::span<const double> temperatures, const TranscribeOptions& thresholds,
                                          std::mt19937_64* rng);

}  // namespace wisp
