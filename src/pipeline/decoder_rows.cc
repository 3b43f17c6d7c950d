#include "pipeline/decoder_rows.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <vector>

#include "model/decoder.h"
#include "model/decoder_batch.h"

namespace wisp {
namespace {

void RunSingle(const ModelWeights& weights, const OpContext& ctx, DecoderState* state, const int* tokens, int n,
               float* logits) {
  static_assert(sizeof(int) == sizeof(int32_t));
  if (ctx.profiler) ctx.profiler->BeginCall("decoder");
  RunDecoder(weights, ctx, state, reinterpret_cast<const int32_t*>(tokens), n, /*all_logits=*/false, logits);
}

class SingleRowDecoder final : public DecoderRows {
 public:
  SingleRowDecoder(const ModelWeights& weights, const OpContext& ctx) : weights_(weights), ctx_(ctx) {
    InitDecoderState(weights.hparams, &state_);
  }
  int max_rows() const override { return 1; }
  void SetWindow(const float* audio_features, int n_ctx) override {
    SetAudioFeatures(weights_, ctx_, audio_features, &state_, n_ctx);
  }
  void Begin(int n_rows) override {
    assert(n_rows == 1);
    (void)n_rows;
    state_.n_past = 0;  // a fresh sequence over the same window's cross-attention K/V
  }
  void Forward(std::span<const int> tokens, int n_new, std::span<float> logits) override {
    RunSingle(weights_, ctx_, &state_, tokens.data(), n_new, logits.data());
  }
  void Rearrange(std::span<const int> source_rows) override {
    assert(source_rows.size() == 1 && source_rows[0] == 0);
    (void)source_rows;
  }
  DecoderState* window_state() override { return &state_; }

 private:
  const ModelWeights& weights_;
  OpContext ctx_;
  DecoderState state_;
};

class BatchedDecoderRows final : public DecoderRows {
 public:
  BatchedDecoderRows(const ModelWeights& weights, const OpContext& ctx) : weights_(weights), ctx_(ctx) {
    InitDecoderState(weights.hparams, &single_);
  }
  // A group is at most best_of or beam_size rows; the bound only keeps a request sane.
  int max_rows() const override { return 256; }
  void SetWindow(const float* audio_features, int n_ctx) override {
    SetAudioFeatures(weights_, ctx_, audio_features, &single_, n_ctx);
    forked_ = false;  // the batch referenced the previous window's cross K/V
  }
  void Begin(int n_rows) override {
    assert(n_rows >= 1 && n_rows <= max_rows());
    n_rows_ = n_rows;
    single_.n_past = 0;
    forked_ = false;
  }
  void Forward(std::span<const int> tokens, int n_new, std::span<float> logits) override {
    const size_t n_vocab = weights_.hparams.n_vocab;
    if (n_rows_ == 1) {
      RunSingle(weights_, ctx_, &single_, tokens.data(), n_new, logits.data());
      return;
    }
    if (!forked_ && n_new > 1) {
      // The shared initial tokens: computed once, the logits copied to every row.
      for (int r = 1; r < n_rows_; ++r) {
        assert(std::equal(tokens.begin(), tokens.begin() + n_new, tokens.begin() + static_cast<size_t>(r) * n_new));
      }
      RunSingle(weights_, ctx_, &single_, tokens.data(), n_new, logits.data());
      for (int r = 1; r < n_rows_; ++r) std::memcpy(logits.data() + r * n_vocab, logits.data(), n_vocab * sizeof(float));
      return;
    }
    assert(n_new >= 1);
    if (!forked_) {
      ForkDecoderBatch(weights_.hparams, single_, n_rows_, &batch_);
      forked_ = true;
    }
    // The batch takes one token per row and call. Several (a multilingual model's language and
    // task tokens after a lone sot, fed once the rows forked) go one position at a time; the
    // logits of the last are the ones asked for.
    step_.resize(static_cast<size_t>(n_rows_));
    for (int j = 0; j < n_new; ++j) {
      for (int r = 0; r < n_rows_; ++r) step_[r] = tokens[static_cast<size_t>(r) * n_new + j];
      if (ctx_.profiler) ctx_.profiler->BeginCall("decoder");
      RunDecoderBatch(weights_, ctx_, &batch_, step_.data(), logits.data());
    }
  }
  void Rearrange(std::span<const int> source_rows) override {
    if (forked_) ReorderRows(&batch_, source_rows.data());
  }
  DecoderState* window_state() override { return &single_; }

 private:
  const ModelWeights& weights_;
  OpContext ctx_;
  DecoderState single_;  // the prefill, and the window's cross K/V the batch points at
  DecoderBatchState batch_;
  int n_rows_ = 1;
  bool forked_ = false;
  std::vector<int32_t> step_;  // one position's token per row (kept: a step must not allocate)
};

}  // namespace

std::unique_ptr<DecoderRows> MakeSingleRowDecoder(const ModelWeights& weights, const OpContext& ctx) {
  return std::make_unique<SingleRowDecoder>(weights, ctx);
}

std::unique_ptr<DecoderRows> MakeBatchedDecoderRows(const ModelWeights& weights, const OpContext& ctx) {
  return std::make_unique<BatchedDecoderRows>(weights, ctx);
}

}  // namespace wisp
