// q8_0 panel GEMM for the generic ISA (SSE2 / NEON 4-wide vectors).
#include <cstdint>

namespace wisp::kernels {
namespace {
typedef float f32x4 __attribute__((vector_size(16)));
inline f32x4 LoadI8x4(const int8_t* p) { return f32x4{float(p[0]), float(p[1]), float(p[2]), float(p[3])}; }
}  // namespace
#define VEC_WIDTH 4
#define Q8_ROWS 4
#define FN_Q8 GemmPackedQ8Generic
#define LOAD_I8_VEC(p) LoadI8x4(p)
#include "kernels/gemm_q8_body.inc"
}  // namespace wisp::kernels
