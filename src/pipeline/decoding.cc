#include "pipeline/decoding.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#include "pipeline/text_metrics.h"

namespace wisp {

std::vector<int> BuildInitialTokens(const std::vector<int>& prompt, const std::vector<int>& sot_sequence,
                                    int sot_prev, int n_text_ctx) {
  std::vector<int> tokens;
  if (!prompt.empty()) {  // `if prompt := self.options.prompt`: an empty list adds nothing
    // prompt_tokens[-(n_ctx // 2 - 1):]
    const size_t keep = std::min(prompt.size(), static_cast<size_t>(std::max(n_text_ctx / 2 - 1, 0)));
    tokens.push_back(sot_prev);
    tokens.insert(tokens.end(), prompt.end() - keep, prompt.end());
  }
  tokens.insert(tokens.end(), sot_sequence.begin(), sot_sequence.end());
  return tokens;
}

int SelectNextToken(std::span<const float> logits, double temperature, std::mt19937_64* rng) {
  if (temperature == 0.0 || rng == nullptr) {
    // torch.argmax returns the first index of the maximum.
    return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  // Categorical(logits=logits / T).sample(): softmax in double, then inverse-CDF sampling.
  float max_logit = -std::numeric_limits<float>::infinity();
  for (float v : logits) max_logit = std::max(max_logit, v);
  std::vector<double> cumulative(logits.size());
  double total = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) {
    total += std::exp((static_cast<double>(logits[i]) - max_logit) / temperature);
    cumulative[i] = total;
  }
  const double u = std::uniform_real_distribution<double>(0.0, total)(*rng);
  const size_t index = std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin();
  // u < total, so index < size unless rounding put u at the very top: take the last token with
  // nonzero probability then.
  if (index < logits.size()) return static_cast<int>(index);
  for (size_t i = logits.size(); i-- > 0;) {
    if (logits[i] != -std::numeric_limits<float>::infinity()) return static_cast<int>(i);
  }
  return 0;
}

Result<DecodingPlan> PlanDecoding(const DecodingOptions& options, const Tokenizer& tokenizer,
                                  const HParams& hparams) {
  const std::string language = options.language.empty() ? "en" : options.language;
  if (options.task != "transcribe" && options.task != "translate") {
    return InvalidArgument("unknown task '" + options.task + "' (expected transcribe or translate)");
  }
  if (tokenizer.multilingual()) {
    if (tokenizer.LanguageToken(language) < 0) {
      return InvalidArgument("unknown language '" + language + "' for this model (expected a code such as en, de, fr)");
    }
  } else {
    // openai-whisper silently ignores language and task for English-only models; asking one to
    // transcribe German or to translate is an error here instead of a surprise.
    if (language != "en") {
      return InvalidArgument("language '" + language + "' requested from an English-only (.en) model");
    }
    if (options.task == "translate") return InvalidArgument("task 'translate' needs a multilingual model");
  }
  const int n_ctx = hparams.n_text_ctx;
  if (options.sample_len < 0 || options.sample_len > n_ctx) {
    return InvalidArgument("sample_len " + std::to_string(options.sample_len) + " is outside [0, n_text_ctx = " +
                           std::to_string(n_ctx) + "]");
  }

  DecodingPlan plan;
  std::vector<int> sot_sequence = tokenizer.SotSequence(language, options.task);
  if (sot_sequence.empty()) return InvalidArgument("no start-of-transcript sequence for language '" + language + "'");
  if (options.without_timestamps) sot_sequence.push_back(tokenizer.no_timestamps());
  plan.initial_tokens = BuildInitialTokens(options.prompt, sot_sequence, tokenizer.sot_prev(), n_ctx);
  plan.sample_begin = static_cast<int>(plan.initial_tokens.size());
  plan.sot_index = static_cast<int>(
      std::find(plan.initial_tokens.begin(), plan.initial_tokens.end(), tokenizer.sot()) - plan.initial_tokens.begin());
  plan.sample_len = options.sample_len > 0 ? options.sample_len : n_ctx / 2;

  const SpecialTokenIds ids = SpecialTokenIdsOf(tokenizer);
  Result<std::vector<int>> suppress = ParseSuppressTokens(options.suppress_tokens, tokenizer.NonSpeechTokens(), ids);
  if (!suppress.ok()) return suppress.status();
  plan.filters = MakeLogitFilters(ids, plan.sample_begin, options.suppress_blank, tokenizer.Encode(" "),
                                  std::move(suppress.value()), options.without_timestamps,
                                  MaxInitialTimestampIndex(options.max_initial_timestamp, hparams.n_audio_ctx));
  return plan;
}

WindowDecoder::WindowDecoder(const ModelWeights& weights, const Tokenizer& tokenizer, const OpContext& ctx)
    : weights_(weights), tokenizer_(tokenizer), ctx_(ctx), ids_(SpecialTokenIdsOf(tokenizer)) {
  const HParams& hp = weights.hparams;
  InitDecoderState(hp, &state_);
  audio_features_.resize(static_cast<size_t>(hp.n_audio_ctx) * hp.n_audio_state);
  logits_.resize(hp.n_vocab);
  logprobs_.resize(hp.n_vocab);
}

void WindowDecoder::EncodeWindow(const float* mel_window) {
  // Sections for `wisp profile`: the cross-attention K/V count as decoder work (as in the
  // ExecuTorch seed report, whose decoder computes them).
  if (ctx_.profiler) ctx_.profiler->BeginCall("encoder");
  RunEncoder(weights_, ctx_, mel_window, &encoder_scratch_, audio_features_.data());
  if (ctx_.profiler) ctx_.profiler->SetSection("decoder");
  SetAudioFeatures(weights_, ctx_, audio_features_.data(), &state_);
  has_window_ = true;
}

void WindowDecoder::Forward(const int* tokens, int n_tokens) {
  static_assert(sizeof(int) == sizeof(int32_t));
  if (ctx_.profiler) ctx_.profiler->BeginCall("decoder");
  RunDecoder(weights_, ctx_, &state_, reinterpret_cast<const int32_t*>(tokens), n_tokens, /*all_logits=*/false,
             logits_.data());
}

Result<DecodingResult> WindowDecoder::Decode(const DecodingOptions& options, std::mt19937_64* rng) {
  assert(has_window_ && "EncodeWindow before Decode");
  const HParams& hp = weights_.hparams;
  Result<DecodingPlan> planned = PlanDecoding(options, tokenizer_, hp);
  if (!planned.ok()) return planned.status();
  const DecodingPlan& plan = planned.value();
  if (options.temperature > 0 && rng == nullptr) {
    return InvalidArgument("sampling at temperature > 0 needs a random generator");
  }

  std::vector<int> tokens = plan.initial_tokens;
  state_.n_past = 0;  // a fresh sequence over the same window's cross-attention K/V

  // The first forward pass covers all initial tokens; no_speech_prob is read at the sot
  // position. Splitting the pass after sot costs nothing extra (the KV cache continues) and
  // avoids computing logits for every initial position.
  double no_speech_prob = std::numeric_limits<double>::quiet_NaN();
  const int n_initial = static_cast<int>(tokens.size());
  const int n_through_sot = plan.sot_index + 1;
  Forward(tokens.data(), n_through_sot);
  {
    // probs_at_sot = logits[:, sot_index].float().softmax(-1); the value is a float32.
    float max_logit = -std::numeric_limits<float>::infinity();
    for (float v : logits_) max_logit = std::max(max_logit, v);
    double sum = 0.0;
    for (float v : logits_) sum += std::exp(static_cast<double>(v - max_logit));
    const float p = static_cast<float>(std::exp(static_cast<double>(logits_[ids_.no_speech] - max_logit)) / sum);
    no_speech_prob = p;
  }
  if (n_through_sot < n_initial) Forward(tokens.data() + n_through_sot, n_initial - n_through_sot);

  // GreedyDecoder keeps sum_logprobs in a float32 tensor.
  float sum_logprobs = 0.0f;
  for (int i = 0; i < plan.sample_len; ++i) {
    if (i > 0) Forward(&tokens.back(), 1);
    for (const auto& filter : plan.filters) filter->Apply(logits_, tokens);
    const int next = SelectNextToken(logits_, options.temperature, rng);
    // The log-probability is taken from the filtered logits (F.log_softmax(logits.float())).
    LogSoftmaxFloat32(logits_, logprobs_.data());
    sum_logprobs += logprobs_[next];
    tokens.push_back(next);
    // `if completed or tokens.shape[-1] > self.n_ctx: break`: the token that overflows the
    // context is kept but never fed back.
    if (next == ids_.eot || static_cast<int>(tokens.size()) > hp.n_text_ctx) break;
  }

  DecodingResult result;
  result.language = tokenizer_.multilingual() ? (options.language.empty() ? "en" : options.language) : "en";
  // t[sample_begin : first eot] (finalize pads an eot when none was sampled).
  auto sampled_end = std::find(tokens.begin() + plan.sample_begin, tokens.end(), ids_.eot);
  result.tokens.assign(tokens.begin() + plan.sample_begin, sampled_end);
  // Tokenizer.decode shows specials other than timestamps as text; python turns the bytes into
  // a str with errors="replace" before strip().
  result.text = std::string(StripPythonWhitespace(ReplaceInvalidUtf8(tokenizer_.DecodeWithSpecials(result.tokens))));
  // avg_logprob = sum_logprobs / (len(tokens) + 1) (MaximumLikelihoodRanker with no length
  // penalty), in double after .tolist().
  result.avg_logprob = static_cast<double>(sum_logprobs) / static_cast<double>(result.tokens.size() + 1);
  result.no_speech_prob = no_speech_prob;
  result.temperature = options.temperature;
  result.compression_ratio = CompressionRatio(result.text);
  return result;
}

Result<std::string> WindowDecoder::DetectLanguage() {
  assert(has_window_ && "EncodeWindow before DetectLanguage");
  if (!tokenizer_.multilingual()) return InvalidArgument("an English-only model cannot detect the language");
  state_.n_past = 0;
  const int sot = ids_.sot;
  Forward(&sot, 1);
  // All non-language tokens are masked; the argmax over the rest (first maximum on ties).
  int best = -1;
  for (int token : tokenizer_.AllLanguageTokens()) {
    if (best < 0 || logits_[token] > logits_[best]) best = token;
  }
  state_.n_past = 0;
  if (best < 0) return InvalidArgument("the vocabulary has no language tokens");
  return tokenizer_.LanguageCode(best);
}

}  // namespace wisp
