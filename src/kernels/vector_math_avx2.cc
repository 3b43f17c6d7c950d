// Vector math for the avx2 ISA (compile flags in CMakeLists.txt; called only after a CPU check).
#include <cstdint>
namespace wisp::kernels {
#define VEC_WIDTH 8
#define EXP_FN ScaledExpSumAvx2
#define WRS_FN WeightedRowSumAvx2
#define WRS2_FN WeightedRowSum2Avx2
#define GELU_FN GeluErfAvx2
#define MAX_FN MaxValueAvx2
#define MED7_FN Median7Avx2
#define LN_FN LayerNormRowAvx2
#include "kernels/vector_math_body.inc"
}  // namespace wisp::kernels
