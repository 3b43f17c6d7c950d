// vector_math.h's Lane8ExpSum and ExpShifted for AVX-512: glibc's expf
// (sysdeps/ieee754/flt-32/e_expf.c, as compiled with FMA contraction into __expf_fma) on 8 doubles
// at a time. Compiled with -mavx512f -mfma.
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>

// GCC 12 reports the _mm512_undefined_* placeholders inside its own conversion and extract
// intrinsics as maybe-uninitialized (a false positive: every lane is written).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace wisp::kernels {
namespace {

// __exp2f_data: tab[i] = bits(2^(i/32)) - (i << 47), then the constants of the N = 32 variant.
alignas(64) constexpr uint64_t kTab[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51, 0x3fef72b83c7d517b,
    0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1, 0x3fef06fe0a31b715, 0x3feef1a7373aa9cb,
    0x3feedea64c123422, 0x3feece086061892d, 0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429,
    0x3feea47eb03a5585, 0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d, 0x3feee89f995ad3ad,
    0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069, 0x3fef5818dcfba487, 0x3fef7c97337b9b5f,
    0x3fefa4afa2a490da, 0x3fefd0765b6e4540};
constexpr uint64_t kInvLn2N = 0x40471547652b82fe;  // 32 / ln 2
constexpr uint64_t kShift = 0x4338000000000000;    // 0x1.8p52: rounds to an integer in the low bits
constexpr uint64_t kC0 = 0x3ebc6af84b912394, kC1 = 0x3f2ebfce50fac4f3, kC2 = 0x3f962e42ff0c52d6;

inline __m512d Pd(uint64_t bits) { return _mm512_castsi512_pd(_mm512_set1_epi64(static_cast<long long>(bits))); }

// e_expf.c's fast path on 8 doubles (each a float widened): z = x 32/ln2 = k + r, 2^(k/32)
// from the table with k's high bits added to the exponent, 2^(r/32) by the polynomial. The
// fused operations are exactly those of __expf_fma's code.
inline __m512d ExpCore(__m512d xd) {
  const __m512d inv = Pd(kInvLn2N), shift = Pd(kShift);
  const __m512d z = _mm512_fmadd_pd(inv, xd, shift);  // kd = z + SHIFT, rounded: k in the low bits
  const __m512i ki = _mm512_castpd_si512(z);
  const __m512d kd = _mm512_sub_pd(z, shift);
  const __m512d r = _mm512_fmsub_pd(inv, xd, kd);  // z - kd with z = x 32/ln2 unrounded
  // T[ki % 32]: the 32 entries as two 16-entry two-register permutes, chosen by bit 4.
  const __m512i t0 = _mm512_load_si512(kTab), t1 = _mm512_load_si512(kTab + 8), t2 = _mm512_load_si512(kTab + 16),
                t3 = _mm512_load_si512(kTab + 24);
  const __m512i lo = _mm512_permutex2var_epi64(t0, ki, t1), hi = _mm512_permutex2var_epi64(t2, ki, t3);
  const __mmask8 upper = _mm512_test_epi64_mask(ki, _mm512_set1_epi64(16));
  __m512i t = _mm512_mask_blend_epi64(upper, lo, hi);
  t = _mm512_add_epi64(t, _mm512_slli_epi64(ki, 47));
  const __m512d s = _mm512_castsi512_pd(t);
  const __m512d p = _mm512_fmadd_pd(Pd(kC0), r, Pd(kC1));
  const __m512d r2 = _mm512_mul_pd(r, r);
  const __m512d q = _mm512_fmadd_pd(r, Pd(kC2), _mm512_set1_pd(1.0));
  const __m512d y = _mm512_fmadd_pd(p, r2, q);
  return _mm512_mul_pd(y, s);
}

// expf of 16 floats. Lanes glibc sends off its fast path (|x| >= 88: top12 > 0x42a; NaN, inf)
// are recomputed by std::exp, except -inf (a suppressed logit), which is 0 here as there.
inline __m512 Exp16(__m512 x) {
  const __m512d lo = ExpCore(_mm512_cvtps_pd(_mm512_castps512_ps256(x)));
  const __m512d hi = ExpCore(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))));
  __m512 y = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo))),
                                                 _mm256_castps_pd(_mm512_cvtpd_ps(hi)), 1));
  const __m512i top = _mm512_and_si512(_mm512_srli_epi32(_mm512_castps_si512(x), 20), _mm512_set1_epi32(0x7ff));
  const __mmask16 slow = _mm512_cmpgt_epi32_mask(top, _mm512_set1_epi32(0x42a));
  if (slow != 0) [[unlikely]] {
    const __mmask16 neg_inf = _mm512_cmpeq_epi32_mask(_mm512_castps_si512(x), _mm512_set1_epi32(0xff800000));
    y = _mm512_mask_mov_ps(y, neg_inf, _mm512_setzero_ps());
    const __mmask16 other = slow & ~neg_inf;
    if (other != 0) {
      alignas(64) float in[16], out[16];
      _mm512_store_ps(in, x);
      _mm512_store_ps(out, y);
      for (int l = 0; l < 16; ++l) {
        if (other >> l & 1) out[l] = std::exp(in[l]);
      }
      y = _mm512_load_ps(out);
    }
  }
  return y;
}

inline __m512 LoadTail(const float* x, int64_t valid) {
  return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << valid) - 1), x);
}

}  // namespace

float Lane8ExpSumAvx512(const float* x, int64_t n, float max_value) {
  if (n < 8) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum = i == 0 ? std::exp(x[0] - max_value) : sum + std::exp(x[i] - max_value);
    return sum;
  }
  const __m512 m = _mm512_set1_ps(max_value);
  // The 8-lane accumulator of torch's order; 16 terms a vector add as two successive 8-lane adds.
  __m256 acc;
  int64_t d = 0;
  {
    const __m512 e = Exp16(_mm512_sub_ps(LoadTail(x, 8), m));
    acc = _mm512_castps512_ps256(e);
    d = 8;
  }
  for (; d + 16 <= n; d += 16) {
    const __m512 e = Exp16(_mm512_sub_ps(_mm512_loadu_ps(x + d), m));
    acc = _mm256_add_ps(acc, _mm512_castps512_ps256(e));
    acc = _mm256_add_ps(acc, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1)));
  }
  alignas(32) float a[8];
  _mm256_store_ps(a, acc);
  if (d < n) {
    // The partial vectors of torch's loop: each updates only its valid lanes.
    alignas(64) float e[16];
    _mm512_store_ps(e, Exp16(_mm512_sub_ps(LoadTail(x + d, n - d), m)));
    for (int64_t l = 0; d + l < n; ++l) a[l % 8] += e[l];
  }
  for (int l = 0; l < 4; ++l) a[l] += a[l + 4];
  for (int l = 0; l < 2; ++l) a[l] += a[l + 2];
  return a[0] + a[1];
}

void ExpShiftedAvx512(const float* x, int64_t n, float shift, float* out) {
  const __m512 s = _mm512_set1_ps(shift);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, Exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), s)));
  if (i < n) {
    const __mmask16 tail = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(out + i, tail, Exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + i), s)));
  }
}

}  // namespace wisp::kernels
