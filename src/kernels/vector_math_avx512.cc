// Vector math for the avx512 ISA (compile flags in CMakeLists.txt; called only after a CPU check).
#include <immintrin.h>

#include <cstdint>
namespace wisp::kernels {
#define VEC_WIDTH 16
#define EXP_FN ScaledExpSumAvx512
#define WRS_FN WeightedRowSumAvx512
#define WRS2_FN WeightedRowSum2Avx512
#define GELU_FN GeluErfAvx512
#define MAX_FN MaxValueAvx512
#define MED7_FN Median7Avx512
#define LN_FN LayerNormRowAvx512
#include "kernels/vector_math_body.inc"
}  // namespace wisp::kernels
