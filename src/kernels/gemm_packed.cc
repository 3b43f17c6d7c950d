#include "kernels/gemm_packed.h"

#include <cstring>

namespace wisp::kernels {

#define WISP_DECLARE_PACKED(NAME)                                                                        \
  void NAME(const float*, int64_t, const float*, int64_t, int64_t, int64_t, const float*, float*, int64_t, \
            int64_t, int64_t, int64_t, int64_t, bool);
WISP_DECLARE_PACKED(GemmPackedGeneric)
#if defined(__x86_64__)
WISP_DECLARE_PACKED(GemmPackedAvx2)
WISP_DECLARE_PACKED(GemmPackedAvx512)
#endif
#undef WISP_DECLARE_PACKED

int PanelWidth(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return 32;
    case Isa::kAvx2: return 16;
    default: return 8;
  }
}

size_t PackedSize(Isa isa, int64_t K, int64_t N) {
  const int64_t nr = PanelWidth(isa);
  return static_cast<size_t>((N + nr - 1) / nr * nr * K);
}

void PackTransposed(Isa isa, const float* W, int64_t ldw, int64_t N, int64_t K, float* packed) {
  const int64_t nr = PanelWidth(isa);
  for (int64_t p = 0; p * nr < N; ++p) {
    float* panel = packed + p * K * nr;
    for (int64_t j = 0; j < nr; ++j) {
      const int64_t n = p * nr + j;
      if (n < N) {
        const float* w = W + n * ldw;
        for (int64_t k = 0; k < K; ++k) panel[k * nr + j] = w[k];
      } else {
        for (int64_t k = 0; k < K; ++k) panel[k * nr + j] = 0.0f;
      }
    }
  }
}

void PackRowMajor(Isa isa, const float* B, int64_t ldb, int64_t K, int64_t N, float* packed) {
  const int64_t nr = PanelWidth(isa);
  for (int64_t p = 0; p * nr < N; ++p) {
    float* panel = packed + p * K * nr;
    const int64_t cols = N - p * nr < nr ? N - p * nr : nr;
    for (int64_t k = 0; k < K; ++k) {
      std::memcpy(panel + k * nr, B + k * ldb + p * nr, cols * sizeof(float));
      for (int64_t j = cols; j < nr; ++j) panel[k * nr + j] = 0.0f;
    }
  }
}

void GemmPacked(Isa isa, const float* A, int64_t lda, const float* packed, int64_t packed_k, int64_t K, int64_t N,
                const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                bool accumulate) {
  switch (isa) {
#if defined(__x86_64__)
    case Isa::kAvx512: return GemmPackedAvx512(A, lda, packed, packed_k, K, N, bias, C, ldc, m0, m1, n0, n1, accumulate);
    case Isa::kAvx2: return GemmPackedAvx2(A, lda, packed, packed_k, K, N, bias, C, ldc, m0, m1, n0, n1, accumulate);
#endif
    default: return GemmPackedGeneric(A, lda, packed, packed_k, K, N, bias, C, ldc, m0, m1, n0, n1, accumulate);
  }
}

}  // namespace wisp::kernels
