// One 30-s window decoded as openai-whisper's DecodingTask does: initial tokens, the logit
// filters, a group of rows (best_of samples at T > 0, one greedy row at T = 0, beam_size beams
// once beam search lands) driven by a TokenDecoder, the MaximumLikelihoodRanker's choice among
// the candidates, and the DecodingResult statistics.
#pragma once
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "model/decoder.h"
#include "model/encoder.h"
#include "model/weights.h"
#include "ops/ops.h"
#include "pipeline/decoder_rows.h"
#include "pipeline/logit_filters.h"
#include "pipeline/token_decoder.h"
#include "pipeline/tokenizer.h"
#include "util/status.h"

namespace wisp {

// openai-whisper's DecodingOptions for one window (no prefix, fp16 or lang_id task).
struct DecodingOptions {
  std::string task = "transcribe";
  std::string language = "en";  // a code; empty: "en" (DecodingTask: options.language or "en")
  double temperature = 0.0;
  std::optional<int> best_of;            // rows sampled at T > 0 (unset: 1)
  std::optional<int> beam_size;          // beams at T = 0 (not implemented yet)
  std::optional<double> patience;
  std::optional<double> length_penalty;  // of the MaximumLikelihoodRanker
  int sample_len = 0;  // 0: n_text_ctx / 2
  std::vector<int> prompt;  // previous-context tokens; only the last n_text_ctx / 2 - 1 are used
  std::string suppress_tokens = "-1";
  bool suppress_blank = true;
  bool without_timestamps = false;
  double max_initial_timestamp = 1.0;  // seconds; 0 disables the limit
};

struct DecodingResult {
  std::string language;
  std::vector<int> tokens;  // sampled tokens, up to (excluding) the first eot
  std::string text;         // tokenizer.decode(tokens).strip(), valid UTF-8
  double avg_logprob = 0;
  double min_token_logprob = 0;  // the least probable sampled text token's (DecodingRow::min_logprob)
  double no_speech_prob = 0;
  double temperature = 0;
  double compression_ratio = 0;
};

// DecodingTask._get_initial_tokens without a prefix: [sot_prev] + the last n_text_ctx / 2 - 1
// prompt tokens (only if the prompt is non-empty), then the sot sequence.
std::vector<int> BuildInitialTokens(const std::vector<int>& prompt, const std::vector<int>& sot_sequence,
                                    int sot_prev, int n_text_ctx);

// Everything a decode of one window needs that follows from the options alone; validated once
// so errors surface before any model work.
struct DecodingPlan {
  std::vector<int> initial_tokens;
  int sample_begin = 0;  // len(initial_tokens)
  int sot_index = 0;     // initial_tokens.index(sot)
  int sample_len = 0;
  int n_group = 1;       // beam_size or best_of or 1
  std::vector<std::unique_ptr<LogitFilter>> filters;
};

// Errors: unknown language for this vocabulary, a language other than "en" or the translate task
// on an English-only model, an unknown task, sample_len outside [0, n_text_ctx], bad
// suppress_tokens, and DecodingTask._verify_options' refusals: beam_size with best_of, best_of at
// temperature 0, patience without beam_size, length_penalty outside [0, 1]; beam search itself is
// refused as not yet implemented.
Result<DecodingPlan> PlanDecoding(const DecodingOptions& options, const Tokenizer& tokenizer,
                                  const HParams& hparams);

// detect_language's outcome: the most probable language and every candidate's probability
// (softmax over the language tokens' logits after <|startoftranscript|>), in token order.
struct LanguageDetection {
  std::string language;
  std::vector<std::pair<std::string, double>> probs;
};

// Per-stream decoding state over shared weights: the encoder output of the current window, the
// decoder rows' KV caches and scratch. Not thread-safe; one per concurrent stream.
class WindowDecoder {
 public:
  // rows: the model side (null: MakeSingleRowDecoder). Groups wider than rows->max_rows() are
  // decoded one row at a time when the decoder's rows are independent (sampling).
  WindowDecoder(const ModelWeights& weights, const Tokenizer& tokenizer, const OpContext& ctx,
                std::unique_ptr<DecoderRows> rows = nullptr);

  // Runs the encoder on an (n_mels, 3000) window; every Decode / DetectLanguage call until the
  // next EncodeWindow decodes this window. head_ctx, tail_ctx: the positions the encoder keeps
  // and the cross-attention reads (RunEncoder; 0, 0 = all hp.n_audio_ctx). The timestamp rules
  // keep the model's 0.02-s precision whatever the context is.
  void EncodeWindow(const float* mel_window, int head_ctx = 0, int tail_ctx = 0);

  // DecodingTask.run for the current window at options.temperature. At T > 0 every row samples
  // from its own generator seeded by one draw from rng (may be null at T = 0).
  Result<DecodingResult> Decode(const DecodingOptions& options, std::mt19937_64* rng);

  // openai-whisper's detect_language on the current window: the language tokens' softmax after
  // <|startoftranscript|>, restricted to candidates (codes) when not empty. Requires a
  // multilingual model.
  Result<LanguageDetection> DetectLanguage(const std::vector<std::string>& candidates = {});

  // The decoder state holding the current window's cross-attention K/V (word timestamps'
  // alignment pass, pipeline/word_timestamps.h). Valid until the next EncodeWindow / Decode.
  DecoderState* window_state() { return rows_->window_state(); }

 private:
  // One group decode (DecodingTask._main_loop + finalize) of rows.size() rows.
  void RunRows(const DecodingPlan& plan, TokenDecoder* decoder, std::vector<DecodingRow>* rows,
               double* no_speech_prob);

  const ModelWeights& weights_;
  const Tokenizer& tokenizer_;
  OpContext ctx_;
  SpecialTokenIds ids_;
  std::unique_ptr<DecoderRows> rows_;
  EncoderScratch encoder_scratch_;
  std::vector<float> audio_features_;
  std::vector<float> logits_;  // n_rows x n_vocab
  bool has_window_ = false;
};

}  // namespace wisp
