#include "pipeline/logit_filters.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "kernels/vector_math.h"
#include "pipeline/tokenizer.h"

namespace wisp {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
const kernels::Isa kIsa = kernels::DetectIsa();

// logits[begin:end] = -inf with Python's slice clamping.
void SuppressRange(std::span<float> logits, int64_t begin, int64_t end) {
  const int64_t n = static_cast<int64_t>(logits.size());
  begin = std::clamp<int64_t>(begin, 0, n);
  end = std::clamp<int64_t>(end, 0, n);
  for (int64_t i = begin; i < end; ++i) logits[i] = kNegInf;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

SpecialTokenIds SpecialTokenIdsOf(const Tokenizer& tokenizer) {
  SpecialTokenIds ids;
  ids.n_vocab = tokenizer.n_vocab();
  ids.eot = tokenizer.eot();
  ids.sot = tokenizer.sot();
  ids.translate = tokenizer.translate();
  ids.transcribe = tokenizer.transcribe();
  ids.sot_lm = tokenizer.sot_lm();
  ids.sot_prev = tokenizer.sot_prev();
  ids.no_speech = tokenizer.no_speech();
  ids.no_timestamps = tokenizer.no_timestamps();
  ids.timestamp_begin = tokenizer.timestamp_begin();
  return ids;
}

float TorchExpSumFloat32(std::span<const float> x, float max_value) {
  // The vector form is bit for bit the scalar loop (kernels/vector_math.h): ~10x faster, and the
  // decoding loop sums 51864 of these per row and step (twice, with the timestamp rule).
  return kernels::Lane8ExpSum(kIsa, x.data(), static_cast<int64_t>(x.size()), max_value);
}

LogSoftmaxStats LogSoftmaxStatsFloat32(std::span<const float> x) {
  // A maximum is the same in any order, so the vector kernel changes nothing.
  const float max_value = kernels::MaxValue(kIsa, x.data(), static_cast<int64_t>(x.size()));
  return {max_value, std::log(TorchExpSumFloat32(x, max_value))};
}

void LogSoftmaxFloat32(std::span<const float> x, float* out) {
  const LogSoftmaxStats st = LogSoftmaxStatsFloat32(x);
  for (size_t i = 0; i < x.size(); ++i) out[i] = st.LogProb(x[i]);
}

float SoftmaxAtFloat32(std::span<const float> x, size_t index) {
  const float max_value = kernels::MaxValue(kIsa, x.data(), static_cast<int64_t>(x.size()));
  const float inverse_sum = 1.0f / TorchExpSumFloat32(x, max_value);
  return std::exp(x[index] - max_value) * inverse_sum;
}

SuppressBlankFilter::SuppressBlankFilter(std::vector<int> blank_tokens, int eot, int sample_begin)
    : suppressed_(std::move(blank_tokens)), sample_begin_(sample_begin) {
  suppressed_.push_back(eot);
}

void SuppressBlankFilter::Apply(std::span<float> logits, std::span<const int> tokens) const {
  // Only at the first sampled position: `if tokens.shape[1] == self.sample_begin`.
  if (static_cast<int>(tokens.size()) != sample_begin_) return;
  for (int id : suppressed_) logits[id] = kNegInf;
}

void SuppressTokensFilter::Apply(std::span<float> logits, std::span<const int> tokens) const {
  for (int id : ids_) logits[id] = kNegInf;
}

TimestampRulesFilter::TimestampRulesFilter(const SpecialTokenIds& ids, int sample_begin,
                                           std::optional<int> max_initial_timestamp_index)
    : ids_(ids), sample_begin_(sample_begin), max_initial_timestamp_index_(max_initial_timestamp_index) {}

void TimestampRulesFilter::Apply(std::span<float> logits, std::span<const int> tokens) const {
  const int tb = ids_.timestamp_begin;
  const int64_t n = static_cast<int64_t>(logits.size());

  // 1. <|notimestamps|> is what without_timestamps feeds; it is never sampled.
  if (ids_.no_timestamps >= 0) logits[ids_.no_timestamps] = kNegInf;

  // 2. Pairing, from the sampled tokens only (tokens[sample_begin:]).
  const std::span<const int> sampled =
      tokens.size() > static_cast<size_t>(sample_begin_) ? tokens.subspan(sample_begin_) : std::span<const int>();
  const size_t len = sampled.size();
  const bool last_was_timestamp = len >= 1 && sampled[len - 1] >= tb;
  // True for a sequence of length < 2: a timestamp right at sample_begin counts as a pair.
  const bool penultimate_was_timestamp = len < 2 || sampled[len - 2] >= tb;
  if (last_was_timestamp) {
    if (penultimate_was_timestamp) {
      SuppressRange(logits, tb, n);  // has to be non-timestamp
    } else {
      SuppressRange(logits, 0, ids_.eot);  // cannot be normal text tokens
    }
  }

  // 3. Monotonic timestamps: timestamps[-1] is the last sampled timestamp anywhere in the
  // sequence, not only at its end.
  for (size_t i = len; i-- > 0;) {
    if (sampled[i] < tb) continue;
    const int timestamp_last = last_was_timestamp && !penultimate_was_timestamp ? sampled[i] : sampled[i] + 1;
    SuppressRange(logits, tb, timestamp_last);
    break;
  }

  // 4. The first sampled token is a timestamp no later than max_initial_timestamp.
  if (tokens.size() == static_cast<size_t>(sample_begin_)) {
    SuppressRange(logits, 0, tb);
    if (max_initial_timestamp_index_) {
      const int64_t last_allowed = static_cast<int64_t>(tb) + *max_initial_timestamp_index_;
      SuppressRange(logits, last_allowed + 1, n);
    }
  }

  // 5. If the timestamps together outweigh every single other token, sample a timestamp.
  // logprobs[i] = st.LogProb(logits[i]) is a monotone function of the logit, so the largest
  // log-probability of a range is that of its largest logit: no 51864-entry array is formed.
  const LogSoftmaxStats st = LogSoftmaxStatsFloat32(logits);
  const float timestamp_max = st.LogProb(kernels::MaxValue(kIsa, logits.data() + tb, n - tb));
  const float max_text_token_logprob = st.LogProb(kernels::MaxValue(kIsa, logits.data(), tb));
  bool suppress_text = false;
  if (timestamp_max != kNegInf) {
    // timestamp_logprob = float(log(sum)) + timestamp_max with 1 <= sum <= n - tb (the maximum
    // contributes 1, every term at most 1), so the comparison is often settled without the
    // sum: above when timestamp_max itself is, below when even log(n - tb) cannot lift it.
    // (Float rounding is monotone, so the bounds hold for the rounded sums too.)
    const float log_count_bound = static_cast<float>(std::log(static_cast<double>(n - tb))) + 1e-3f;
    if (timestamp_max > max_text_token_logprob) {
      suppress_text = true;
    } else if (log_count_bound + timestamp_max >= max_text_token_logprob) {
      double sum = 0.0;
      for (int64_t i = tb; i < n; ++i) sum += std::exp(static_cast<double>(st.LogProb(logits[i]) - timestamp_max));
      const float timestamp_logprob = static_cast<float>(std::log(sum)) + timestamp_max;
      suppress_text = timestamp_logprob > max_text_token_logprob;
    }
  }
  if (suppress_text) SuppressRange(logits, 0, tb);
}

Result<std::vector<int>> ParseSuppressTokens(const std::string& spec, const std::vector<int>& non_speech_tokens,
                                             const SpecialTokenIds& ids) {
  if (spec.empty()) return std::vector<int>();
  std::vector<int> parsed;
  std::string_view rest = spec;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string field(Trim(rest.substr(0, comma)));
    char* end = nullptr;
    errno = 0;
    const long value = std::strtol(field.c_str(), &end, 10);
    if (field.empty() || *end != '\0' || errno == ERANGE) {
      return InvalidArgument("suppress_tokens: '" + field + "' is not a token id (in \"" + spec + "\")");
    }
    if (value != -1 && (value < 0 || value >= ids.n_vocab)) {
      return InvalidArgument("suppress_tokens: token id " + field + " is outside the vocabulary [0, " +
                             std::to_string(ids.n_vocab) + ")");
    }
    parsed.push_back(static_cast<int>(value));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  std::vector<int> result;
  bool non_speech = false;
  for (int id : parsed) {
    if (id == -1) {
      non_speech = true;
    } else {
      result.push_back(id);
    }
  }
  if (non_speech) result.insert(result.end(), non_speech_tokens.begin(), non_speech_tokens.end());
  // The specials the official always adds; no_speech because its probability is read
  // separately from the sot position.
  for (int id : {ids.transcribe, ids.translate, ids.sot, ids.sot_prev, ids.sot_lm, ids.no_speech}) {
    if (id >= 0) result.push_back(id);
  }
  std::sort(result.begin(), result.end());
  result.erase(std::unique(result.begin(), result.end()), result.end());
  return result;
}

std::optional<int> MaxInitialTimestampIndex(double max_initial_timestamp, int n_audio_ctx) {
  if (max_initial_timestamp == 0.0) return std::nullopt;
  const double precision = 30.0 / n_audio_ctx;  // CHUNK_LENGTH / n_audio_ctx
  // nearbyint in the default rounding mode rounds half to even, like Python's round().
  return static_cast<int>(std::nearbyint(max_initial_timestamp / precision));
}

std::vector<std::unique_ptr<LogitFilter>> MakeLogitFilters(const SpecialTokenIds& ids, int sample_begin,
                                                           bool suppress_blank, std::vector<int> blank_tokens,
                                                           std::vector<int> suppress_ids, bool without_timestamps,
                                                           std::optional<int> max_initial_timestamp_index) {
  std::vector<std::unique_ptr<LogitFilter>> filters;
  if (suppress_blank) {
    filters.push_back(std::make_unique<SuppressBlankFilter>(std::move(blank_tokens), ids.eot, sample_begin));
  }
  if (!suppress_ids.empty()) filters.push_back(std::make_unique<SuppressTokensFilter>(std::move(suppress_ids)));
  if (!without_timestamps) {
    filters.push_back(std::make_unique<TimestampRulesFilter>(ids, sample_begin, max_initial_timestamp_index));
  }
  return filters;
}

}  // namespace wisp
