#include "kernels/vector_math.h"

namespace wisp::kernels {

float ScaledExpSumGeneric(float*, int64_t, float, float);
void GeluErfGeneric(float*, int64_t);
void WeightedRowSumGeneric(const float*, int64_t, const float*, int64_t, int64_t, float*);
#if defined(__x86_64__)
void WeightedRowSumAvx2(const float*, int64_t, const float*, int64_t, int64_t, float*);
void WeightedRowSumAvx512(const float*, int64_t, const float*, int64_t, int64_t, float*);
float ScaledExpSumAvx2(float*, int64_t, float, float);
void GeluErfAvx2(float*, int64_t);
float ScaledExpSumAvx512(float*, int64_t, float, float);
void GeluErfAvx512(float*, int64_t);
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

}  // namespace wisp::kernels
