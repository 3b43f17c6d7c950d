// Packed GEMM for the generic ISA (compile flags in CMakeLists.txt; called only after a CPU check).
#include <cstdint>
namespace wisp::kernels {
#define VEC_WIDTH 4
#define MR_ROWS 4
#define FN GemmPackedGeneric
#include "kernels/gemm_packed_body.inc"
}  // namespace wisp::kernels
