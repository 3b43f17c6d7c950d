#include "pipeline/token_decoder.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#include "kernels/vector_math.h"
#include "pipeline/logit_filters.h"

namespace wisp {
namespace {
const kernels::Isa kIsa = kernels::DetectIsa();
}  // namespace

int SelectNextToken(std::span<const float> logits, double temperature, std::mt19937_64* rng) {
  if (temperature == 0.0 || rng == nullptr) {
    // torch.argmax returns the first index of the maximum. std::max_element's loop carries a load,
    // a compare and a cmov per element (~8 cycles: 4 % of a 1-thread transcription); the vector
    // maximum and a search for its first occurrence take a tenth of that. A NaN maximum is found by
    // no search: max_element's answer then, as before.
    const float max_value = kernels::MaxValue(kIsa, logits.data(), static_cast<int64_t>(logits.size()));
    const auto first = std::find(logits.begin(), logits.end(), max_value);
    if (first != logits.end()) return static_cast<int>(first - logits.begin());
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

GreedyDecoder::GreedyDecoder(double temperature, int eot, std::vector<std::mt19937_64> rngs)
    : temperature_(temperature), eot_(eot), rngs_(std::move(rngs)) {}

bool GreedyDecoder::Update(std::span<float> logits, int n_vocab, std::vector<DecodingRow>* rows,
                           std::vector<int>* source_rows) {
  assert(logits.size() == rows->size() * static_cast<size_t>(n_vocab));
  assert(temperature_ == 0.0 || rngs_.size() >= rows->size());
  bool completed = true;
  for (size_t r = 0; r < rows->size(); ++r) {
    DecodingRow& row = (*rows)[r];
    // A finished row only repeats eot and adds nothing (next_tokens[tokens[:, -1] == eot] = eot);
    // it draws nothing, so the other rows' generators never depend on it.
    if (!row.tokens.empty() && row.tokens.back() == eot_) {
      row.tokens.push_back(eot_);
      continue;
    }
    const std::span<const float> row_logits = logits.subspan(r * n_vocab, n_vocab);
    const int next = SelectNextToken(row_logits, temperature_, temperature_ > 0 ? &rngs_[r] : nullptr);
    // log_softmax of the filtered logits (suppressed entries are -inf and drop out of the sum),
    // in torch's float32 summation order; only the sampled token's entry is formed.
    const float logprob = LogSoftmaxStatsFloat32(row_logits).LogProb(row_logits[next]);
    row.sum_logprob += logprob;
    if (next < eot_) row.min_logprob = std::min(row.min_logprob, logprob);
    row.tokens.push_back(next);
    completed = completed && next == eot_;
  }
  (void)source_rows;  // rows never move
  return completed;
}

std::vector<DecodedSequence> GreedyDecoder::Finalize(const std::vector<DecodingRow>& rows, int sample_begin) const {
  std::vector<DecodedSequence> out;
  out.reserve(rows.size());
  for (const DecodingRow& row : rows) {
    const auto begin = row.tokens.begin() + std::min<size_t>(sample_begin, row.tokens.size());
    DecodedSequence s;
    s.tokens.assign(begin, std::find(begin, row.tokens.end(), eot_));
    s.sum_logprob = row.sum_logprob;
    s.min_logprob = row.min_logprob;
    out.push_back(std::move(s));
  }
  return out;
}

void TopLogProbs(std::span<const float> logits, const LogSoftmaxStats& stats, int k,
                 std::vector<std::pair<float, int>>* top) {
  // One pass with a sorted list of the best k so far (k is beam_size + 1): an entry joins only
  // when its log-probability beats the k-th strictly, since on a tie the earlier (lower) id
  // ranks first. The order is torch.topk's on the log-softmax row: by value, then by id. The
  // log-probabilities are formed from the logits (LogProb), not compared as logits, because two
  // logits can round to one log-probability and must then rank by id.
  top->clear();
  const int n = static_cast<int>(logits.size());
  float kth = -std::numeric_limits<float>::infinity();
  for (int i = 0; i < n; ++i) {
    const float lp = stats.LogProb(logits[i]);
    if (static_cast<int>(top->size()) == k && !(lp > kth)) continue;
    auto at = top->end();
    while (at != top->begin() && lp > (at - 1)->first) --at;
    top->insert(at, {lp, i});
    if (static_cast<int>(top->size()) > k) top->pop_back();
    if (static_cast<int>(top->size()) == k) kth = top->back().first;
  }
}

BeamSearchDecoder::BeamSearchDecoder(int beam_size, int eot, std::optional<double> patience)
    : beam_size_(beam_size),
      eot_(eot),
      // round(beam_size * patience): python's round, half to even (Validate refuses a result < 1).
      max_candidates_(static_cast<size_t>(std::nearbyint(beam_size * patience.value_or(1.0)))) {}

bool BeamSearchDecoder::Update(std::span<float> logits, int n_vocab, std::vector<DecodingRow>* rows,
                               std::vector<int>* source_rows) {
  const int n_rows = static_cast<int>(rows->size());
  assert(n_rows == beam_size_ && logits.size() == rows->size() * static_cast<size_t>(n_vocab));
  struct Candidate {
    int source;  // the row whose tokens prefix it (the last one among identical sequences)
    int token;
    float score;
    float logprob;  // the token's own
  };
  auto same_sequence = [&](const Candidate& a, int source, int token) {
    return a.token == token && (a.source == source || (*rows)[a.source].tokens == (*rows)[source].tokens);
  };
  // STEP 1: beam_size + 1 candidates per row, in topk order (descending; lower id first on ties).
  std::vector<Candidate> candidates;
  const int k = std::min(beam_size_ + 1, n_vocab);
  for (int r = 0; r < n_rows; ++r) {
    const std::span<const float> row = logits.subspan(static_cast<size_t>(r) * n_vocab, n_vocab);
    TopLogProbs(row, LogSoftmaxStatsFloat32(row), k, &top_);
    for (const auto& [logprob, top_token] : top_) {
      // A plain copy: clang before 16 cannot capture a structured binding in a lambda.
      const int token = top_token;
      const float score = (*rows)[r].sum_logprob + logprob;
      auto same = std::find_if(candidates.begin(), candidates.end(),
                               [&](const Candidate& c) { return same_sequence(c, r, token); });
      if (same != candidates.end()) {
        same->source = r, same->score = score, same->logprob = logprob;  // the key keeps its place
      } else {
        candidates.push_back({r, token, score, logprob});
      }
    }
  }
  // STEP 2: sorted(scores, key=scores.get, reverse=True) is stable, so equal scores keep their order.
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  std::vector<DecodingRow> next;
  std::vector<std::pair<DecodingRow, float>> newly_finished;
  for (const Candidate& c : candidates) {
    const DecodingRow& source = (*rows)[c.source];
    DecodingRow row{source.tokens, c.score,
                    c.token >= eot_ ? source.min_logprob : std::min(source.min_logprob, c.logprob)};
    row.tokens.push_back(c.token);
    if (c.token == eot_) {
      newly_finished.emplace_back(std::move(row), c.score);
    } else {
      next.push_back(std::move(row));
      source_rows->at(next.size() - 1) = c.source;
      if (static_cast<int>(next.size()) == beam_size_) break;
    }
  }
  assert(static_cast<int>(next.size()) == beam_size_);
  *rows = std::move(next);
  // The newly finished, best first, until the candidate list is full (already in score order).
  for (auto& [row, score] : newly_finished) {
    if (finished_.size() >= max_candidates_) break;
    finished_.push_back(std::move(row));
  }
  return finished_.size() >= max_candidates_;
}

std::vector<DecodedSequence> BeamSearchDecoder::Finalize(const std::vector<DecodingRow>& rows,
                                                         int sample_begin) const {
  std::vector<DecodingRow> sequences = finished_;
  if (static_cast<int>(sequences.size()) < beam_size_) {
    // list(np.argsort(sum_logprobs))[::-1]: the unfinished rows from the most probable down.
    std::vector<int> order(rows.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return rows[a].sum_logprob < rows[b].sum_logprob; });
    std::reverse(order.begin(), order.end());
    for (int j : order) {
      DecodingRow row = rows[j];
      row.tokens.push_back(eot_);
      if (std::none_of(sequences.begin(), sequences.end(),
                       [&](const DecodingRow& s) { return s.tokens == row.tokens; })) {
        sequences.push_back(std::move(row));
      }
      if (static_cast<int>(sequences.size()) >= beam_size_) break;
    }
  }
  std::vector<DecodedSequence> out;
  for (const DecodingRow& row : sequences) {
    const auto begin = row.tokens.begin() + std::min<size_t>(sample_begin, row.tokens.size());
    DecodedSequence s;
    s.tokens.assign(begin, std::find(begin, row.tokens.end(), eot_));
    s.sum_logprob = row.sum_logprob;
    s.min_logprob = row.min_logprob;
    out.push_back(std::move(s));
  }
  return out;
}

double MaximumLikelihoodRanker::Score(const DecodedSequence& candidate) const {
  const double length = static_cast<double>(candidate.tokens.size());
  const double penalty = length_penalty_ ? std::pow((5.0 + length) / 6.0, *length_penalty_) : length;
  return candidate.sum_logprob / penalty;
}

size_t MaximumLikelihoodRanker::Rank(const std::vector<DecodedSequence>& candidates) const {
  assert(!candidates.empty());
  // np.argmax: the first maximum; a NaN score (0 / 0 for an empty candidate) wins as in numpy.
  size_t best = 0;
  double best_score = Score(candidates[0]);
  for (size_t i = 1; i < candidates.size(); ++i) {
    if (std::isnan(best_score)) break;
    const double s = Score(candidates[i]);
    if (std::isnan(s) || s > best_score) {
      best = i;
      best_score = s;
    }
  }
  return best;
}

}  // namespace wisp
