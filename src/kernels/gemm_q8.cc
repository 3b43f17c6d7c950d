#include "kernels/gemm_q8.h"

#include <cstring>

#include "kernels/gemm_packed.h"

namespace wisp::kernels {

#define WISP_DECLARE_Q8(NAME)                                                                             \
  void NAME(const float*, int64_t, const uint8_t*, int64_t, int64_t, const float*, float*, int64_t, int64_t, \
            int64_t, int64_t, int64_t);
WISP_DECLARE_Q8(GemmPackedQ8Generic)
#if defined(__x86_64__)
WISP_DECLARE_Q8(GemmPackedQ8Avx2)
WISP_DECLARE_Q8(GemmPackedQ8Avx512)
#endif
#undef WISP_DECLARE_Q8

size_t PackedSizeQ8(Isa isa, int64_t K, int64_t N) {
  const int64_t nr = PanelWidth(isa);
  return static_cast<size_t>((N + nr - 1) / nr * (K / kQ8BlockSize) * (nr * 4 + kQ8BlockSize * nr));
}

void PackQ8_0(Isa isa, const uint8_t* blocks, int64_t N, int64_t K, uint8_t* packed) {
  const int64_t nr = PanelWidth(isa), n_blocks = K / kQ8BlockSize;
  const int64_t block_bytes = nr * 4 + kQ8BlockSize * nr;
  for (int64_t p = 0; p * nr < N; ++p) {
    for (int64_t b = 0; b < n_blocks; ++b) {
      uint8_t* out = packed + (p * n_blocks + b) * block_bytes;
      float* scales = reinterpret_cast<float*>(out);  // out is 4-byte aligned: block_bytes % 4 == 0
      int8_t* q = reinterpret_cast<int8_t*>(out + nr * 4);
      for (int64_t j = 0; j < nr; ++j) {
        const int64_t n = p * nr + j;
        if (n >= N) {
          scales[j] = 0.0f;
          for (int k = 0; k < kQ8BlockSize; ++k) q[k * nr + j] = 0;
          continue;
        }
        const uint8_t* src = blocks + (n * n_blocks + b) * kQ8BlockBytes;
        uint16_t d;
        std::memcpy(&d, src, 2);
        scales[j] = HalfToFloat(d);
        for (int k = 0; k < kQ8BlockSize; ++k) q[k * nr + j] = static_cast<int8_t>(src[2 + k]);
      }
    }
  }
}

void UnpackColumnQ8(Isa isa, const uint8_t* packed, int64_t K, int64_t n, float* out) {
  const int64_t nr = PanelWidth(isa), n_blocks = K / kQ8BlockSize;
  const int64_t block_bytes = nr * 4 + kQ8BlockSize * nr, j = n % nr;
  const uint8_t* panel = packed + (n / nr) * n_blocks * block_bytes;
  for (int64_t b = 0; b < n_blocks; ++b) {
    const uint8_t* blk = panel + b * block_bytes;
    float scale;
    std::memcpy(&scale, blk + j * 4, 4);
    const int8_t* q = reinterpret_cast<const int8_t*>(blk + nr * 4);
    for (int k = 0; k < kQ8BlockSize; ++k) out[b * kQ8BlockSize + k] = q[k * nr + j] * scale;
  }
}

void GemmPackedQ8(Isa isa, const float* A, int64_t lda, const uint8_t* packed, int64_t K, int64_t N,
                  const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  switch (isa) {
#if defined(__x86_64__)
    case Isa::kAvx512: return GemmPackedQ8Avx512(A, lda, packed, K, N, bias, C, ldc, m0, m1, n0, n1);
    case Isa::kAvx2: return GemmPackedQ8Avx2(A, lda, packed, K, N, bias, C, ldc, m0, m1, n0, n1);
#endif
    default: return GemmPackedQ8Generic(A, lda, packed, K, N, bias, C, ldc, m0, m1, n0, n1);
  }
}

}  // namespace wisp::kernels
