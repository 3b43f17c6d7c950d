// Packed GEMM for AVX-512F (compile flags in CMakeLists.txt; called after a CPU check).
#include <immintrin.h>

#include <cstdint>

namespace wisp::kernels {
#define VEC_WIDTH 16
#define MR_ROWS 12
#define FN GemmPackedAvx512
#define FN_F16 GemmPackedF16Avx512
#define LOAD_HALF_VEC(p) ((pvec)_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))))
#include "kernels/gemm_packed_body.inc"
}  // namespace wisp::kernels
