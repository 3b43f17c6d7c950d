// Packed GEMM for AVX2 + FMA + F16C (compile flags in CMakeLists.txt; called after a CPU check).
#include <immintrin.h>

#include <cstdint>

namespace wisp::kernels {
#define VEC_WIDTH 8
#define MR_ROWS 6
#define FN GemmPackedAvx2
#define FN_F16 GemmPackedF16Avx2
#define LOAD_HALF_VEC(p) ((pvec)_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))))
#include "kernels/gemm_packed_body.inc"
}  // namespace wisp::kernels
