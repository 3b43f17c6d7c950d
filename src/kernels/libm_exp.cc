// Dispatch and the portable (scalar libm) forms of libm_exp.h.
#include "kernels/libm_exp.h"

#include <cmath>

namespace wisp::kernels {

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
