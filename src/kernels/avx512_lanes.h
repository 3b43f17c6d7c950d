// Lane masks for the AVX-512 GEMM tiles' edges. Included only by files compiled with AVX-512
// flags (the kernels that run after a CPU check).
#pragma once
#include <immintrin.h>

namespace wisp::kernels {

// The first n lanes of a 16-float vector, n clamped to [0, 16]: the columns of a tile's edge that
// a 16-lane store may write (lanes [16 v, 16 v + 16) of a tile with `cols` columns take
// FirstLanes(cols - 16 v)).
inline __mmask16 FirstLanes(int n) {
  return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

}  // namespace wisp::kernels
