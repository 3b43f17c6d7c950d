// q8_0 panel GEMM for AVX-512F (compile flags in CMakeLists.txt; called after a CPU check).
#include <immintrin.h>

#include <cstdint>

namespace wisp::kernels {
#define VEC_WIDTH 16
#define Q8_ROWS 10
#define FN_Q8 GemmPackedQ8Avx512
#define LOAD_I8_VEC(p) \
  ((qvec)_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))))
#include "kernels/gemm_q8_body.inc"
}  // namespace wisp::kernels
