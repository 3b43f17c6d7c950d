// exp over float vectors with every result equal to the scalar std::exp(float) of glibc (its
// expf, the FMA variant that glibc >= 2.28 selects on any CPU with AVX2 + FMA), in the summation
// orders the decoding loop's log-softmax needs.
//
// Why not the fast approximate exp of vector_math.h: the decoding loop's log-probabilities
// (beam scores, avg_logprob, the timestamp rule's comparison) are reproduced to the last bit of
// the scalar code that was validated against openai-whisper, and a 1-ulp change in one term of a
// 51864-term sum can move them. So the AVX-512 path computes glibc's own algorithm (2^(k/32)
// table, degree-3 polynomial in double, the same fused multiply-adds): identical results for
// every one of the 2^32 float inputs (checked exhaustively; libm_exp_test.cc samples it). Lanes
// outside glibc's fast path (|x| >= 88, NaN, +inf) go to std::exp; -inf gives 0 in the vector.
#pragma once
#include <cstdint>

#include "kernels/gemm.h"

namespace wisp::kernels {

// sum of exp(x[i] - max_value) for i < n in float32, in torch's CPU softmax order: 8 lanes, lane
// l accumulating x[l], x[l + 8], ... (a partial last vector updating only its valid lanes),
// folded 0-3 + 4-7, 0-1 + 2-3, 0 + 1; n < 8 summed in order. (pipeline/logit_filters.h.)
float Lane8ExpSum(Isa isa, const float* x, int64_t n, float max_value);

// out[i] = exp(x[i] - shift) for i < n (the subtraction in float, as the scalar code writes it).
void ExpShifted(Isa isa, const float* x, int64_t n, float shift, float* out);

}  // namespace wisp::kernels
