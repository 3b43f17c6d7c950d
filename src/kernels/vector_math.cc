#include "kernels/vector_math.h"

namespace wisp::kernels {

float ScaledExpSumGeneric(float*, int64_t, float, float);
void GeluErfGeneric(float*, int64_t);
#if defined(__x86_64__)
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

}  // namespace wisp::kernels
