// q8_0 integer GEMM and activation quantization for AVX-512 with VNNI (compile flags in
// CMakeLists.txt; called only after DetectQ8IntIsa's CPU check). Same numerics as the generic
// kernel in gemm_q8_int.cc, bit for bit (integer sums are exact; the scale step is one fma).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/avx512_lanes.h"
#include "kernels/gemm_q8_int.h"

namespace wisp::kernels {
namespace {

constexpr int kNR = kQ8IntPanelWidth;
constexpr int kRows = 6;  // 6 rows x 2 vectors: 12 integer + 12 float accumulators in registers

// Horizontal max / sum through 256- and 128-bit halves (GCC 12's _mm512_reduce_* helpers warn
// of an uninitialised temporary).
inline float MaxOf(__m512 v) {
  const __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  __m128 q = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  q = _mm_max_ps(q, _mm_movehl_ps(q, q));
  q = _mm_max_ss(q, _mm_shuffle_ps(q, q, 1));
  return _mm_cvtss_f32(q);
}
inline int32_t SumOf(__m512i v) {
  const __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  __m128i q = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0x4e));
  q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0xb1));
  return _mm_cvtsi128_si32(q);
}

inline __m512i BroadcastQuad(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// MR rows x 32 columns of C over all K: per block, the integer sums start at the activations'
// offset correction, take 8 vpdpbusd (4 k each), then are scaled into the float accumulators
// (plus, with mins, the weights' block offsets times the activations' block sums).
template <int MR, bool kMins>
inline void Tile(const int8_t* qa, const float* sa, const int32_t* ca, int64_t K, const uint8_t* panel,
                 const float* bias, float* C, int64_t ldc, int cols) {
  const int64_t nb = K / 32;
  __m512 f0[MR], f1[MR];
  for (int i = 0; i < MR; ++i) f0[i] = f1[i] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = panel + b * Q8IntBlockBytes(kMins);
    const uint8_t* wq = blk + Q8IntHeadBytes(kMins);
    __m512i i0[MR], i1[MR];
    for (int i = 0; i < MR; ++i) i0[i] = i1[i] = _mm512_set1_epi32(ca[i * nb + b]);
    const int8_t* a = qa + b * 32;
    for (int g = 0; g < 8; ++g) {
      const __m512i w0 = _mm512_loadu_si512(wq + g * 128), w1 = _mm512_loadu_si512(wq + g * 128 + 64);
      for (int i = 0; i < MR; ++i) {
        const __m512i av = BroadcastQuad(a + i * K + g * 4);
        i0[i] = _mm512_dpbusd_epi32(i0[i], w0, av);
        i1[i] = _mm512_dpbusd_epi32(i1[i], w1, av);
      }
    }
    const __m512 s0 = _mm512_loadu_ps(reinterpret_cast<const float*>(blk));
    const __m512 s1 = _mm512_loadu_ps(reinterpret_cast<const float*>(blk) + 16);
    for (int i = 0; i < MR; ++i) {
      const __m512 s = _mm512_set1_ps(sa[i * nb + b]);
      f0[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0[i]), _mm512_mul_ps(s0, s), f0[i]);
      f1[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1[i]), _mm512_mul_ps(s1, s), f1[i]);
    }
    if constexpr (kMins) {
      const __m512 m0 = _mm512_loadu_ps(reinterpret_cast<const float*>(blk + kQ8IntScaleBytes));
      const __m512 m1 = _mm512_loadu_ps(reinterpret_cast<const float*>(blk + kQ8IntScaleBytes) + 16);
      for (int i = 0; i < MR; ++i) {
        // sa * (sum of the block's quantized activations), as the generic kernel forms it.
        const __m512 as = _mm512_set1_ps(sa[i * nb + b] * static_cast<float>(-ca[i * nb + b] / 128));
        f0[i] = _mm512_fmadd_ps(m0, as, f0[i]);
        f1[i] = _mm512_fmadd_ps(m1, as, f1[i]);
      }
    }
  }
  const __mmask16 k0 = FirstLanes(cols), k1 = FirstLanes(cols - 16);
  const __m512 b0 = bias != nullptr ? _mm512_maskz_loadu_ps(k0, bias) : _mm512_setzero_ps();
  const __m512 b1 = bias != nullptr ? _mm512_maskz_loadu_ps(k1, bias + 16) : _mm512_setzero_ps();
  for (int i = 0; i < MR; ++i) {
    _mm512_mask_storeu_ps(C + i * ldc, k0, _mm512_add_ps(f0[i], b0));
    _mm512_mask_storeu_ps(C + i * ldc + 16, k1, _mm512_add_ps(f1[i], b1));
  }
}

template <int MR, bool kMins>
inline void Rows(int rows, const int8_t* qa, const float* sa, const int32_t* ca, int64_t K, const uint8_t* panel,
                 const float* bias, float* C, int64_t ldc, int cols) {
  if constexpr (MR > 1) {
    if (rows < MR) return Rows<MR - 1, kMins>(rows, qa, sa, ca, K, panel, bias, C, ldc, cols);
  }
  Tile<MR, kMins>(qa, sa, ca, K, panel, bias, C, ldc, cols);
}

template <bool kMins>
void Gemm(const int8_t* qa, const float* sa, const int32_t* ca, int64_t K, const uint8_t* packed, const float* bias,
          float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const int64_t nb = K / 32;
  const int64_t panel_bytes = nb * Q8IntBlockBytes(kMins);
  // Rows in blocks so a block's quantized activations stay in L2 while every panel of the
  // job's columns streams past them.
  // A thin last block joins the one before (as in the f32 panel GEMM): 128 rows as 96 + 32
  // would stream the whole B a second time.
  constexpr int64_t kMBlock = 16 * kRows;
  for (int64_t mb = m0, me = m0; mb < m1; mb = me) {
    me = m1 - mb < kMBlock + kMBlock / 2 ? m1 : mb + kMBlock;
    for (int64_t n = n0; n < n1; n += kNR) {
      const uint8_t* panel = packed + (n / kNR) * panel_bytes;
      const int cols = static_cast<int>(n1 - n < kNR ? n1 - n : kNR);
      const float* b = bias ? bias + n : nullptr;
      for (int64_t m = mb; m < me; m += kRows) {
        const int rows = static_cast<int>(me - m < kRows ? me - m : kRows);
        Rows<kRows, kMins>(rows, qa + m * K, sa + m * nb, ca + m * nb, K, panel, b, C + m * ldc + n, ldc, cols);
      }
    }
  }
}

}  // namespace

void QuantizeRowsQ8Avx512(const float* A, int64_t lda, int64_t M, int64_t K, int8_t* qa, float* sa, int32_t* ca) {
  const int64_t nb = K / 32;
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t b = 0; b < nb; ++b) {
      const float* a = A + m * lda + b * 32;
      const __m512 x0 = _mm512_loadu_ps(a), x1 = _mm512_loadu_ps(a + 16);
      const float amax = MaxOf(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
      const __m512 inv = _mm512_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
      // vcvtps2dq rounds to nearest even under the default MXCSR, as nearbyint does.
      const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, inv)), q1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, inv));
      int8_t* out = qa + m * K + b * 32;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm512_cvtepi32_epi8(q0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), _mm512_cvtepi32_epi8(q1));
      sa[m * nb + b] = amax / 127.0f;
      ca[m * nb + b] = -128 * SumOf(_mm512_add_epi32(q0, q1));
    }
  }
}

void GemmQ8IntAvx512Vnni(const int8_t* qa, const float* sa, const int32_t* ca, int64_t K, const uint8_t* packed,
                         int64_t N, const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0,
                         int64_t n1, bool with_mins) {
  (void)N;
  if (with_mins) return Gemm<true>(qa, sa, ca, K, packed, bias, C, ldc, m0, m1, n0, n1);
  Gemm<false>(qa, sa, ca, K, packed, bias, C, ldc, m0, m1, n0, n1);
}

}  // namespace wisp::kernels
