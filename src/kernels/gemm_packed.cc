#include "kernels/gemm_packed.h"

#include <cmath>
#include <cstring>

namespace wisp::kernels {

#define WISP_DECLARE_PACKED(NAME)                                                                        \
  void NAME(const float*, int64_t, const float*, int64_t, int64_t, int64_t, const float*, float*, int64_t, \
            int64_t, int64_t, int64_t, int64_t, bool);
#define WISP_DECLARE_PACKED_F16(NAME)                                                                      \
  void NAME(const float*, int64_t, const uint16_t*, int64_t, int64_t, int64_t, const float*, float*, int64_t, \
            int64_t, int64_t, int64_t, int64_t, bool);
WISP_DECLARE_PACKED(GemmPackedGeneric)
WISP_DECLARE_PACKED_F16(GemmPackedF16Generic)
#if defined(__x86_64__)
WISP_DECLARE_PACKED(GemmPackedAvx2)
WISP_DECLARE_PACKED(GemmPackedAvx512)
WISP_DECLARE_PACKED_F16(GemmPackedF16Avx2)
WISP_DECLARE_PACKED_F16(GemmPackedF16Avx512)
#endif
#undef WISP_DECLARE_PACKED
#undef WISP_DECLARE_PACKED_F16

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t mag = x & 0x7fffffffu;
  if (mag >= 0x7f800000u) return static_cast<uint16_t>(sign | (mag > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (mag >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504: inf
  if (mag < 0x38800000u) {  // subnormal half (or zero): round x / 2^-24 to nearest even
    const float scaled = std::fabs(f) * 16777216.0f;
    const float r = std::nearbyint(scaled);  // default rounding mode: to nearest even
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(r));
  }
  // Normal: rebias the exponent, round the 13 dropped mantissa bits to nearest even.
  const uint32_t rounding = 0xfffu + ((mag >> 13) & 1u);
  mag = (mag + rounding) >> 13;
  return static_cast<uint16_t>(sign | (mag - ((127u - 15u) << 10)));
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    const float v = std::ldexp(static_cast<float>(mant), -24);
    std::memcpy(&bits, &v, 4);
    bits |= sign;
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

namespace {
// packed = panels of W^T, W[n][k] = load(n, k). Dimension k outer, the panel's nr rows inner:
// the writes are contiguous, and each pass over k touches the same nr source cache lines (2 KiB
// for f32 on AVX-512), which stay in L1 for the next 15 k; their misses overlap instead of
// arriving one row at a time (attention's key rows sit 4.6 KB apart in the fused QKV matrix).
template <typename Out, typename Load>
void PackTransposedBlocked(int64_t nr, int64_t N, int64_t K, Out* packed, Load load) {
  for (int64_t p = 0; p * nr < N; ++p) {
    Out* panel = packed + p * K * nr;
    const int64_t cols = N - p * nr < nr ? N - p * nr : nr;
    for (int64_t k = 0; k < K; ++k) {
      Out* dst = panel + k * nr;
      for (int64_t j = 0; j < cols; ++j) dst[j] = load(p * nr + j, k);
      for (int64_t j = cols; j < nr; ++j) dst[j] = Out{0};
    }
  }
}
}  // namespace

void UnpackColumn(Isa isa, const float* packed, int64_t K, int64_t n, float* out) {
  const int64_t nr = PanelWidth(isa);
  const float* panel = packed + (n / nr) * K * nr + n % nr;
  for (int64_t k = 0; k < K; ++k) out[k] = panel[k * nr];
}

void UnpackColumnF16(Isa isa, const uint16_t* packed, int64_t K, int64_t n, float* out) {
  const int64_t nr = PanelWidth(isa);
  const uint16_t* panel = packed + (n / nr) * K * nr + n % nr;
  for (int64_t k = 0; k < K; ++k) out[k] = HalfToFloat(panel[k * nr]);
}

void PackTransposedF16(Isa isa, const float* W, int64_t ldw, int64_t N, int64_t K, uint16_t* packed) {
  PackTransposedBlocked(PanelWidth(isa), N, K, packed,
                        [&](int64_t n, int64_t k) { return FloatToHalf(W[n * ldw + k]); });
}

void PackTransposedHalf(Isa isa, const uint8_t* W, int64_t ldw, int64_t N, int64_t K, uint16_t* packed) {
  PackTransposedBlocked(PanelWidth(isa), N, K, packed, [&](int64_t n, int64_t k) {
    uint16_t h;  // the file's halves may sit at odd addresses
    std::memcpy(&h, W + 2 * (n * ldw + k), 2);
    return h;
  });
}

void GemmPackedF16(Isa isa, const float* A, int64_t lda, const uint16_t* packed, int64_t packed_k, int64_t K,
                   int64_t N, const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                   bool accumulate) {
  switch (isa) {
#if defined(__x86_64__)
    case Isa::kAvx512:
      return GemmPackedF16Avx512(A, lda, packed, packed_k, K, N, bias, C, ldc, m0, m1, n0, n1, accumulate);
    case Isa::kAvx2:
      return GemmPackedF16Avx2(A, lda, packed, packed_k, K, N, bias, C, ldc, m0, m1, n0, n1, accumulate);
#endif
    default:
      return GemmPackedF16Generic(A, lda, packed, packed_k, K, N, bias, C, ldc, m0, m1, n0, n1, accumulate);
  }
}

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
  PackTransposedBlocked(PanelWidth(isa), N, K, packed, [&](int64_t n, int64_t k) { return W[n * ldw + k]; });
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
