// Packed GEMM for the generic ISA: 4-wide vectors (SSE2 on x86-64, NEON on aarch64).
#include <cstdint>

#include "kernels/gemm_packed.h"

namespace wisp::kernels {
namespace {
typedef float half_vec4 __attribute__((vector_size(16)));
// No portable half-conversion instruction: widen four values in scalar code.
inline half_vec4 LoadHalf4(const uint16_t* p) {
  return half_vec4{HalfToFloat(p[0]), HalfToFloat(p[1]), HalfToFloat(p[2]), HalfToFloat(p[3])};
}
}  // namespace
#define VEC_WIDTH 4
#define MR_ROWS 4
#define FN GemmPackedGeneric
#define FN_F16 GemmPackedF16Generic
#define LOAD_HALF_VEC(p) LoadHalf4(p)
#include "kernels/gemm_packed_body.inc"
}  // namespace wisp::kernels
