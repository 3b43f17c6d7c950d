// Vector math for the generic ISA (compile flags in CMakeLists.txt; called only after a CPU check).
#include <cstdint>
namespace wisp::kernels {
#define VEC_WIDTH 4
#define EXP_FN ScaledExpSumGeneric
#define WRS_FN WeightedRowSumGeneric
#define WRS2_FN WeightedRowSum2Generic
#define GELU_FN GeluErfGeneric
#define MAX_FN MaxValueGeneric
#define MED7_FN Median7Generic
#define LN_FN LayerNormRowGeneric
#include "kernels/vector_math_body.inc"
}  // namespace wisp::kernels
