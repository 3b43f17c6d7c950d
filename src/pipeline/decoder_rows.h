// The model side of a group decode (decoding.h): the self-attention KV caches of the rows that
// decode one window together (best_of samples, beam search's beams) over that window's shared
// cross-attention K/V. The token-level logic (TokenDecoder) never sees the model, only logits.
#pragma once
#include <memory>
#include <span>

#include "model/decoder.h"
#include "model/weights.h"
#include "ops/ops.h"

namespace wisp {

class DecoderRows {
 public:
  virtual ~DecoderRows() = default;
  // The widest group one Forward serves; wider groups of independent rows are decoded in turns.
  virtual int max_rows() const = 0;
  // The window every following call decodes: the encoder output, (n_ctx, n_audio_state), with
  // n_ctx the window's audio context (RunEncoder; hp.n_audio_ctx for a full window).
  virtual void SetWindow(const float* audio_features, int n_ctx) = 0;
  // Starts n_rows empty sequences (1 <= n_rows <= max_rows()).
  virtual void Begin(int n_rows) = 0;
  // Appends n_new tokens to every row (tokens: n_rows x n_new, row-major) and writes the logits
  // of each row's last token to logits (n_rows x n_vocab). While n_new > 1 every row must hold
  // the same tokens (the initial tokens of a group).
  virtual void Forward(std::span<const int> tokens, int n_new, std::span<float> logits) = 0;
  // New row i continues old row source_rows[i] (beam search's rearrange_kv_cache).
  virtual void Rearrange(std::span<const int> source_rows) = 0;
  // A single-row decoder state holding the window's cross-attention K/V, for the word-timestamp
  // alignment pass once a decode is finished (that pass overwrites its self-attention cache;
  // the next Begin starts afresh).
  virtual DecoderState* window_state() = 0;
};

// One row over the plain decoder (model/decoder.h).
std::unique_ptr<DecoderRows> MakeSingleRowDecoder(const ModelWeights& weights, const OpContext& ctx);

// Any number of rows over model/decoder_batch.h: the initial tokens are run once (prefill) and
// forked into the rows' caches, then every step is one N-row product that reads the weights
// once. Per row, the logits equal the single-row decoder's bit for bit (decoder_batch.h), so
// results do not depend on which of the two decodes them.
std::unique_ptr<DecoderRows> MakeBatchedDecoderRows(const ModelWeights& weights, const OpContext& ctx);

}  // namespace wisp
