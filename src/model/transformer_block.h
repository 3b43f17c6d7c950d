// Sublayers shared by the encoder and the decoder: pre-LN residual attention and MLP.
#pragma once
#include <cstdint>
#include <vector>

#include "model/weights.h"
#include "ops/ops.h"

namespace wisp {

struct BlockScratch {
  std::vector<float> h, qkv, attn, mlp;
};

// x (n, d) += out_proj(attention(q, k, v)) with q, k, v projected from ln(x); non-causal,
// no cache: the encoder's self-attention.
void SelfAttentionSublayer(const OpContext& ctx, const LayerNormWeights& ln, const AttentionWeights& a, int n_head,
                           float* x, int64_t n, int64_t d, BlockScratch* s);

// x (n, d) += out_proj(attention(q(ln(x)), k, v)) for keys/values (n_kv, d) held by the caller:
// the decoder's cross-attention (k, v from the audio: append_k/v null) and its cached causal
// self-attention (append_k/v: the cache rows where this call's k(ln(x)), v(ln(x)) go first).
void AttentionSublayerWithKv(const OpContext& ctx, const LayerNormWeights& ln, const AttentionWeights& a,
                             int n_head, float* x, int64_t n, int64_t d, float* append_k, float* append_v,
                             const float* k, const float* v, int64_t n_kv, bool causal, int64_t q_offset,
                             BlockScratch* s);

// x (n, d) += out_proj(attention(q(ln(x)), prepared keys/values)): the decoder's cross-attention.
void CrossAttentionSublayer(const OpContext& ctx, const LayerNormWeights& ln, const AttentionWeights& a, float* x,
                            int64_t n, int64_t d, const PreparedKv& kv, BlockScratch* s);

// CrossAttentionSublayer that also writes the pre-softmax scores (AttentionScores) of the given
// heads of this layer, one (n, kv.n_kv) matrix per head in order, into scores: the opt-in path of
// word timestamps. x is updated exactly as by CrossAttentionSublayer.
void CrossAttentionSublayerWithScores(const OpContext& ctx, const LayerNormWeights& ln, const AttentionWeights& a,
                                      float* x, int64_t n, int64_t d, const PreparedKv& kv,
                                      const std::vector<int>& heads, float* scores, BlockScratch* s);

// x (n, d) += down(gelu(up(ln(x)))).
void MlpSublayer(const OpContext& ctx, const LayerNormWeights& ln, const Linear& up, const Linear& down, float* x,
                 int64_t n, int64_t d, BlockScratch* s);

inline PackedWeightView Packed(const Tensor& t) {
  return {t.packed, t.packed_f16, t.packed_q8_0, t.packed_q8_0_int, t.packed_q8_min_int, t.packed_bf16};
}

// The caller's context with attention in the weights' compute type (bf16 weights: bf16 QK^T and
// PV), so engines and tools need not know how the model was loaded. int8 weights: the encoder's
// attention in reduced precision (ops.cc picks bf16 or int8 products), the decoder's in f32 --
// reduced-precision products in the decoder's self-attention sent q4_0's 170-s real-speech file
// into a repetition loop (pooled WER 0.33 -> 1.21), where the encoder's alone left it at 0.27-0.38.
inline OpContext WithComputeOf(const ModelWeights& w, const OpContext& ctx, bool decoder = false) {
  OpContext c = ctx;
  if (w.compute == ComputeType::kBf16 || (w.compute == ComputeType::kInt8 && !decoder)) c.compute = w.compute;
  return c;
}

// The context the decoder's cross-attention K/V are prepared in (their panels' precision is then
// that of every step's products over them): the decoder's, or bf16 under int8 where the weights
// allow it (ModelWeights::cross_kv_bf16). The self-attention keeps WithComputeOf's.
inline OpContext CrossKvContextOf(const ModelWeights& w, const OpContext& ctx) {
  OpContext c = WithComputeOf(w, ctx, /*decoder=*/true);
  if (w.cross_kv_bf16) c.compute = ComputeType::kBf16;
  return c;
}

// y (n, out) = x (n, in) W^T + b for one Linear layer, into a buffer of row stride ldy.
inline void ApplyLinear(const OpContext& ctx, const Linear& l, const float* x, int64_t n, float* y,
                        int64_t ldy) {
  LinearOp(ctx, x, n, l.w.cols(), l.w.data, l.w.rows(), l.b.data, y, ldy, Packed(l.w));
}

}  // namespace wisp
