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
  // DecodingTask._verify_options.
  if (options.beam_size && options.best_of) return InvalidArgument("beam_size and best_of can't be given together");
  if (options.temperature == 0 && options.best_of) {
    return InvalidArgument("best_of with greedy sampling (T=0) is not compatible");
  }
  if (options.patience && !options.beam_size) return InvalidArgument("patience requires beam_size to be given");
  if (options.length_penalty && !(*options.length_penalty >= 0 && *options.length_penalty <= 1)) {
    return InvalidArgument("length_penalty (alpha) should be a value between 0 and 1");
  }
  if (options.best_of && *options.best_of < 1) return InvalidArgument("best_of must be >= 1");
  if (options.beam_size && *options.beam_size < 1) return InvalidArgument("beam_size must be >= 1");
  if (options.beam_size && options.patience && !(std::nearbyint(*options.beam_size * *options.patience) > 0)) {
    return InvalidArgument("Invalid beam size or patience: round(beam_size * patience) must be at least 1");
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
  plan.n_group = options.beam_size.value_or(options.best_of.value_or(1));

  const SpecialTokenIds ids = SpecialTokenIdsOf(tokenizer);
  Result<std::vector<int>> suppress = ParseSuppressTokens(options.suppress_tokens, tokenizer.NonSpeechTokens(), ids);
  if (!suppress.ok()) return suppress.status();
  plan.filters = MakeLogitFilters(ids, plan.sample_begin, options.suppress_blank, tokenizer.Encode(" "),
                                  std::move(suppress.value()), options.without_timestamps,
                                  MaxInitialTimestampIndex(options.max_initial_timestamp, hparams.n_audio_ctx));
  return plan;
}

WindowDecoder::WindowDecoder(const ModelWeights& weights, const Tokenizer& tokenizer, const OpContext& ctx,
                             std::unique_ptr<DecoderRows> rows)
    : weights_(weights),
      tokenizer_(tokenizer),
      ctx_(ctx),
      ids_(SpecialTokenIdsOf(tokenizer)),
      rows_(rows ? std::move(rows) : MakeSingleRowDecoder(weights, ctx)) {
  const HParams& hp = weights.hparams;
  audio_features_.resize(static_cast<size_t>(hp.n_audio_ctx) * hp.n_audio_state);
}

void WindowDecoder::EncodeWindow(const float* mel_window, int head_ctx, int tail_ctx) {
  const int full = weights_.hparams.n_audio_ctx;
  if (head_ctx == 0) head_ctx = full;
  assert(head_ctx >= 1 && tail_ctx >= 0 && head_ctx + tail_ctx <= full);
  const int n_ctx = head_ctx + tail_ctx;
  // Sections for `wisp profile`: the cross-attention K/V count as decoder work (as in the
  // ExecuTorch seed report, whose decoder computes them).
  if (ctx_.profiler) ctx_.profiler->BeginCall("encoder");
  RunEncoder(weights_, ctx_, mel_window, &encoder_scratch_, audio_features_.data(), head_ctx, tail_ctx);
  if (ctx_.profiler) ctx_.profiler->SetSection("decoder");
  rows_->SetWindow(audio_features_.data(), n_ctx);
  has_window_ = true;
}

void WindowDecoder::RunRows(const DecodingPlan& plan, TokenDecoder* decoder, std::vector<DecodingRow>* rows,
                            double* no_speech_prob) {
  const HParams& hp = weights_.hparams;
  const int n_rows = static_cast<int>(rows->size());
  const int n_vocab = hp.n_vocab;
  logits_.resize(static_cast<size_t>(n_rows) * n_vocab);
  rows_->Begin(n_rows);
  for (DecodingRow& row : *rows) row = DecodingRow{plan.initial_tokens, 0.0f};

  // The first forward pass covers all initial tokens; no_speech_prob is read at the sot
  // position. Splitting the pass after sot costs nothing extra (the KV cache continues) and
  // avoids computing logits for every initial position.
  std::vector<int> step_tokens;
  auto feed = [&](int begin, int count) {
    step_tokens.clear();
    for (const DecodingRow& row : *rows) {
      step_tokens.insert(step_tokens.end(), row.tokens.begin() + begin, row.tokens.begin() + begin + count);
    }
    rows_->Forward(step_tokens, count, logits_);
  };
  const int n_initial = static_cast<int>(plan.initial_tokens.size());
  const int n_through_sot = plan.sot_index + 1;
  feed(0, n_through_sot);
  // probs_at_sot = logits[:, sot_index].float().softmax(-1); the value is a float32, equal for
  // every row (same tokens, same window).
  *no_speech_prob = SoftmaxAtFloat32(std::span<const float>(logits_).first(n_vocab), ids_.no_speech);
  if (n_through_sot < n_initial) feed(n_through_sot, n_initial - n_through_sot);

  std::vector<int> source_rows(n_rows);
  for (int i = 0; i < plan.sample_len; ++i) {
    if (i > 0) feed(static_cast<int>((*rows)[0].tokens.size()) - 1, 1);
    for (int r = 0; r < n_rows; ++r) {
      const std::span<float> row_logits = std::span<float>(logits_).subspan(static_cast<size_t>(r) * n_vocab, n_vocab);
      for (const auto& filter : plan.filters) filter->Apply(row_logits, (*rows)[r].tokens);
    }
    for (int r = 0; r < n_rows; ++r) source_rows[r] = r;
    const bool completed = decoder->Update(logits_, n_vocab, rows, &source_rows);
    for (int r = 0; r < n_rows; ++r) {
      if (source_rows[r] != r) {
        rows_->Rearrange(source_rows);
        break;
      }
    }
    // `if completed or tokens.shape[-1] > self.n_ctx: break`: the token that overflows the
    // context is kept but never fed back.
    if (completed || static_cast<int>((*rows)[0].tokens.size()) > hp.n_text_ctx) break;
  }
}

Result<DecodingResult> WindowDecoder::Decode(const DecodingOptions& options, std::mt19937_64* rng) {
  assert(has_window_ && "EncodeWindow before Decode");
  Result<DecodingPlan> planned = PlanDecoding(options, tokenizer_, weights_.hparams);
  if (!planned.ok()) return planned.status();
  const DecodingPlan& plan = planned.value();
  if (options.temperature > 0 && rng == nullptr) {
    return InvalidArgument("sampling at temperature > 0 needs a random generator");
  }
  // One generator per row, seeded from the caller's: a row's draws never depend on the others,
  // so the candidates are the same batched or one row at a time.
  std::vector<std::mt19937_64> row_rngs;
  if (options.temperature > 0) {
    for (int r = 0; r < plan.n_group; ++r) row_rngs.emplace_back((*rng)());
  }

  double no_speech_prob = std::numeric_limits<double>::quiet_NaN();
  std::vector<DecodedSequence> candidates;
  if (options.beam_size) {
    if (plan.n_group > rows_->max_rows()) {
      return InvalidArgument("beam_size " + std::to_string(plan.n_group) + " is more rows than this decoder runs (" +
                             std::to_string(rows_->max_rows()) + ")");
    }
    BeamSearchDecoder decoder(plan.n_group, ids_.eot, options.patience);
    std::vector<DecodingRow> rows(plan.n_group);
    RunRows(plan, &decoder, &rows, &no_speech_prob);
    candidates = decoder.Finalize(rows, plan.sample_begin);
  } else if (plan.n_group <= rows_->max_rows()) {
    GreedyDecoder decoder(options.temperature, ids_.eot, std::move(row_rngs));
    std::vector<DecodingRow> rows(plan.n_group);
    RunRows(plan, &decoder, &rows, &no_speech_prob);
    candidates = decoder.Finalize(rows, plan.sample_begin);
  } else {
    // Sampled rows are independent: decode them one after another with the rows the model has.
    for (int r = 0; r < plan.n_group; ++r) {
      std::vector<std::mt19937_64> one;
      if (!row_rngs.empty()) one.push_back(row_rngs[r]);
      GreedyDecoder decoder(options.temperature, ids_.eot, std::move(one));
      std::vector<DecodingRow> rows(1);
      RunRows(plan, &decoder, &rows, &no_speech_prob);
      std::vector<DecodedSequence> c = decoder.Finalize(rows, plan.sample_begin);
      candidates.push_back(std::move(c[0]));
    }
  }

  const size_t best = MaximumLikelihoodRanker(options.length_penalty).Rank(candidates);
  DecodingResult result;
  result.language = tokenizer_.multilingual() ? (options.language.empty() ? "en" : options.language) : "en";
  result.tokens = std::move(candidates[best].tokens);
  // Tokenizer.decode shows specials other than timestamps as text; python turns the bytes into
  // a str with errors="replace" before strip().
  result.text = std::string(StripPythonWhitespace(ReplaceInvalidUtf8(tokenizer_.DecodeWithSpecials(result.tokens))));
  // avg_logprob = sum_logprobs / (len(tokens) + 1), in double after .tolist().
  result.avg_logprob = candidates[best].sum_logprob / static_cast<double>(result.tokens.size() + 1);
  result.min_token_logprob = candidates[best].min_logprob;
  result.no_speech_prob = no_speech_prob;
  result.temperature = options.temperature;
  result.compression_ratio = CompressionRatio(result.text);
  return result;
}

Result<LanguageDetection> WindowDecoder::DetectLanguage(const std::vector<std::string>& candidates) {
  assert(has_window_ && "EncodeWindow before DetectLanguage");
  if (!tokenizer_.multilingual()) return InvalidArgument("an English-only model cannot detect the language");
  std::vector<int> allowed;
  if (candidates.empty()) {
    allowed = tokenizer_.AllLanguageTokens();
  } else {
    for (const std::string& code : candidates) {
      const int token = tokenizer_.LanguageToken(code);
      if (token < 0) return InvalidArgument("candidate language '" + code + "' is not one of this model's languages");
      allowed.push_back(token);
    }
    std::sort(allowed.begin(), allowed.end());
    allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
  }
  if (allowed.empty()) return InvalidArgument("the vocabulary has no language tokens");
  const int n_vocab = weights_.hparams.n_vocab;
  logits_.resize(n_vocab);
  rows_->Begin(1);
  const int sot = ids_.sot;
  rows_->Forward(std::span<const int>(&sot, 1), 1, std::span<float>(logits_).first(n_vocab));
  // Every other token is masked to -inf; the argmax (first maximum) and softmax over the rest,
  // the softmax in torch's float32 order (-inf entries add exact zeros).
  std::vector<float> masked(n_vocab, -std::numeric_limits<float>::infinity());
  for (int token : allowed) masked[token] = logits_[token];
  float max_value = -std::numeric_limits<float>::infinity();
  int best = allowed[0];
  for (int token : allowed) {
    if (masked[token] > max_value) {
      max_value = masked[token];
      best = token;
    }
  }
  const float inverse_sum = 1.0f / TorchExpSumFloat32(masked, max_value);
  LanguageDetection out;
  out.language = tokenizer_.LanguageCode(best);
  for (int token : allowed) {
    out.probs.emplace_back(tokenizer_.LanguageCode(token), std::exp(masked[token] - max_value) * inverse_sum);
  }
  return out;
}

}  // namespace wisp
