// bf16 GEMM and activation rounding for AVX-512 BF16 (compile flags in CMakeLists.txt; called only
// after DetectBf16Isa's CPU check). Same numerics as the generic kernel in gemm_bf16.cc, bit for
// bit: vdpbf16ps adds a pair's odd product, then its even one, each rounded to f32.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/avx512_lanes.h"
#include "kernels/gemm_bf16.h"
#include "kernels/gemm_packed.h"

namespace wisp::kernels {
namespace {

constexpr int kNR = kBf16PanelWidth;
// 12 rows x 2 vectors: 24 accumulators, 2 panel vectors and a broadcast in the 32 zmm registers
// (the f32 packed kernel's shape; each vdpbf16ps does twice an FMA's multiply-adds).
constexpr int kRows = 12;
constexpr int kRows64 = 6;  // Tile64: 6 rows x 4 vectors, 24 accumulators

inline __m512bh AsBf16(__m512i v) { return (__m512bh)v; }

// MR rows x 32 columns of C over k2 pairs of k.
template <int MR>
inline void Tile(const uint16_t* A, int64_t lda, const uint16_t* panel, int64_t k2, const float* bias, float* C,
                 int64_t ldc, int cols, bool accumulate) {
  __m512 c0[MR], c1[MR];
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k2; ++p) {
    const __m512bh b0 = AsBf16(_mm512_loadu_si512(panel + p * 2 * kNR));
    const __m512bh b1 = AsBf16(_mm512_loadu_si512(panel + p * 2 * kNR + kNR));
    for (int i = 0; i < MR; ++i) {
      int32_t pair;  // a[2p] (low half) and a[2p + 1], broadcast to every column
      std::memcpy(&pair, A + i * lda + 2 * p, 4);
      const __m512bh a = AsBf16(_mm512_set1_epi32(pair));
      c0[i] = _mm512_dpbf16_ps(c0[i], b0, a);
      c1[i] = _mm512_dpbf16_ps(c1[i], b1, a);
    }
  }
  const __mmask16 k0 = FirstLanes(cols), k1 = FirstLanes(cols - 16);
  // Masked loads, not a zeroed stack copy: the `= {}` became a rep stos that took a quarter of
  // the K = 64 tile's time (attention's QK^T) on Zen 5.
  const __m512 bias0 = bias != nullptr ? _mm512_maskz_loadu_ps(k0, bias) : _mm512_setzero_ps();
  const __m512 bias1 = bias != nullptr ? _mm512_maskz_loadu_ps(k1, bias + 16) : _mm512_setzero_ps();
  for (int i = 0; i < MR; ++i) {
    float* c = C + i * ldc;
    __m512 r0 = _mm512_add_ps(c0[i], bias0), r1 = _mm512_add_ps(c1[i], bias1);
    if (accumulate) {
      r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(k0, c));
      r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(k1, c + 16));
    }
    _mm512_mask_storeu_ps(c, k0, r0);
    _mm512_mask_storeu_ps(c + 16, k1, r1);
  }
}

// MR rows x 64 columns (two adjacent panels) of C over k2 pairs of k: four panel vectors and one
// broadcast per row feed 4 vdpbf16ps, against 2 and 1 per 2 in Tile: the 12-row tile issued 14
// loads per 24 products, this one 10, and loads were what bounded it. cols2: the second panel's
// columns (1..32). Each column sums its products in the same order as Tile: the same bits.
template <int MR>
inline void Tile64(const uint16_t* A, int64_t lda, const uint16_t* panel0, const uint16_t* panel1, int64_t k2,
                   const float* bias, float* C, int64_t ldc, int cols2, bool accumulate) {
  __m512 c[MR][4];
  for (int i = 0; i < MR; ++i) c[i][0] = c[i][1] = c[i][2] = c[i][3] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k2; ++p) {
    const __m512bh b0 = AsBf16(_mm512_loadu_si512(panel0 + p * 2 * kNR));
    const __m512bh b1 = AsBf16(_mm512_loadu_si512(panel0 + p * 2 * kNR + kNR));
    const __m512bh b2 = AsBf16(_mm512_loadu_si512(panel1 + p * 2 * kNR));
    const __m512bh b3 = AsBf16(_mm512_loadu_si512(panel1 + p * 2 * kNR + kNR));
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      int32_t pair;
      std::memcpy(&pair, A + i * lda + 2 * p, 4);
      const __m512bh a = AsBf16(_mm512_set1_epi32(pair));
      c[i][0] = _mm512_dpbf16_ps(c[i][0], b0, a);
      c[i][1] = _mm512_dpbf16_ps(c[i][1], b1, a);
      c[i][2] = _mm512_dpbf16_ps(c[i][2], b2, a);
      c[i][3] = _mm512_dpbf16_ps(c[i][3], b3, a);
    }
  }
  const __mmask16 k[4] = {FirstLanes(16), FirstLanes(16), FirstLanes(cols2), FirstLanes(cols2 - 16)};
  __m512 bv[4];
  for (int v = 0; v < 4; ++v) {
    bv[v] = bias != nullptr ? _mm512_maskz_loadu_ps(k[v], bias + 16 * v) : _mm512_setzero_ps();
  }
  for (int i = 0; i < MR; ++i) {
    float* out = C + i * ldc;
    for (int v = 0; v < 4; ++v) {
      __m512 r = _mm512_add_ps(c[i][v], bv[v]);
      if (accumulate) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(k[v], out + 16 * v));
      _mm512_mask_storeu_ps(out + 16 * v, k[v], r);
    }
  }
}

template <int MR>
inline void Rows64(int rows, const uint16_t* A, int64_t lda, const uint16_t* panel0, const uint16_t* panel1,
                   int64_t k2, const float* bias, float* C, int64_t ldc, int cols2, bool accumulate) {
  if constexpr (MR > 1) {
    if (rows < MR) return Rows64<MR - 1>(rows, A, lda, panel0, panel1, k2, bias, C, ldc, cols2, accumulate);
  }
  Tile64<MR>(A, lda, panel0, panel1, k2, bias, C, ldc, cols2, accumulate);
}

template <int MR>
inline void Rows(int rows, const uint16_t* A, int64_t lda, const uint16_t* panel, int64_t k2, const float* bias,
                 float* C, int64_t ldc, int cols, bool accumulate) {
  // Remainder rows: the exact-height tile, so no row is computed twice.
  if constexpr (MR > 1) {
    if (rows < MR) return Rows<MR - 1>(rows, A, lda, panel, k2, bias, C, ldc, cols, accumulate);
  }
  Tile<MR>(A, lda, panel, k2, bias, C, ldc, cols, accumulate);
}

}  // namespace

void ConvertRowsBf16Avx512(const float* A, int64_t lda, int64_t M, int64_t K, uint16_t* out, int64_t ldo) {
  const int64_t even = Bf16EvenK(K), full = K / 32 * 32;
  for (int64_t m = 0; m < M; ++m) {
    const float* a = A + m * lda;
    uint16_t* o = out + m * ldo;
    int64_t k = 0;
    for (; k < full; k += 32) {  // attention's probability rows: 46 full chunks of 1500
      const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(a + k + 16), _mm512_loadu_ps(a + k));
      _mm512_storeu_si512(o + k, (__m512i)v);
    }
    if (k < even) {
      // The tail: masked loads read nothing past K and give zeros there (an odd K's pad element).
      const int64_t left = K - k, store = even - k;
      const __mmask16 l0 = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
      const __mmask16 l1 = left <= 16 ? __mmask16(0) : __mmask16((1u << (left - 16)) - 1);
      const __m512 lo = _mm512_maskz_loadu_ps(l0, a + k), hi = _mm512_maskz_loadu_ps(l1, a + k + 16);
      const __m512bh v = _mm512_cvtne2ps_pbh(hi, lo);  // lo -> elements 0..15, hi -> 16..31
      const __mmask32 s = store >= 32 ? ~__mmask32(0) : __mmask32((1u << store) - 1);  // K = 31 mod 32: all
      _mm512_mask_storeu_epi16(o + k, s, (__m512i)v);
    }
  }
}

void WidenHalfRowsAvx512(const uint8_t* W, int64_t ldw, int64_t rows, int64_t K, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* w = W + 2 * r * ldw;
    float* o = out + r * K;
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {  // vcvtph2ps is exact, as HalfToFloat
      _mm512_storeu_ps(o + k, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 2 * k))));
    }
    for (; k < K; ++k) {
      uint16_t h;
      std::memcpy(&h, w + 2 * k, 2);
      o[k] = HalfToFloat(h);
    }
  }
}

void GemmBf16Avx512(const uint16_t* A, int64_t lda, const uint16_t* packed, int64_t packed_k, int64_t K,
                    const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                    bool accumulate) {
  const int64_t k2 = Bf16EvenK(K) / 2, panel_elems = Bf16EvenK(packed_k) * kNR;
  // A block of rows stays in L2 while the column panels of this job stream past it; a thin last
  // block joins the one before (as in the f32 packed GEMM), so B is never streamed for a few rows.
  constexpr int64_t kMBlock = 10 * kRows;
  for (int64_t mb = m0, me = m0; mb < m1; mb = me) {
    me = m1 - mb < kMBlock + kMBlock / 2 ? m1 : mb + kMBlock;
    int64_t n = n0;
    for (; n + kNR < n1; n += 2 * kNR) {  // two panels at a time, the second possibly partial
      const uint16_t* panel = packed + (n / kNR) * panel_elems;
      const int cols2 = static_cast<int>(n1 - n - kNR < kNR ? n1 - n - kNR : kNR);
      const float* b = bias ? bias + n : nullptr;
      for (int64_t m = mb; m < me; m += kRows64) {
        const int rows = static_cast<int>(me - m < kRows64 ? me - m : kRows64);
        Rows64<kRows64>(rows, A + m * lda, lda, panel, panel + panel_elems, k2, b, C + m * ldc + n, ldc, cols2,
                        accumulate);
      }
    }
    for (; n < n1; n += kNR) {  // a last single panel
      const uint16_t* panel = packed + (n / kNR) * panel_elems;
      const int cols = static_cast<int>(n1 - n < kNR ? n1 - n : kNR);
      const float* b = bias ? bias + n : nullptr;
      for (int64_t m = mb; m < me; m += kRows) {
        const int rows = static_cast<int>(me - m < kRows ? me - m : kRows);
        Rows<kRows>(rows, A + m * lda, lda, panel, k2, b, C + m * ldc + n, ldc, cols, accumulate);
      }
    }
  }
}

}  // namespace wisp::kernels
