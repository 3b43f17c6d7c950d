// Baseline x86-64 / any CPU: 4-wide vectors (SSE2 or NEON).
#include <cstdint>
#include <cstring>
namespace wisp::kernels {
#define VEC_WIDTH 4
#define FN GemmNTGeneric
#include "kernels/gemm_body.inc"
}  // namespace wisp::kernels
