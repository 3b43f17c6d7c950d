// Compiled with -mavx2 -mfma (see CMakeLists.txt); only called when the CPU has them.
#include <cstdint>
#include <cstring>
namespace wisp::kernels {
#define VEC_WIDTH 8
#define FN GemmNTAvx2
#include "kernels/gemm_body.inc"
}  // namespace wisp::kernels
