// Batched decoding step: RunDecoder's computation (see decoder.cc) for N rows of one token
// each, with every matrix product over all N rows at once.
#include "model/decoder_batch.h"

#include <cassert>
#include <cstring>

namespace wisp {
namespace {

int64_t SlotFloats(const HParams& hp) {
  return static_cast<int64_t>(hp.n_text_layer) * hp.n_text_ctx * hp.n_text_state;
}

int64_t LayerFloats(const HParams& hp) { return static_cast<int64_t>(hp.n_text_ctx) * hp.n_text_state; }

float* SlotLayer(const HParams& hp, std::vector<float>& cache, int slot, int layer) {
  return cache.data() + slot * SlotFloats(hp) + layer * LayerFloats(hp);
}

// A row's own cached positions (n_shared .. n_past of every layer) of slot `from` into slot `to`.
void CopySlotRows(const HParams& hp, int from, int to, DecoderBatchState* b) {
  const int64_t offset = static_cast<int64_t>(b->n_shared) * hp.n_text_state;
  const size_t bytes = static_cast<size_t>(b->n_past - b->n_shared) * hp.n_text_state * sizeof(float);
  for (int l = 0; l < hp.n_text_layer; ++l) {
    std::memcpy(SlotLayer(hp, b->self_k, to, l) + offset, SlotLayer(hp, b->self_k, from, l) + offset, bytes);
    std::memcpy(SlotLayer(hp, b->self_v, to, l) + offset, SlotLayer(hp, b->self_v, from, l) + offset, bytes);
  }
}

// Self-attention of one layer for N rows of one token each: x (N, d) += out(attn(ln(x))).
// The projections run on all rows together; the attention runs over the shared prefix (read
// once for all rows) and each row's own positions (one query per row: the dot-product path).
void BatchedSelfAttention(const OpContext& ctx, const HParams& hp, const DecoderBlockWeights& b, int layer,
                          DecoderBatchState* s) {
  const int64_t n = s->n_rows, d = hp.n_text_state, past = s->n_past;
  BlockScratch& t = s->block;
  t.h.resize(n * d);
  s->qkv.resize(n * 3 * d);
  s->attn.resize(n * d);
  float* x = s->x.data();
  float* q = s->qkv.data();
  float* k = q + n * d;
  float* v = k + n * d;
  LayerNorm(ctx, x, n, d, b.attn_ln.gamma.data, b.attn_ln.beta.data, t.h.data());
  ApplyLinear(ctx, b.attn.query, t.h.data(), n, q, d);
  ApplyLinear(ctx, b.attn.key, t.h.data(), n, k, d);
  ApplyLinear(ctx, b.attn.value, t.h.data(), n, v, d);
  s->row_k.resize(n);
  s->row_v.resize(n);
  const int64_t shared = s->n_shared;
  for (int64_t i = 0; i < n; ++i) {
    float* k_cache = SlotLayer(hp, s->self_k, s->slot[i], layer);
    float* v_cache = SlotLayer(hp, s->self_v, s->slot[i], layer);
    std::memcpy(k_cache + past * d, k + i * d, d * sizeof(float));
    std::memcpy(v_cache + past * d, v + i * d, d * sizeof(float));
    s->row_k[i] = k_cache + shared * d;
    s->row_v[i] = v_cache + shared * d;
  }
  // Per row, RunDecoder's causal call with q_offset = past (the one query sees every key).
  const int64_t layer_offset = static_cast<int64_t>(layer) * hp.n_text_ctx * d;
  AttentionSharedPrefix(ctx, q, d, n, s->shared_k + layer_offset, s->shared_v + layer_offset, shared, s->row_k.data(),
                        s->row_v.data(), past + 1 - shared, d, hp.n_text_head, d / hp.n_text_head, s->attn.data(), d);
  ApplyLinear(ctx, b.attn.out, s->attn.data(), n, t.h.data(), d);
  AddInPlace(ctx, x, t.h.data(), n * d);
}

}  // namespace

void ForkDecoderBatch(const HParams& hp, const DecoderState& prefilled, int n_rows, DecoderBatchState* batch) {
  assert(n_rows >= 1);
  assert(static_cast<int>(prefilled.cross_kv.size()) == hp.n_text_layer);
  batch->hparams = hp;
  batch->n_rows = n_rows;
  batch->n_past = prefilled.n_past;
  batch->cross_kv = prefilled.cross_kv.data();
  batch->n_shared = prefilled.n_past;
  batch->shared_k = prefilled.self_k.data();
  batch->shared_v = prefilled.self_v.data();
  // resize, not assign: a slot's positions are written before they are read, and a batch
  // reused across windows keeps its pages.
  const size_t size = static_cast<size_t>(n_rows) * SlotFloats(hp);
  batch->self_k.resize(size);
  batch->self_v.resize(size);
  batch->slot.resize(n_rows);
  for (int r = 0; r < n_rows; ++r) batch->slot[r] = r;
}

void RunDecoderBatch(const ModelWeights& w, const OpContext& ctx, DecoderBatchState* batch, const int32_t* tokens,
                     float* logits) {
  const HParams& hp = w.hparams;
  const int64_t d = hp.n_text_state, n = batch->n_rows, past = batch->n_past;
  assert(n >= 1 && past + 1 <= hp.n_text_ctx && batch->cross_kv != nullptr);

  batch->x.resize(n * d);
  float* x = batch->x.data();
  for (int64_t i = 0; i < n; ++i) {
    assert(tokens[i] >= 0 && tokens[i] < hp.n_vocab);
    if (w.token_embedding.data != nullptr) {
      std::memcpy(x + i * d, w.token_embedding.data + static_cast<int64_t>(tokens[i]) * d, d * sizeof(float));
    } else {  // packed-only model: the row is a column of the vocabulary projection's panels
      UnpackWeightRow(Packed(w.token_embedding), d, tokens[i], x + i * d);
    }
    // Every row is at position `past`: one positional row for all of them.
    AddInPlace(ctx, x + i * d, w.decoder_positional.data + past * d, d);
  }

  for (int l = 0; l < hp.n_text_layer; ++l) {
    const DecoderBlockWeights& b = w.decoder_blocks[l];
    BatchedSelfAttention(ctx, hp, b, l, batch);
    // Cross-attention queries of different rows are independent and share the keys/values:
    // one call with n rows over the window's prepared K/V.
    CrossAttentionSublayer(ctx, b.cross_attn_ln, b.cross_attn, x, n, d, batch->cross_kv[l], &batch->block);
    MlpSublayer(ctx, b.mlp_ln, b.mlp_up, b.mlp_down, x, n, d, &batch->block);
  }
  batch->n_past += 1;

  batch->last.resize(n * d);
  LayerNorm(ctx, x, n, d, w.decoder_ln.gamma.data, w.decoder_ln.beta.data, batch->last.data());
  LinearOp(ctx, batch->last.data(), n, d, w.token_embedding.data, hp.n_vocab, nullptr, logits, hp.n_vocab,
           Packed(w.token_embedding));
}

void ReorderRows(DecoderBatchState* batch, const int* source_indices) {
  const HParams& hp = batch->hparams;
  const int n = batch->n_rows;
  // Reading a cache the same call overwrites would need a temporary copy; instead each source
  // slot goes, uncopied, to the first row that asks for it, and only the remaining rows get a
  // copy, into slots no new row holds. A slot is free iff its old row is no one's source, so no
  // copy reads a slot that is being written.
  std::vector<int>& taken = batch->taken;  // old row -> its slot is held by a new row
  std::vector<int>& new_slot = batch->new_slot;
  taken.assign(n, 0);
  new_slot.assign(n, -1);
  for (int i = 0; i < n; ++i) {
    const int src = source_indices[i];
    assert(src >= 0 && src < n);
    if (!taken[src]) {
      taken[src] = 1;
      new_slot[i] = batch->slot[src];
    }
  }
  int free_row = 0;
  for (int i = 0; i < n; ++i) {
    if (new_slot[i] >= 0) continue;
    while (taken[free_row]) ++free_row;
    taken[free_row] = 1;
    new_slot[i] = batch->slot[free_row];
    CopySlotRows(hp, batch->slot[source_indices[i]], new_slot[i], batch);
  }
  batch->slot.swap(new_slot);
}

const float* BatchRowSelfK(const DecoderBatchState& batch, int row, int layer) {
  const HParams& hp = batch.hparams;
  return batch.self_k.data() + batch.slot[row] * SlotFloats(hp) + layer * LayerFloats(hp);
}

const float* BatchRowSelfV(const DecoderBatchState& batch, int row, int layer) {
  const HParams& hp = batch.hparams;
  return batch.self_v.data() + batch.slot[row] * SlotFloats(hp) + layer * LayerFloats(hp);
}

}  // namespace wisp
