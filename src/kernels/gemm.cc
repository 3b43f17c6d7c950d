#include "kernels/gemm.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace wisp::kernels {

void GemmNTGeneric(const float*, int64_t, const float*, int64_t, const float*, float*, int64_t, int64_t,
                   int64_t, int64_t, int64_t, int64_t);
#if defined(__x86_64__)
void GemmNTAvx2(const float*, int64_t, const float*, int64_t, const float*, float*, int64_t, int64_t, int64_t,
                int64_t, int64_t, int64_t);
void GemmNTAvx512(const float*, int64_t, const float*, int64_t, const float*, float*, int64_t, int64_t,
                  int64_t, int64_t, int64_t, int64_t);
#endif

#if defined(__x86_64__)
// F16C (the AVX2 kernels' half-precision loads) by CPUID leaf 1, ECX bit 29: clang's
// __builtin_cpu_supports does not know "f16c".
static bool HasF16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  return ((ecx >> 29) & 1u) != 0;
}
#endif

Isa DetectIsa() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Isa::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && HasF16c()) {
    return Isa::kAvx2;
  }
#endif
  return Isa::kGeneric;
}

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx2: return "avx2";
    default: return "generic";
  }
}

int SupportedIsas(Isa* out, int max) {
  int n = 0;
  const Isa best = DetectIsa();
  for (Isa isa : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512}) {
    if (static_cast<int>(isa) <= static_cast<int>(best) && n < max) out[n++] = isa;
  }
  return n;
}

void GemmNT(Isa isa, const float* A, int64_t lda, const float* B, int64_t ldb, const float* bias, float* C,
            int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t K) {
  switch (isa) {
#if defined(__x86_64__)
    case Isa::kAvx512: return GemmNTAvx512(A, lda, B, ldb, bias, C, ldc, m0, m1, n0, n1, K);
    case Isa::kAvx2: return GemmNTAvx2(A, lda, B, ldb, bias, C, ldc, m0, m1, n0, n1, K);
#endif
    default: return GemmNTGeneric(A, lda, B, ldb, bias, C, ldc, m0, m1, n0, n1, K);
  }
}

}  // namespace wisp::kernels
