// One 30-s window decoded as openai-whisper's DecodingTask does with the greedy decoder (no
// beam search, no best_of): initial tokens, the logit filters, argmax at temperature 0 or a
// sample from softmax(logits / T) otherwise, and the DecodingResult statistics.
#pragma once
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "model/decoder.h"
#include "model/encoder.h"
#include "model/weights.h"
#include "ops/ops.h"
#include "pipeline/logit_filters.h"
#include "pipeline/tokenizer.h"
#include "util/status.h"

namespace wisp {

// The subset of openai-whisper's DecodingOptions a greedy decode uses.
struct DecodingOptions {
  std::string task = "transcribe";
  std::string language = "en";  // empty: "en" (DecodingTask: options.language or "en")
  double temperature = 0.0;
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
  double no_speech_prob = 0;
  double temperature = 0;
  double compression_ratio = 0;
};

// DecodingTask._get_initial_tokens without a prefix: [sot_prev] + the last n_text_ctx / 2 - 1
// prompt tokens (only if the prompt is non-empty), then the sot sequence.
std::vector<int> BuildInitialTokens(const std::vector<int>& prompt, const std::vector<int>& sot_sequence,
                                    int sot_prev, int n_text_ctx);

// GreedyDecoder's choice of the next token from filtered logits: the first maximum at
// temperature 0 (torch.argmax), else a draw from softmax(logits / temperature) using rng.
int SelectNextToken(std::span<const float> logits, double temperature, std::mt19937_64* rng);

// Everything a decode of one window needs that follows from the options alone; validated once
// so errors surface before any model work.
struct DecodingPlan {
  std::vector<int> initial_tokens;
  int sample_begin = 0;  // len(initial_tokens)
  int sot_index = 0;     // initial_tokens.index(sot)
  int sample_len = 0;
  std::vector<std::unique_ptr<LogitFilter>> filters;
};

// Errors: unknown language for this vocabulary, a language other than "en" or the translate task
// on an English-only model, an unknown task, sample_len outside [0, n_text_ctx], bad
// suppress_tokens.
Result<DecodingPlan> PlanDecoding(const DecodingOptions& options, const Tokenizer& tokenizer,
                                  const HParams& hparams);

// Per-stream decoding state over shared weights: the encoder output of the current window, the
// decoder's KV cache and scratch. Not thread-safe; one per concurrent stream.
class WindowDecoder {
 public:
  WindowDecoder(const ModelWeights& weights, const Tokenizer& tokenizer, const OpContext& ctx);

  // Runs the encoder on an (n_mels, 3000) window and the cross-attention projections; every
  // Decode / DetectLanguage call until the next EncodeWindow decodes this window.
  void EncodeWindow(const float* mel_window);

  // DecodingTask.run for the current window at options.temperature. rng is used only when the
  // temperature is > 0 (may be null at 0).
  Result<DecodingResult> Decode(const DecodingOptions& options, std::mt19937_64* rng);

  // openai-whisper's detect_language on the current window: the language token with the
  // highest logit after <|startoftranscript|>, as its code. Requires a multilingual model.
  Result<std::string> DetectLanguage();

 private:
  // Appends tokens to the KV cache and leaves the logits of the last one in logits_.
  void Forward(const int* tokens, int n_tokens);

  const ModelWeights& weights_;
  const Tokenizer& tokenizer_;
  OpContext ctx_;
  SpecialTokenIds ids_;
  EncoderScratch encoder_scratch_;
  DecoderState state_;
  std::vector<float> audio_features_;
  std::vector<float> logits_;
  std::vector<float> logprobs_;
  bool has_window_ = false;
};

}  // namespace wisp
