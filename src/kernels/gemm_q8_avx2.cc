// q8_0 panel GEMM for AVX2 + FMA (compile flags in CMakeLists.txt; called after a CPU check).
#include <immintrin.h>

#include <cstdint>

namespace wisp::kernels {
#define VEC_WIDTH 8
#define Q8_ROWS 4
#define FN_Q8 GemmPackedQ8Avx2
#define LOAD_I8_VEC(p) \
  ((qvec)_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)))))
#include "kernels/gemm_q8_body.inc"
}  // namespace wisp::kernels
