// Batched decoding: N hypotheses of one audio window (beam search's beams, best_of's samples)
// advance together, as openai-whisper runs them (its batch of n_audio * beam_size rows).
//
// A decoding step of one row is bandwidth-bound: every Linear streams its whole weight matrix
// to multiply one activation row. Here the N rows' activations go through each Linear (and the
// vocabulary projection) as ONE (N x d) product, so a step reads the weights once, not N times.
// What differs per row is only the self-attention over the row's own KV cache; the cross-
// attention K/V of the window are shared by all rows (prepared once by SetAudioFeatures, never
// copied per row).
//
// All rows have the same length (n_past), as in openai-whisper, where every beam holds the
// same number of tokens at each step (finished beams keep being fed tokens; the caller ignores
// their logits). Rows of different lengths are not supported.
//
// Typical use for one window:
//   SetAudioFeatures(w, ctx, features, &single);            // cross K/V, once per window
//   RunDecoder(w, ctx, &single, prompt, n_prompt, false, logits0);  // prefill, once
//   ForkDecoderBatch(w.hparams, single, beam_size, &batch);  // N copies of the prefilled cache
//   loop: RunDecoderBatch(w, ctx, &batch, tokens, logits);   // tokens[N] -> logits (N, n_vocab)
//         ReorderRows(&batch, source_indices);               // row i <- row source_indices[i]
#pragma once
#include <cstdint>
#include <vector>

#include "model/decoder.h"
#include "model/transformer_block.h"
#include "model/weights.h"
#include "ops/ops.h"

namespace wisp {

struct DecoderBatchState {
  HParams hparams;  // the model's, for the cache geometry
  int n_rows = 0;
  int n_past = 0;  // tokens in every row's self-attention cache (equal for all rows)
  // The window's cross-attention K/V, one PreparedKv per layer, owned by the DecoderState that
  // ForkDecoderBatch was given: that state must outlive the batch's use, and SetAudioFeatures on
  // it (the next window) invalidates the batch until the next ForkDecoderBatch.
  const PreparedKv* cross_kv = nullptr;
  // The first n_shared positions of every row's self-attention cache are the prefill's, the
  // same for all rows: they stay in that DecoderState (shared_k/v, laid out as its self_k/v),
  // never copied, and each step's attention reads them once for all rows
  // (AttentionSharedPrefix). Same lifetime rule as cross_kv.
  int n_shared = 0;
  const float* shared_k = nullptr;
  const float* shared_v = nullptr;
  // The rows' own positions [n_shared, n_past) in physical slots, each laid out as
  // DecoderState::self_k/v ([layer][n_text_ctx][n_text_state], positions below n_shared unused).
  // Row i lives in slot[i]: ReorderRows moves slot indices and copies a row's positions only
  // where two rows need the same source.
  std::vector<float> self_k, self_v;  // [slot][layer][n_text_ctx][n_text_state]
  std::vector<int> slot;              // row -> slot, a permutation of 0..n_rows-1

  // Activations and scratch of the current call (kept to avoid reallocating every step).
  std::vector<float> x, last, qkv, attn;
  std::vector<const float*> row_k, row_v;  // the rows' suffixes, for AttentionSharedPrefix
  std::vector<int> taken, new_slot;  // ReorderRows' bookkeeping
  BlockScratch block;
};

// Makes `batch` n_rows continuations of `prefilled` (a DecoderState after SetAudioFeatures and
// the prefill RunDecoder): its first prefilled.n_past self-attention positions become every
// row's shared prefix and its cross K/V the rows' cross K/V, both referenced, not copied (so
// `prefilled` must not run again while the batch is used). Reuses batch's buffers when they fit.
// Requires n_rows >= 1 and SetAudioFeatures to have been run on `prefilled`.
void ForkDecoderBatch(const HParams& hp, const DecoderState& prefilled, int n_rows, DecoderBatchState* batch);

// One decoding step of every row: appends tokens[i] to row i at position n_past, advances
// n_past and writes logits (n_rows, n_vocab), row i for row i. Per row, the numbers equal
// RunDecoder's with n_tokens = 1 on a DecoderState holding the same tokens (bit for bit with the
// fast backend's kernels, which compute each output row independently of the others).
// Requires n_past + 1 <= n_text_ctx.
void RunDecoderBatch(const ModelWeights& w, const OpContext& ctx, DecoderBatchState* batch, const int32_t* tokens,
                     float* logits);

// Row i becomes (a copy of) row source_indices[i], for every i at once (openai-whisper's
// kv_cache[k][source_indices] after a beam-search step). Only self-attention caches move; a
// source used once keeps its storage (the identity and pure permutations copy nothing), each
// further use copies the row's own positions (n_shared .. n_past) of every layer.
void ReorderRows(DecoderBatchState* batch, const int* source_indices);

// Row `row`'s self-attention K (or V) cache of one layer: n_text_ctx x n_text_state floats, of
// which positions n_shared .. n_past are valid; positions below n_shared are the shared prefix,
// at batch.shared_k/v + layer * n_text_ctx * n_text_state. For tests.
const float* BatchRowSelfK(const DecoderBatchState& batch, int row, int layer);
const float* BatchRowSelfV(const DecoderBatchState& batch, int row, int layer);

}  // namespace wisp
