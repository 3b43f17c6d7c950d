// The fast backend: SIMD kernels (runtime ISA dispatch) and the context's thread pool. bf16 flags
// ask for bf16 products and are honoured only where Bf16ProductsAvailable(); int8 attention only
// where Q8IntegerProductsAvailable().
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "ops/ops.h"
#include "util/thread_pool.h"

namespace wisp::fast {

// fn over [0, n) in chunks of at least grain on the pool's threads, or on the caller's (pool null).
void ForRange(ThreadPool* pool, int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

void Linear(ThreadPool* pool, const float* x, int64_t M, int64_t K, const float* W, int64_t N, const float* bias,
            float* y, int64_t ldy, PackedWeightView packed_w);
PanelVector<float> PackLinearWeight(const float* W, int64_t N, int64_t K);
void UnpackWeightRow(PackedWeightView packed_w, int64_t K, int64_t n, float* out);
PanelVector<uint16_t> PackLinearWeightF16(const float* W, int64_t N, int64_t K);
PanelVector<uint16_t> PackLinearWeightHalf(const uint8_t* W, int64_t N, int64_t K);
PanelVector<uint8_t> PackLinearWeightQ8_0(const uint8_t* blocks, int64_t N, int64_t K);
bool Q8IntegerProductsAvailable();
PanelVector<uint8_t> PackLinearWeightQ8_0Int(const uint8_t* blocks, int64_t N, int64_t K);
PanelVector<uint8_t> PackLinearWeightQ8MinInt(const uint8_t* blocks, int64_t N, int64_t K);
bool Bf16ProductsAvailable();
PanelVector<uint16_t> PackLinearWeightBf16(const float* W, int64_t N, int64_t K);
PanelVector<uint16_t> PackLinearWeightHalfBf16(const uint8_t* W, int64_t N, int64_t K);
void LayerNorm(ThreadPool* pool, const float* x, int64_t rows, int64_t n, const float* gamma, const float* beta,
               float* y);
void Gelu(ThreadPool* pool, float* x, int64_t n);
void AddInPlace(ThreadPool* pool, float* y, const float* x, int64_t n);
void Conv1dK3(ThreadPool* pool, const float* x, int64_t c_in, int64_t t_in, int64_t cs, int64_t ts, const float* W,
              const float* bias, int64_t c_out, int stride, float* y, PackedWeightView packed_w);
// The precision of attention's two products on the packed (many-query) path.
enum class AttentionProducts { kF32, kBf16, kInt8 };
void Attention(ThreadPool* pool, const float* q, int64_t ldq, int64_t n_q, const float* k, int64_t ldk,
               const float* v, int64_t ldv, int64_t n_kv, int n_heads, int64_t head_dim, bool causal,
               int64_t q_offset, float* out, AttentionProducts products = AttentionProducts::kF32);
void AttentionSharedPrefix(ThreadPool* pool, const float* q, int64_t ldq, int64_t n_rows, const float* prefix_k,
                           const float* prefix_v, int64_t n_prefix, const float* const* row_k,
                           const float* const* row_v, int64_t n_suffix, int64_t ld, int n_heads, int64_t head_dim,
                           float* out, int64_t ldo);

// Packs K^T and V of every head of kv (pointers and sizes already set) into GEMM panels: f32, or
// bf16 (kt_bf16 / v_bf16).
void PackKv(ThreadPool* pool, PreparedKv* kv, bool bf16 = false);
// Attention over packed K/V (any number of queries), in the precision of kv's panels.
void AttentionPacked(ThreadPool* pool, const float* q, int64_t ldq, int64_t n_q, const PreparedKv& kv, bool causal,
                     int64_t q_offset, float* out);

}  // namespace wisp::fast
