// The reference backend: same contracts as ops.h, single-threaded plain loops.
#pragma once
#include <cstdint>

namespace wisp::reference {

void Linear(const float* x, int64_t M, int64_t K, const float* W, int64_t N, const float* bias, float* y,
            int64_t ldy);
void LayerNorm(const float* x, int64_t rows, int64_t n, const float* gamma, const float* beta, float* y);
void Gelu(float* x, int64_t n);
void AddInPlace(float* y, const float* x, int64_t n);
void Conv1dK3(const float* x, int64_t c_in, int64_t t_in, int64_t cs, int64_t ts, const float* W, const float* bias, int64_t c_out,
              int stride, float* y);
void Attention(const float* q, int64_t ldq, int64_t n_q, const float* k, int64_t ldk, const float* v, int64_t ldv,
               int64_t n_kv, int n_heads, int64_t head_dim, bool causal, int64_t q_offset, float* out);

}  // namespace wisp::reference
