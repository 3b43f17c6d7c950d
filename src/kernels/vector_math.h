// Element-wise transcendental kernels with runtime ISA dispatch: the softmax's exp and GELU's
// erf are where a scalar libm call per element would dominate attention and the MLP.
#pragma once
#include <cstdint>

#include "kernels/gemm.h"

namespace wisp::kernels {

// x[i] = exp(x[i] * scale - shift) for i < n; returns the sum of the results.
// Max relative error ~2 ulp against std::exp over [-87, 88]; results underflow to 0 below.
float ScaledExpSum(Isa isa, float* x, int64_t n, float scale, float shift);

// x[i] = 0.5 x (1 + erf(x / sqrt 2)) (exact-erf GELU, torch.nn.GELU()); abs error < 3e-7 |x|.
void GeluErf(Isa isa, float* x, int64_t n);

// out[d] = sum_j p[j] * V[j * ldv + d] for d < dim: a probability-weighted sum of value rows
// (attention's P·V for one query, when packing V would cost as much as using it).
void WeightedRowSum(Isa isa, const float* p, int64_t n, const float* V, int64_t ldv, int64_t dim, float* out);

// WeightedRowSum over value rows in two places: p[0, n1) weights V1's rows, p[n1, n1 + n2) V2's,
// accumulated in that order, so the result equals WeightedRowSum over the rows laid end to end
// (bit for bit): a shared prefix of keys (beam search's common prompt) need not be copied.
void WeightedRowSum2(Isa isa, const float* p, int64_t n1, const float* V1, int64_t ldv1, int64_t n2, const float* V2,
                     int64_t ldv2, int64_t dim, float* out);

// out[t] = the median of x[t, t + 7) for t < width (x holds width + 6 floats): the word-timestamp
// median filter's default width, by a sorting network. With NaN in a window the result is
// unspecified (the caller takes another path); otherwise it is the 4th smallest value exactly.
void Median7(Isa isa, const float* x, int64_t width, float* out);

// The largest of x[0, n) (-inf for n = 0): the softmax's row maximum.
float MaxValue(Isa isa, const float* x, int64_t n);

// y = (x - mean) / sqrt(var + eps) * gamma + beta over one row of n (biased variance, two
// passes in f32 as torch computes it). y may equal x.
void LayerNormRow(Isa isa, const float* x, int64_t n, const float* gamma, const float* beta, float eps, float* y);

// ---- exp equal to libm's ----
// exp over float vectors with every result equal to the scalar std::exp(float) of glibc (its
// expf, the FMA variant that glibc >= 2.28 selects on any CPU with AVX2 + FMA), in the summation
// orders the decoding loop's log-softmax needs.
//
// Why not ScaledExpSum's fast approximate exp above: the decoding loop's log-probabilities
// (beam scores, avg_logprob, the timestamp rule's comparison) are reproduced to the last bit of
// the scalar code that was validated against openai-whisper, and a 1-ulp change in one term of a
// 51864-term sum can move them. So the AVX-512 path computes glibc's own algorithm (2^(k/32)
// table, degree-3 polynomial in double, the same fused multiply-adds): identical results for
// every one of the 2^32 float inputs (checked exhaustively; vector_math_test.cc samples it). Lanes
// outside glibc's fast path (|x| >= 88, NaN, +inf) go to std::exp; -inf gives 0 in the vector.

// sum of exp(x[i] - max_value) for i < n in float32, in torch's CPU softmax order: 8 lanes, lane
// l accumulating x[l], x[l + 8], ... (a partial last vector updating only its valid lanes),
// folded 0-3 + 4-7, 0-1 + 2-3, 0 + 1; n < 8 summed in order. (pipeline/logit_filters.h.)
float Lane8ExpSum(Isa isa, const float* x, int64_t n, float max_value);

// out[i] = exp(x[i] - shift) for i < n (the subtraction in float, as the scalar code writes it).
void ExpShifted(Isa isa, const float* x, int64_t n, float shift, float* out);

}  // namespace wisp::kernels
