// Packed GEMM for the avx2 ISA (compile flags in CMakeLists.txt; called only after a CPU check).
#include <cstdint>
namespace wisp::kernels {
#define VEC_WIDTH 8
#define MR_ROWS 6
#define FN GemmPackedAvx2
#include "kernels/gemm_packed_body.inc"
}  // namespace wisp::kernels
