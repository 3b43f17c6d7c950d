#include "kernels/vector_math.h"

#include <cmath>

namespace wisp::kernels {

float ScaledExpSumGeneric(float*, int64_t, float, float);
void GeluErfGeneric(float*, int64_t);
void WeightedRowSumGeneric(const float*, int64_t, const float*, int64_t, int64_t, float*);
void WeightedRowSum2Generic(const float*, int64_t, const float*, int64_t, int64_t, const float*, int64_t, int64_t, float*);
float MaxValueGeneric(const float*, int64_t);
void Median7Generic(const float*, int64_t, float*);
void LayerNormRowGeneric(const float*, int64_t, const float*, const float*, float, float*);
#if defined(__x86_64__)
void WeightedRowSumAvx2(const float*, int64_t, const float*, int64_t, int64_t, float*);
void WeightedRowSumAvx512(const float*, int64_t, const float*, int64_t, int64_t, float*);
void WeightedRowSum2Avx2(const float*, int64_t, const float*, int64_t, int64_t, const float*, int64_t, int64_t, float*);
void WeightedRowSum2Avx512(const float*, int64_t, const float*, int64_t, int64_t, const float*, int64_t, int64_t, float*);
float ScaledExpSumAvx2(float*, int64_t, float, float);
void GeluErfAvx2(float*, int64_t);
float ScaledExpSumAvx512(float*, int64_t, float, float);
void GeluErfAvx512(float*, int64_t);
float MaxValueAvx2(const float*, int64_t);
float MaxValueAvx512(const float*, int64_t);
void Median7Avx2(const float*, int64_t, float*);
void Median7Avx512(const float*, int64_t, float*);
void LayerNormRowAvx2(const float*, int64_t, const float*, const float*, float, float*);
void LayerNormRowAvx512(const float*, int64_t, const float*, const float*, float, float*);
#endif

float ScaledExpSum(Isa isa, float* x, int64_t n, float scale, float shift) {
  switch (isa) {
#if defined(__x86_64__)
    case Isa::kAvx512: return ScaledExpSumAvx512(x, n, scale, shift);
    case Isa::kAvx2: return ScaledExpSumAvx2(x, n, scale, shift);
#endif
    default: return ScaledExpSumGeneric(x, n, scale, shift);
  }
}

void GeluErf(Isa isa, float* x, int64_t n) {
  switch (isa) {
#if defined(__x86_64__)
    case Isa::kAvx512: return GeluErfAvx512(x, n);
    case Isa::kAvx2: return GeluErfAvx2(x, n);
#endif
    default: return GeluErfGeneric(x, n);
  }
}

void WeightedRowSum(Isa isa, const float* p, int64_t n, const float* V, int64_t ldv, int64_t dim, float* out) {
  switch (isa) {
#if defined(__x86_64__)
    case Isa::kAvx512: return WeightedRowSumAvx512(p, n, V, ldv, dim, out);
    case Isa::kAvx2: return WeightedRowSumAvx2(p, n, V, ldv, dim, out);
#endif
    default: return WeightedRowSumGeneric(p, n, V, ldv, dim, out);
  }
}

void WeightedRowSum2(Isa isa, const float* p, int64_t n1, const float* V1, int64_t ldv1, int64_t n2, const float* V2,
                     int64_t ldv2, int64_t dim, float* out) {
  switch (isa) {
#if defined(__x86_64__)
    case Isa::kAvx512: return WeightedRowSum2Avx512(p, n1, V1, ldv1, n2, V2, ldv2, dim, out);
    case Isa::kAvx2: return WeightedRowSum2Avx2(p, n1, V1, ldv1, n2, V2, ldv2, dim, out);
#endif
    default: return WeightedRowSum2Generic(p, n1, V1, ldv1, n2, V2, ldv2, dim, out);
  }
}

void Median7(Isa isa, const float* x, int64_t width, float* out) {
  switch (isa) {
#if defined(__x86_64__)
    case Isa::kAvx512: return Median7Avx512(x, width, out);
    case Isa::kAvx2: return Median7Avx2(x, width, out);
#endif
    default: return Median7Generic(x, width, out);
  }
}

float MaxValue(Isa isa, const float* x, int64_t n) {
  switch (isa) {
#if defined(__x86_64__)
    case Isa::kAvx512: return MaxValueAvx512(x, n);
    case Isa::kAvx2: return MaxValueAvx2(x, n);
#endif
    default: return MaxValueGeneric(x, n);
  }
}

void LayerNormRow(Isa isa, const float* x, int64_t n, const float* gamma, const float* beta, float eps, float* y) {
  switch (isa) {
#if defined(__x86_64__)
    case Isa::kAvx512: return LayerNormRowAvx512(x, n, gamma, beta, eps, y);
    case Isa::kAvx2: return LayerNormRowAvx2(x, n, gamma, beta, eps, y);
#endif
    default: return LayerNormRowGeneric(x, n, gamma, beta, eps, y);
  }
}

#if defined(__x86_64__)
float Lane8ExpSumAvx512(const float* x, int64_t n, float max_value);
void ExpShiftedAvx512(const float* x, int64_t n, float shift, float* out);
#endif

namespace {

float Lane8ExpSumScalar(const float* x, int64_t n, float max_value) {
  constexpr int64_t kLanes = 8;
  if (n < kLanes) {
    // vec_reduce_all(red, map(loadu(data, n)), n): the valid lanes summed in order.
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum = i == 0 ? std::exp(x[0] - max_value) : sum + std::exp(x[i] - max_value);
    return sum;
  }
  float acc[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) acc[l] = std::exp(x[l] - max_value);
  int64_t d = kLanes;
  for (; d + kLanes <= n; d += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) acc[l] += std::exp(x[d + l] - max_value);
  }
  for (int64_t l = 0; d + l < n; ++l) acc[l] += std::exp(x[d + l] - max_value);  // Vec::set(acc, acc + v, n - d)
  for (int l = 0; l < 4; ++l) acc[l] += acc[l + 4];
  for (int l = 0; l < 2; ++l) acc[l] += acc[l + 2];
  return acc[0] + acc[1];
}

}  // namespace

float Lane8ExpSum(Isa isa, const float* x, int64_t n, float max_value) {
#if defined(__x86_64__)
  if (isa == Isa::kAvx512) return Lane8ExpSumAvx512(x, n, max_value);
#endif
  (void)isa;
  return Lane8ExpSumScalar(x, n, max_value);
}

void ExpShifted(Isa isa, const float* x, int64_t n, float shift, float* out) {
#if defined(__x86_64__)
  if (isa == Isa::kAvx512) return ExpShiftedAvx512(x, n, shift, out);
#endif
  (void)isa;
  for (int64_t i = 0; i < n; ++i) out[i] = std::exp(x[i] - shift);
}

}  // namespace wisp::kernels
