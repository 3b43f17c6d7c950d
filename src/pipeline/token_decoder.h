// openai-whisper's decoding strategies (decoding.py TokenDecoder / SequenceRanker) over a group of
// rows decoded together for one 30-s window: best_of samples at T > 0 or beam_size beams at T = 0.
// A row's state (its tokens and float32 sum of log-probabilities) is separate from the window's
// audio features and from the model's KV cache, which DecoderRows (decoding.h) owns per row; a
// decoder that reorders rows (beam search) says which old row each new row continues, and the
// caller rearranges the cache rows to match (the official's rearrange_kv_cache).
#pragma once
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "pipeline/logit_filters.h"

namespace wisp {

// One hypothesis: the whole context so far (initial tokens, then the sampled ones) and the sum of
// the sampled tokens' log-probabilities, in float32 like the official's sum_logprobs tensor.
struct DecodingRow {
  std::vector<int> tokens;
  float sum_logprob = 0.0f;
  // The least probable sampled text token's log-probability (timestamps, eot and other specials
  // aside; 0 before any): wisp's confidence signal for the short-audio fallback, outside the
  // official's arithmetic.
  float min_logprob = 0.0f;
};

// A finished candidate: tokens[sample_begin : first eot] and its sum of log-probabilities.
struct DecodedSequence {
  std::vector<int> tokens;
  double sum_logprob = 0.0;  // the float32 sum as python's float (tensor.tolist())
  double min_logprob = 0.0;  // DecodingRow::min_logprob
};

class TokenDecoder {
 public:
  virtual ~TokenDecoder() = default;

  // Called before every window (the official's reset(): beam search forgets finished sequences).
  virtual void Reset() {}

  // logits: rows->size() rows of n_vocab filtered logits, row-major (the last position of each
  // row, after the logit filters). Appends each row's next token and adds its log-probability
  // to sum_logprob. source_rows has rows->size() entries, the identity on entry; a decoder that
  // reorders hypotheses sets (*source_rows)[i] to the old row whose KV cache new row i continues.
  // Returns true when every row is complete.
  virtual bool Update(std::span<float> logits, int n_vocab, std::vector<DecodingRow>* rows,
                      std::vector<int>* source_rows) = 0;

  // The candidates of the group: each row's tokens from sample_begin up to its first eot (the
  // official pads an eot to rows that never sampled one) and its sum of log-probabilities.
  virtual std::vector<DecodedSequence> Finalize(const std::vector<DecodingRow>& rows, int sample_begin) const = 0;

  // True when rows never interact (greedy, sampling): the caller may then decode them one at a
  // time with a single-row model and get the same candidates as from a batch.
  virtual bool rows_independent() const = 0;
};

// GreedyDecoder: the first maximum at temperature 0 (torch.argmax), else a draw from
// softmax(logits / T). Each row samples from its own generator, so a row's result does not
// depend on how many rows are decoded with it (batched or one at a time, any thread count).
class GreedyDecoder final : public TokenDecoder {
 public:
  // rngs: one per row when temperature > 0 (may be empty at 0).
  GreedyDecoder(double temperature, int eot, std::vector<std::mt19937_64> rngs);

  bool Update(std::span<float> logits, int n_vocab, std::vector<DecodingRow>* rows,
              std::vector<int>* source_rows) override;
  std::vector<DecodedSequence> Finalize(const std::vector<DecodingRow>& rows, int sample_begin) const override;
  bool rows_independent() const override { return true; }

 private:
  double temperature_;
  int eot_;
  std::vector<std::mt19937_64> rngs_;
};

// BeamSearchDecoder (decoding.py) for one audio: beam_size rows. Each step, every row offers its
// beam_size + 1 most probable next tokens scored sum_logprob + logprob (float32, as the tensor
// sum); identical sequences count once (the official's dict keeps the last source). The
// candidates sorted by score (stable: ties keep first-seen order) fill the beams with those not
// ending in eot, and the eot ones are finished; of those, the best are kept until
// max_candidates = round(beam_size * patience) are collected, which completes the window.
// Finalize pads the finished list to beam_size with the unfinished rows (best first) + eot.
class BeamSearchDecoder final : public TokenDecoder {
 public:
  BeamSearchDecoder(int beam_size, int eot, std::optional<double> patience);

  void Reset() override { finished_.clear(); }
  bool Update(std::span<float> logits, int n_vocab, std::vector<DecodingRow>* rows,
              std::vector<int>* source_rows) override;
  std::vector<DecodedSequence> Finalize(const std::vector<DecodingRow>& rows, int sample_begin) const override;
  bool rows_independent() const override { return false; }

 private:
  int beam_size_;
  int eot_;
  size_t max_candidates_;
  std::vector<DecodingRow> finished_;          // full sequences (eot last), in the official's dict order
  std::vector<std::pair<float, int>> top_;     // scratch: one row's candidates (TopLogProbs)
};

// The k most probable entries of log_softmax(logits) (stats: LogSoftmaxStatsFloat32(logits)) as
// (log-probability, id), in torch.topk's order: descending, the lower id first on equal values.
void TopLogProbs(std::span<const float> logits, const LogSoftmaxStats& stats, int k,
                 std::vector<std::pair<float, int>>* top);

// The official's choice of the next token from one row of filtered logits: the first maximum at
// temperature 0, else Categorical(logits / T).sample() (softmax in double, inverse-CDF draw).
int SelectNextToken(std::span<const float> logits, double temperature, std::mt19937_64* rng);

// MaximumLikelihoodRanker: the candidate with the highest sum_logprob / penalty, penalty = its
// token count (length_penalty unset) or ((5 + count) / 6) ** length_penalty (Google NMT); the
// first on ties (np.argmax). Requires a non-empty list.
class MaximumLikelihoodRanker {
 public:
  explicit MaximumLikelihoodRanker(std::optional<double> length_penalty) : length_penalty_(length_penalty) {}
  double Score(const DecodedSequence& candidate) const;
  size_t Rank(const std::vector<DecodedSequence>& candidates) const;

 private:
  std::optional<double> length_penalty_;
};

}  // namespace wisp
