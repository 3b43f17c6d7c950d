// Reference implementations: plain loops, obviously correct, the oracle for every fast op.
#include "ops/ops_reference.h"

#include <cmath>
#include <limits>
#include <vector>

namespace wisp::reference {

void Linear(const float* x, int64_t M, int64_t K, const float* W, int64_t N, const float* bias, float* y,
            int64_t ldy) {
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      float s = 0.0f;
      for (int64_t k = 0; k < K; ++k) s += x[m * K + k] * W[n * K + k];
      y[m * ldy + n] = s + (bias ? bias[n] : 0.0f);
    }
  }
}

void LayerNorm(const float* x, int64_t rows, int64_t n, const float* gamma, const float* beta, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < n; ++i) mean += xr[i];
    mean /= n;
    for (int64_t i = 0; i < n; ++i) var += (xr[i] - mean) * (xr[i] - mean);
    var /= n;
    const double inv = 1.0 / std::sqrt(var + 1e-5);
    for (int64_t i = 0; i < n; ++i) y[r * n + i] = static_cast<float>((xr[i] - mean) * inv) * gamma[i] + beta[i];
  }
}

void Gelu(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * static_cast<float>(M_SQRT1_2)));
}

void AddInPlace(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void Conv1dK3(const float* x, int64_t c_in, int64_t t_in, int64_t cs, int64_t ts, const float* W, const float* bias, int64_t c_out,
              int stride, float* y) {
  const int64_t t_out = (t_in + 2 - 3) / stride + 1;
  for (int64_t t = 0; t < t_out; ++t) {
    for (int64_t o = 0; o < c_out; ++o) {
      float s = bias ? bias[o] : 0.0f;
      for (int64_t c = 0; c < c_in; ++c) {
        for (int j = 0; j < 3; ++j) {
          const int64_t ti = t * stride + j - 1;
          if (ti >= 0 && ti < t_in) s += W[(o * c_in + c) * 3 + j] * x[c * cs + ti * ts];
        }
      }
      y[t * c_out + o] = s;
    }
  }
}

void Attention(const float* q, int64_t ldq, int64_t n_q, const float* k, int64_t ldk, const float* v, int64_t ldv,
               int64_t n_kv, int n_heads, int64_t head_dim, bool causal, int64_t q_offset, float* out) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const int64_t width = n_heads * head_dim;
  std::vector<float> p(n_kv);
  for (int h = 0; h < n_heads; ++h) {
    for (int64_t i = 0; i < n_q; ++i) {
      const int64_t visible = causal ? std::min(n_kv, q_offset + i + 1) : n_kv;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < visible; ++j) {
        float s = 0.0f;
        for (int64_t d = 0; d < head_dim; ++d) s += q[i * ldq + h * head_dim + d] * k[j * ldk + h * head_dim + d];
        p[j] = s * scale;
        mx = std::max(mx, p[j]);
      }
      double sum = 0;
      for (int64_t j = 0; j < visible; ++j) {
        p[j] = std::exp(p[j] - mx);
        sum += p[j];
      }
      for (int64_t d = 0; d < head_dim; ++d) {
        double acc = 0;
        for (int64_t j = 0; j < visible; ++j) acc += p[j] * v[j * ldv + h * head_dim + d];
        out[i * width + h * head_dim + d] = static_cast<float>(acc / sum);
      }
    }
  }
}

}  // namespace wisp::reference
