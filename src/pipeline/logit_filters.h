// openai-whisper's logit filters (decoding.py: SuppressBlank, SuppressTokens, ApplyTimestampRules)
// over one row of logits, in place. Pure functions of the logits and the tokens so far, so they
// are tested on crafted vectors without a model or a tokenizer file.
#pragma once
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/status.h"

namespace wisp {

class Tokenizer;

// The special ids the filters and the decoding loop need (openai-whisper's Tokenizer
// properties), separate from the Tokenizer so tests can use a toy vocabulary.
struct SpecialTokenIds {
  int n_vocab = 0;
  int eot = -1;
  int sot = -1;
  int translate = -1;
  int transcribe = -1;
  int sot_lm = -1;
  int sot_prev = -1;
  int no_speech = -1;  // every Whisper vocabulary has one
  int no_timestamps = -1;
  int timestamp_begin = -1;
};

SpecialTokenIds SpecialTokenIdsOf(const Tokenizer& tokenizer);

// Filters see the logits of the next position and every token of the context so far: the
// initial tokens (prompt, sot sequence) followed by the sampled ones; sample_begin is the
// number of initial tokens.
class LogitFilter {
 public:
  virtual ~LogitFilter() = default;
  virtual void Apply(std::span<float> logits, std::span<const int> tokens) const = 0;
};

// SuppressBlank: at the first sampled position only, forbids the tokens of " " and eot, so a
// window never starts with a blank or ends empty.
class SuppressBlankFilter : public LogitFilter {
 public:
  // blank_tokens: tokenizer.encode(" ") (one token in both vocabularies).
  SuppressBlankFilter(std::vector<int> blank_tokens, int eot, int sample_begin);
  void Apply(std::span<float> logits, std::span<const int> tokens) const override;

 private:
  std::vector<int> suppressed_;
  int sample_begin_;
};

// SuppressTokens: the same ids are -inf at every step.
class SuppressTokensFilter : public LogitFilter {
 public:
  explicit SuppressTokensFilter(std::vector<int> ids) : ids_(std::move(ids)) {}
  void Apply(std::span<float> logits, std::span<const int> tokens) const override;
  const std::vector<int>& ids() const { return ids_; }

 private:
  std::vector<int> ids_;
};

// ApplyTimestampRules of openai-whisper v20240930+ (unchanged in v20250625):
//  1. <|notimestamps|> is always suppressed;
//  2. timestamps come in pairs except directly before eot: after a pair (or a lone timestamp
//     right at sample_begin) the next token is text or eot, after a single timestamp that
//     followed text it is a timestamp or eot (all text < eot suppressed);
//  3. timestamps never decrease: ids below the last sampled timestamp are suppressed, and
//     below last + 1 unless the last token closed a segment (text then timestamp), which keeps
//     every segment of nonzero length;
//  4. the first sampled token is a timestamp, at most max_initial_timestamp_index steps in;
//  5. if log(sum of probabilities of the timestamps) > the largest log-probability of any
//     other token, every id below timestamp_begin (text, eot, specials) is suppressed.
// Rule 5 uses float32 log-probabilities of the logits as rules 1-4 left them (the official
// computes F.log_softmax(logits.float())) in torch's summation order (LogSoftmaxFloat32); the
// logsumexp over the timestamps is accumulated in double, which can differ from torch's only on
// exact ties.
class TimestampRulesFilter : public LogitFilter {
 public:
  TimestampRulesFilter(const SpecialTokenIds& ids, int sample_begin, std::optional<int> max_initial_timestamp_index);
  void Apply(std::span<float> logits, std::span<const int> tokens) const override;

 private:
  SpecialTokenIds ids_;
  int sample_begin_;
  std::optional<int> max_initial_timestamp_index_;
};

// sum(exp(x - max_value)) in float32 exactly as torch's CPU kernels for softmax and log_softmax
// over the last dimension order it (ATen SoftMaxKernel.cpp, vec::map_reduce_all with
// Vectorized<float> of 8 lanes, the width of torch's AVX2 and default builds): lane l
// accumulates x[l], x[l + 8], ... in float32, a partial last vector updates only its valid
// lanes, and the 8 lanes are folded pairwise (0-3 + 4-7, then 0-1 + 2-3, then 0 + 1), as
// vec_reduce_all's AVX2 shuffle sequence does. The order matters: the lane holding the maximum
// (exp = 1) swallows terms below its half ulp, so torch's sum is systematically a little low,
// and a sum in double puts every log-probability of a 51864-token vocabulary ~2e-5 below the
// official's (openai-whisper's avg_logprob is a sum of these).
float TorchExpSumFloat32(std::span<const float> x, float max_value);

// What F.log_softmax(x.float()) needs besides x: out[i] = (x[i] - max) - log_sum in float32, the
// sum from TorchExpSumFloat32. A caller that wants a few entries (the sampled token, the top
// candidates) computes them with LogProb instead of a 51864-entry array. LogProb is monotone
// non-decreasing in x (float rounding is), though two close logits may round to one value.
struct LogSoftmaxStats {
  float max = 0.0f;
  float log_sum = 0.0f;
  float LogProb(float x) const { return (x - max) - log_sum; }
};
LogSoftmaxStats LogSoftmaxStatsFloat32(std::span<const float> x);

// F.log_softmax(x.float()) as torch's CPU kernel computes it: out[i] = (x[i] - max) - log(sum)
// in float32, the sum from TorchExpSumFloat32. All -inf input gives NaN, as in torch.
void LogSoftmaxFloat32(std::span<const float> x, float* out);

// x.float().softmax(-1)[index] as torch's CPU kernel computes it: exp(x[index] - max) times the
// float32 reciprocal of TorchExpSumFloat32 (openai-whisper's no_speech_prob).
float SoftmaxAtFloat32(std::span<const float> x, size_t index);

// The ids SuppressTokens receives, as DecodingTask._get_suppress_tokens builds them from the
// option string: comma-separated ids, "-1" standing for the non-speech set, plus transcribe,
// translate, sot, sot_prev, sot_lm and no_speech; sorted and unique. An empty string means no
// SuppressTokens filter at all (the official skips it when suppress_tokens is falsy), which is
// returned as an empty vector. Errors: a field that is not an integer, or an id outside
// [0, n_vocab) other than -1.
Result<std::vector<int>> ParseSuppressTokens(const std::string& spec, const std::vector<int>& non_speech_tokens,
                                             const SpecialTokenIds& ids);

// round(max_initial_timestamp / precision) with precision = 30 s / n_audio_ctx = 0.02 s, as
// DecodingTask computes it (Python's round: half to even); nullopt when the option is 0
// (falsy in Python: no limit).
std::optional<int> MaxInitialTimestampIndex(double max_initial_timestamp, int n_audio_ctx);

// The filter list in the official order: SuppressBlank (if suppress_blank), SuppressTokens (if
// suppress_ids is non-empty), ApplyTimestampRules (unless without_timestamps).
std::vector<std::unique_ptr<LogitFilter>> MakeLogitFilters(const SpecialTokenIds& ids, int sample_begin,
                                                           bool suppress_blank, std::vector<int> blank_tokens,
                                                           std::vector<int> suppress_ids, bool without_timestamps,
                                                           std::optional<int> max_initial_timestamp_index);

}  // namespace wisp
