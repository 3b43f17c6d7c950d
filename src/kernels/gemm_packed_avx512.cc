// Packed GEMM for the avx512 ISA (compile flags in CMakeLists.txt; called only after a CPU check).
#include <cstdint>
namespace wisp::kernels {
#define VEC_WIDTH 16
#define MR_ROWS 12
#define FN GemmPackedAvx512
#include "kernels/gemm_packed_body.inc"
}  // namespace wisp::kernels
