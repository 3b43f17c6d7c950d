#include "model/transformer_block.h"

namespace wisp {

void SelfAttentionSublayer(const OpContext& ctx, const LayerNormWeights& ln, const AttentionWeights& a, int n_head,
                           float* x, int64_t n, int64_t d, BlockScratch* s) {
  s->h.resize(n * d);
  s->qkv.resize(n * 3 * d);
  s->attn.resize(n * d);
  LayerNorm(ctx, x, n, d, ln.gamma.data, ln.beta.data, s->h.data());
  // q, k, v side by side in one (n, 3d) buffer: attention reads them with row stride 3d.
  float* qkv = s->qkv.data();
  ApplyLinear(ctx, a.query, s->h.data(), n, qkv, 3 * d);
  ApplyLinear(ctx, a.key, s->h.data(), n, qkv + d, 3 * d);
  ApplyLinear(ctx, a.value, s->h.data(), n, qkv + 2 * d, 3 * d);
  Attention(ctx, qkv, 3 * d, n, qkv + d, 3 * d, qkv + 2 * d, 3 * d, n, n_head, d / n_head, /*causal=*/false, 0,
            s->attn.data());
  ApplyLinear(ctx, a.out, s->attn.data(), n, s->h.data(), d);
  AddInPlace(ctx, x, s->h.data(), n * d);
}

void AttentionSublayerWithKv(const OpContext& ctx, const LayerNormWeights& ln, const AttentionWeights& a,
                             int n_head, float* x, int64_t n, int64_t d, float* append_k, float* append_v,
                             const float* k, const float* v, int64_t n_kv, bool causal, int64_t q_offset,
                             BlockScratch* s) {
  s->h.resize(n * d);
  s->qkv.resize(n * d);
  s->attn.resize(n * d);
  LayerNorm(ctx, x, n, d, ln.gamma.data, ln.beta.data, s->h.data());
  ApplyLinear(ctx, a.query, s->h.data(), n, s->qkv.data(), d);
  if (append_k != nullptr) {
    ApplyLinear(ctx, a.key, s->h.data(), n, append_k, d);
    ApplyLinear(ctx, a.value, s->h.data(), n, append_v, d);
  }
  Attention(ctx, s->qkv.data(), d, n, k, d, v, d, n_kv, n_head, d / n_head, causal, q_offset, s->attn.data());
  ApplyLinear(ctx, a.out, s->attn.data(), n, s->h.data(), d);
  AddInPlace(ctx, x, s->h.data(), n * d);
}

void CrossAttentionSublayer(const OpContext& ctx, const LayerNormWeights& ln, const AttentionWeights& a, float* x,
                            int64_t n, int64_t d, const PreparedKv& kv, BlockScratch* s) {
  s->h.resize(n * d);
  s->qkv.resize(n * d);
  s->attn.resize(n * d);
  LayerNorm(ctx, x, n, d, ln.gamma.data, ln.beta.data, s->h.data());
  ApplyLinear(ctx, a.query, s->h.data(), n, s->qkv.data(), d);
  AttentionPrepared(ctx, s->qkv.data(), d, n, kv, s->attn.data());
  ApplyLinear(ctx, a.out, s->attn.data(), n, s->h.data(), d);
  AddInPlace(ctx, x, s->h.data(), n * d);
}

void CrossAttentionSublayerWithScores(const OpContext& ctx, const LayerNormWeights& ln, const AttentionWeights& a,
                                      float* x, int64_t n, int64_t d, const PreparedKv& kv,
                                      const std::vector<int>& heads, float* scores, BlockScratch* s) {
  s->h.resize(n * d);
  s->qkv.resize(n * d);
  s->attn.resize(n * d);
  LayerNorm(ctx, x, n, d, ln.gamma.data, ln.beta.data, s->h.data());
  ApplyLinear(ctx, a.query, s->h.data(), n, s->qkv.data(), d);
  // The scores come from the same q and the unpacked K the prepared object points to, so they are
  // the weights this very attention call uses (up to the fused kernel's summation order).
  for (size_t i = 0; i < heads.size(); ++i) {
    AttentionScores(ctx, s->qkv.data(), d, n, kv.k, kv.ldk, kv.n_kv, heads[i], kv.head_dim,
                    scores + static_cast<int64_t>(i) * n * kv.n_kv);
  }
  AttentionPrepared(ctx, s->qkv.data(), d, n, kv, s->attn.data());
  ApplyLinear(ctx, a.out, s->attn.data(), n, s->h.data(), d);
  AddInPlace(ctx, x, s->h.data(), n * d);
}

void MlpSublayer(const OpContext& ctx, const LayerNormWeights& ln, const Linear& up, const Linear& down, float* x,
                 int64_t n, int64_t d, BlockScratch* s) {
  const int64_t hidden = up.w.rows();
  s->h.resize(n * d);
  s->mlp.resize(n * hidden);
  LayerNorm(ctx, x, n, d, ln.gamma.data, ln.beta.data, s->h.data());
  ApplyLinear(ctx, up, s->h.data(), n, s->mlp.data(), hidden);
  Gelu(ctx, s->mlp.data(), n * hidden);
  ApplyLinear(ctx, down, s->mlp.data(), n, s->h.data(), d);
  AddInPlace(ctx, x, s->h.data(), n * d);
}

}  // namespace wisp
