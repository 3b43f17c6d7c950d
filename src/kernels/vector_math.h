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

}  // namespace wisp::kernels
