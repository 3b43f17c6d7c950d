// Compiled with -mavx512f -mfma (see CMakeLists.txt); only called when the CPU has them.
#include <cstdint>
#include <cstring>
namespace wisp::kernels {
#define VEC_WIDTH 16
#define FN GemmNTAvx512
#include "kernels/gemm_body.inc"
}  // namespace wisp::kernels
