// Op entry points: time the call, then run the context's backend.
#include "ops/ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/ops_fast.h"
#include "ops/ops_reference.h"

namespace wisp {
namespace {
bool IsFast(const OpContext& ctx) { return ctx.backend == Backend::kFast; }
// bf16 attention products where asked for and the CPU has them; never an emulated bf16.
bool Bf16Attention(const OpContext& ctx) {
  return ctx.compute == ComputeType::kBf16 && fast::Bf16ProductsAvailable();
}
// Attention's products in the context's compute type. Compute int8 takes bf16 where the CPU has
// AVX512_BF16: on this Zen 4 one encoder layer's attention (1500 x 1500, 6 heads of 64) took
// 21 ms in bf16 against 28 ms in int8 (f32: 35 ms) -- QK^T's inner axis is only 2 blocks of 32,
// so the integer tiles spend as much on their per-block scaling as on vpdpbusd -- with the same
// drift on real speech (docs/PERFORMANCE.md). int8 products are the fast path of VNNI CPUs
// without BF16 (Cascade Lake, Ice Lake); fast::Attention runs f32 where neither exists.
fast::AttentionProducts AttentionProductsOf(const OpContext& ctx) {
  if (ctx.compute == ComputeType::kInt8) {
    return fast::Bf16ProductsAvailable() ? fast::AttentionProducts::kBf16 : fast::AttentionProducts::kInt8;
  }
  return Bf16Attention(ctx) ? fast::AttentionProducts::kBf16 : fast::AttentionProducts::kF32;
}
}  // namespace

void LinearOp(const OpContext& ctx, const float* x, int64_t M, int64_t K, const float* W, int64_t N,
              const float* bias, float* y, int64_t ldy, PackedWeightView packed_w) {
  OpScope scope(ctx.profiler, "linear", IsFast(ctx));
  if (IsFast(ctx)) return fast::Linear(ctx.pool, x, M, K, W, N, bias, y, ldy, packed_w);
  reference::Linear(x, M, K, W, N, bias, y, ldy);
}

void LayerNorm(const OpContext& ctx, const float* x, int64_t rows, int64_t n, const float* gamma,
               const float* beta, float* y) {
  OpScope scope(ctx.profiler, "layer_norm", IsFast(ctx));
  if (IsFast(ctx)) return fast::LayerNorm(ctx.pool, x, rows, n, gamma, beta, y);
  reference::LayerNorm(x, rows, n, gamma, beta, y);
}

void Gelu(const OpContext& ctx, float* x, int64_t n) {
  OpScope scope(ctx.profiler, "gelu", IsFast(ctx));
  if (IsFast(ctx)) return fast::Gelu(ctx.pool, x, n);
  reference::Gelu(x, n);
}

void AddInPlace(const OpContext& ctx, float* y, const float* x, int64_t n) {
  OpScope scope(ctx.profiler, "add", IsFast(ctx));
  if (IsFast(ctx)) return fast::AddInPlace(ctx.pool, y, x, n);
  reference::AddInPlace(y, x, n);
}

void Conv1dK3(const OpContext& ctx, const float* x, int64_t c_in, int64_t t_in, int64_t cs, int64_t ts,
              const float* W, const float* bias, int64_t c_out, int stride, float* y, PackedWeightView packed_w) {
  OpScope scope(ctx.profiler, "conv1d", IsFast(ctx));
  if (IsFast(ctx)) return fast::Conv1dK3(ctx.pool, x, c_in, t_in, cs, ts, W, bias, c_out, stride, y, packed_w);
  reference::Conv1dK3(x, c_in, t_in, cs, ts, W, bias, c_out, stride, y);
}

void Attention(const OpContext& ctx, const float* q, int64_t ldq, int64_t n_q, const float* k, int64_t ldk,
               const float* v, int64_t ldv, int64_t n_kv, int n_heads, int64_t head_dim, bool causal,
               int64_t q_offset, float* out) {
  OpScope scope(ctx.profiler, "attention", IsFast(ctx));
  if (IsFast(ctx)) {
    return fast::Attention(ctx.pool, q, ldq, n_q, k, ldk, v, ldv, n_kv, n_heads, head_dim, causal, q_offset, out,
                           AttentionProductsOf(ctx));
  }
  reference::Attention(q, ldq, n_q, k, ldk, v, ldv, n_kv, n_heads, head_dim, causal, q_offset, out);
}

void AttentionSharedPrefix(const OpContext& ctx, const float* q, int64_t ldq, int64_t n_rows, const float* prefix_k,
                           const float* prefix_v, int64_t n_prefix, const float* const* row_k,
                           const float* const* row_v, int64_t n_suffix, int64_t ld, int n_heads, int64_t head_dim,
                           float* out, int64_t ldo) {
  OpScope scope(ctx.profiler, "attention", IsFast(ctx));
  if (IsFast(ctx)) {
    return fast::AttentionSharedPrefix(ctx.pool, q, ldq, n_rows, prefix_k, prefix_v, n_prefix, row_k, row_v, n_suffix,
                                       ld, n_heads, head_dim, out, ldo);
  }
  // The reference states the definition: each row's keys laid end to end, one plain call.
  const int64_t width = n_heads * head_dim, n_kv = n_prefix + n_suffix;
  std::vector<float> k(n_kv * width), v(n_kv * width);
  for (int64_t i = 0; i < n_rows; ++i) {
    for (int64_t j = 0; j < n_kv; ++j) {
      const float* ks = j < n_prefix ? prefix_k + j * ld : row_k[i] + (j - n_prefix) * ld;
      const float* vs = j < n_prefix ? prefix_v + j * ld : row_v[i] + (j - n_prefix) * ld;
      std::copy(ks, ks + width, k.begin() + j * width);
      std::copy(vs, vs + width, v.begin() + j * width);
    }
    reference::Attention(q + i * ldq, ldq, 1, k.data(), width, v.data(), width, n_kv, n_heads, head_dim,
                         /*causal=*/true, n_kv - 1, out + i * ldo);
  }
}

void AttentionScores(const OpContext& ctx, const float* q, int64_t ldq, int64_t n_q, const float* k, int64_t ldk,
                     int64_t n_kv, int head, int64_t head_dim, float* out) {
  OpScope scope(ctx.profiler, "attention_scores", IsFast(ctx));
  // The head's columns gathered and scaled into contiguous copies turn the scores into one
  // Linear product (K_h plays the weight), so both backends reuse their matrix kernels.
  const float s = static_cast<float>(std::pow(static_cast<double>(head_dim), -0.25));
  std::vector<float> qh(n_q * head_dim), kh(n_kv * head_dim);
  const int64_t col = static_cast<int64_t>(head) * head_dim;
  for (int64_t i = 0; i < n_q; ++i) {
    for (int64_t c = 0; c < head_dim; ++c) qh[i * head_dim + c] = q[i * ldq + col + c] * s;
  }
  for (int64_t j = 0; j < n_kv; ++j) {
    for (int64_t c = 0; c < head_dim; ++c) kh[j * head_dim + c] = k[j * ldk + col + c] * s;
  }
  if (IsFast(ctx)) return fast::Linear(ctx.pool, qh.data(), n_q, head_dim, kh.data(), n_kv, nullptr, out, n_kv, {});
  reference::Linear(qh.data(), n_q, head_dim, kh.data(), n_kv, nullptr, out, n_kv);
}

PanelVector<float> PackLinearWeight(const float* W, int64_t N, int64_t K) { return fast::PackLinearWeight(W, N, K); }
void UnpackWeightRow(PackedWeightView packed_w, int64_t K, int64_t n, float* out) {
  fast::UnpackWeightRow(packed_w, K, n, out);
}
PanelVector<uint8_t> PackLinearWeightQ8_0(const uint8_t* blocks, int64_t N, int64_t K) {
  return fast::PackLinearWeightQ8_0(blocks, N, K);
}
bool Q8IntegerProductsAvailable() { return fast::Q8IntegerProductsAvailable(); }
PanelVector<uint8_t> PackLinearWeightQ8_0Int(const uint8_t* blocks, int64_t N, int64_t K) {
  return fast::PackLinearWeightQ8_0Int(blocks, N, K);
}
PanelVector<uint8_t> PackLinearWeightQ8MinInt(const uint8_t* blocks, int64_t N, int64_t K) {
  return fast::PackLinearWeightQ8MinInt(blocks, N, K);
}
PanelVector<uint16_t> PackLinearWeightF16(const float* W, int64_t N, int64_t K) {
  return fast::PackLinearWeightF16(W, N, K);
}
PanelVector<uint16_t> PackLinearWeightHalf(const uint8_t* W, int64_t N, int64_t K) {
  return fast::PackLinearWeightHalf(W, N, K);
}
bool Bf16ProductsAvailable() { return fast::Bf16ProductsAvailable(); }
PanelVector<uint16_t> PackLinearWeightBf16(const float* W, int64_t N, int64_t K) {
  return fast::PackLinearWeightBf16(W, N, K);
}
PanelVector<uint16_t> PackLinearWeightHalfBf16(const uint8_t* W, int64_t N, int64_t K) {
  return fast::PackLinearWeightHalfBf16(W, N, K);
}

void PrepareKv(const OpContext& ctx, const float* k, int64_t ldk, const float* v, int64_t ldv, int64_t n_kv,
               int n_heads, int64_t head_dim, PreparedKv* out) {
  OpScope scope(ctx.profiler, "prepare_kv", IsFast(ctx));
  out->k = k;
  out->v = v;
  out->ldk = ldk;
  out->ldv = ldv;
  out->n_kv = n_kv;
  out->n_heads = n_heads;
  out->head_dim = head_dim;
  if (IsFast(ctx)) return fast::PackKv(ctx.pool, out, Bf16Attention(ctx));
  out->kt_panels.clear();
  out->v_panels.clear();
  out->kt_bf16.clear();
  out->v_bf16.clear();
}

void AttentionPrepared(const OpContext& ctx, const float* q, int64_t ldq, int64_t n_q, const PreparedKv& kv,
                       float* out) {
  OpScope scope(ctx.profiler, "attention", IsFast(ctx));
  if (IsFast(ctx) && (!kv.kt_panels.empty() || !kv.kt_bf16.empty())) return fast::AttentionPacked(ctx.pool, q, ldq, n_q, kv, false, 0, out);
  if (IsFast(ctx)) {
    return fast::Attention(ctx.pool, q, ldq, n_q, kv.k, kv.ldk, kv.v, kv.ldv, kv.n_kv, kv.n_heads, kv.head_dim, false,
                           0, out);
  }
  reference::Attention(q, ldq, n_q, kv.k, kv.ldk, kv.v, kv.ldv, kv.n_kv, kv.n_heads, kv.head_dim, false, 0, out);
}

}  // namespace wisp
