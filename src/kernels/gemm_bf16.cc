// bf16 GEMM: conversions, packing, the portable oracle and the run-time dispatch (gemm_bf16.h).
#include "kernels/gemm_bf16.h"

#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#include "kernels/gemm_packed.h"

namespace wisp::kernels {

#if defined(__x86_64__)
void ConvertRowsBf16Avx512(const float* A, int64_t lda, int64_t M, int64_t K, uint16_t* out, int64_t ldo);
void WidenHalfRowsAvx512(const uint8_t* W, int64_t ldw, int64_t rows, int64_t K, float* out);
void GemmBf16Avx512(const uint16_t* A, int64_t lda, const uint16_t* packed, int64_t packed_k, int64_t K,
                    const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                    bool accumulate);
#endif
#if defined(__aarch64__)
void GemmBf16NeonDot(const uint16_t* A, int64_t lda, const uint16_t* packed, int64_t packed_k, int64_t K,
                     const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                     bool accumulate);
void GemmBf16NeonMmla(const uint16_t* A, int64_t lda, const uint16_t* packed, int64_t packed_k, int64_t K,
                      const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                      bool accumulate);
#endif

namespace {

constexpr int kNR = kBf16PanelWidth;

#if defined(__x86_64__)
// AVX512_BF16 is CPUID leaf 7 sub-leaf 1, EAX bit 5 (BW for the 16-bit masked stores of the
// rounding). __builtin_cpu_supports("avx512f") also checks that the OS saves the zmm state.
bool HasAvx512Bf16() {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")) return false;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) return false;
  return ((eax >> 5) & 1u) != 0;
}
#endif

void ConvertRowsGeneric(const float* A, int64_t lda, int64_t M, int64_t K, uint16_t* out, int64_t ldo) {
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t k = 0; k < K; ++k) out[m * ldo + k] = FloatToBf16(A[m * lda + k]);
    if (K % 2 != 0) out[m * ldo + K] = 0;
  }
}

// The oracle: vdpbf16ps's arithmetic spelled out, one 32-column panel at a time.
void GemmGeneric(const uint16_t* A, int64_t lda, const uint16_t* packed, int64_t packed_k, int64_t K,
                 const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                 bool accumulate) {
  const int64_t k2 = Bf16EvenK(K) / 2, panel_elems = Bf16EvenK(packed_k) * kNR;
  for (int64_t n = n0; n < n1; n += kNR) {
    const uint16_t* panel = packed + (n / kNR) * panel_elems;
    const int64_t cols = n1 - n < kNR ? n1 - n : kNR;
    for (int64_t m = m0; m < m1; ++m) {
      float acc[kNR] = {};
      for (int64_t p = 0; p < k2; ++p) {
        const float a0 = Bf16ToFloat(A[m * lda + 2 * p]), a1 = Bf16ToFloat(A[m * lda + 2 * p + 1]);
        const uint16_t* row = panel + p * 2 * kNR;
        for (int j = 0; j < kNR; ++j) {
          acc[j] = acc[j] + a1 * Bf16ToFloat(row[2 * j + 1]);  // the odd element first, as vdpbf16ps
          acc[j] = acc[j] + a0 * Bf16ToFloat(row[2 * j]);
        }
      }
      float* c = C + m * ldc + n;
      for (int64_t j = 0; j < cols; ++j) {
        const float r = acc[j] + (bias != nullptr ? bias[n + j] : 0.0f);
        c[j] = accumulate ? r + c[j] : r;
      }
    }
  }
}

// Panels of W^T from W's rows, kNR at a time: rows_to_f32(n0, rows, dst) writes rows n0.. as
// floats (K each, row stride K) when W is not f32 already. Each block of rows is rounded by the
// ISA's row conversion (bit-equal on every ISA), then its (k, k + 1) pairs are copied as 32-bit
// units into the panel: a transposition of pairs, contiguous writes.
template <typename RowsToF32>
void PackTransposedRows(Bf16Isa isa, const float* W, int64_t ldw, int64_t N, int64_t K, uint16_t* packed,
                        RowsToF32 rows_to_f32) {
  const int64_t ke = Bf16EvenK(K), k2 = ke / 2;
  std::vector<uint16_t> rows(static_cast<size_t>(kNR * ke));
  std::vector<float> widened(W == nullptr ? static_cast<size_t>(kNR * K) : 0);
  for (int64_t p = 0; p * kNR < N; ++p) {
    const int64_t cols = N - p * kNR < kNR ? N - p * kNR : kNR;
    const float* src = W + p * kNR * ldw;
    if (W == nullptr) {
      rows_to_f32(p * kNR, cols, widened.data());
      src = widened.data();
    }
    ConvertRowsBf16(isa, src, W == nullptr ? K : ldw, cols, K, rows.data(), ke);
    uint16_t* panel = packed + p * k2 * 2 * kNR;
    for (int64_t q = 0; q < k2; ++q) {
      uint16_t* dst = panel + q * 2 * kNR;
      for (int64_t j = 0; j < cols; ++j) std::memcpy(dst + 2 * j, rows.data() + j * ke + 2 * q, 4);
      for (int64_t j = cols; j < kNR; ++j) dst[2 * j] = dst[2 * j + 1] = 0;
    }
  }
}

}  // namespace

uint16_t FloatToBf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7f800000u) == 0) return static_cast<uint16_t>((x >> 16) & 0x8000u);  // zero, subnormal
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  // Round to nearest even on the 16 dropped bits; a carry into the exponent is the right result
  // (up to infinity past the largest bf16).
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

float Bf16ToFloat(uint16_t h) {
  const uint32_t x = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

Bf16Isa DetectBf16Isa() {
#if defined(__x86_64__)
  if (HasAvx512Bf16()) return Bf16Isa::kAvx512Bf16;
#endif
#if defined(__aarch64__)
  // bfmmla over bfdot: fewer instructions per multiply-add (docs/PERFORMANCE.md), same bits.
  if ((getauxval(AT_HWCAP2) & HWCAP2_BF16) != 0) return Bf16Isa::kNeonBfmmla;
#endif
  return Bf16Isa::kGeneric;
}

const char* Bf16IsaName(Bf16Isa isa) {
  switch (isa) {
    case Bf16Isa::kAvx512Bf16: return "avx512bf16";
    case Bf16Isa::kNeonBfdot: return "neon-bfdot";
    case Bf16Isa::kNeonBfmmla: return "neon-bfmmla";
    case Bf16Isa::kGeneric: break;
  }
  return "generic";
}

int SupportedBf16Isas(Bf16Isa* out, int max) {
  int n = 0;
  if (n < max) out[n++] = Bf16Isa::kGeneric;
  if (DetectBf16Isa() == Bf16Isa::kAvx512Bf16 && n < max) out[n++] = Bf16Isa::kAvx512Bf16;
  if (DetectBf16Isa() == Bf16Isa::kNeonBfmmla && n + 1 < max) {
    out[n++] = Bf16Isa::kNeonBfdot;
    out[n++] = Bf16Isa::kNeonBfmmla;
  }
  return n;
}

bool Bf16IsaMatchesOracle(Bf16Isa isa) { return isa == Bf16Isa::kGeneric || isa == Bf16Isa::kAvx512Bf16; }

size_t PackedSizeBf16(int64_t K, int64_t N) {
  return static_cast<size_t>((N + kNR - 1) / kNR * kNR * Bf16EvenK(K));
}

void PackTransposedBf16(Bf16Isa isa, const float* W, int64_t ldw, int64_t N, int64_t K, uint16_t* packed) {
  PackTransposedRows(isa, W, ldw, N, K, packed, [](int64_t, int64_t, float*) {});
}

void PackTransposedHalfBf16(Bf16Isa isa, const uint8_t* W, int64_t ldw, int64_t N, int64_t K, uint16_t* packed) {
  // Widening f16 is exact on every ISA (vcvtph2ps or HalfToFloat); the vector one is load time.
  PackTransposedRows(isa, nullptr, 0, N, K, packed, [&](int64_t n0, int64_t rows, float* out) {
    WidenHalfRows(isa, W + 2 * n0 * ldw, ldw, rows, K, out);
  });
}

void WidenHalfRows(Bf16Isa isa, const uint8_t* W, int64_t ldw, int64_t rows, int64_t K, float* out) {
#if defined(__x86_64__)
  if (isa == Bf16Isa::kAvx512Bf16) return WidenHalfRowsAvx512(W, ldw, rows, K, out);
#endif
  (void)isa;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < K; ++k) {
      uint16_t h;  // the file's halves may sit at odd addresses
      std::memcpy(&h, W + 2 * (r * ldw + k), 2);
      out[r * K + k] = HalfToFloat(h);
    }
  }
}

void PackRowMajorBf16(Bf16Isa isa, const float* B, int64_t ldb, int64_t K, int64_t N, uint16_t* packed) {
  // Blocks of rows rounded by the ISA's conversion into a buffer kNR columns wide per panel
  // (zero past N), then each pair of rows interleaved into its panel row.
  const int64_t k2 = Bf16EvenK(K) / 2, n_panels = (N + kNR - 1) / kNR, width = n_panels * kNR;
  constexpr int64_t kBlock = 32;  // rows per conversion, even
  std::vector<uint16_t> rows(static_cast<size_t>(kBlock * width), 0);
  for (int64_t k0 = 0; k0 < K; k0 += kBlock) {
    const int64_t n_rows = K - k0 < kBlock ? K - k0 : kBlock;
    ConvertRowsBf16(isa, B + k0 * ldb, ldb, n_rows, N, rows.data(), width);
    if (n_rows % 2 != 0) std::fill(rows.begin() + n_rows * width, rows.begin() + (n_rows + 1) * width, uint16_t{0});
    for (int64_t p = 0; p < n_panels; ++p) {
      for (int64_t q = k0 / 2; q < (k0 + n_rows + 1) / 2; ++q) {
        uint16_t* dst = packed + (p * k2 + q) * 2 * kNR;
        const uint16_t* even = rows.data() + (2 * q - k0) * width + p * kNR;
        const uint16_t* odd = even + width;
        for (int j = 0; j < kNR; ++j) {
          dst[2 * j] = even[j];
          dst[2 * j + 1] = odd[j];
        }
      }
    }
  }
}

void UnpackColumnBf16(const uint16_t* packed, int64_t K, int64_t n, float* out) {
  const uint16_t* panel = packed + (n / kNR) * Bf16EvenK(K) * kNR + (n % kNR) * 2;
  for (int64_t k = 0; k < K; ++k) out[k] = Bf16ToFloat(panel[(k / 2) * 2 * kNR + k % 2]);
}

void ConvertRowsBf16(Bf16Isa isa, const float* A, int64_t lda, int64_t M, int64_t K, uint16_t* out, int64_t ldo) {
#if defined(__x86_64__)
  if (isa == Bf16Isa::kAvx512Bf16) return ConvertRowsBf16Avx512(A, lda, M, K, out, ldo);
#endif
  (void)isa;
  ConvertRowsGeneric(A, lda, M, K, out, ldo);
}

void GemmBf16(Bf16Isa isa, const uint16_t* A, int64_t lda, const uint16_t* packed, int64_t packed_k, int64_t K,
              int64_t N, const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
              bool accumulate) {
  (void)N;
#if defined(__x86_64__)
  if (isa == Bf16Isa::kAvx512Bf16) {
    return GemmBf16Avx512(A, lda, packed, packed_k, K, bias, C, ldc, m0, m1, n0, n1, accumulate);
  }
#endif
#if defined(__aarch64__)
  // One row (a decoding step) wastes half of every bfmmla on a pair that repeats the row: bfdot
  // takes fewer instructions there (docs/PERFORMANCE.md), with the same bits.
  if (isa == Bf16Isa::kNeonBfmmla && m1 - m0 == 1) isa = Bf16Isa::kNeonBfdot;
  if (isa == Bf16Isa::kNeonBfdot) {
    return GemmBf16NeonDot(A, lda, packed, packed_k, K, bias, C, ldc, m0, m1, n0, n1, accumulate);
  }
  if (isa == Bf16Isa::kNeonBfmmla) {
    return GemmBf16NeonMmla(A, lda, packed, packed_k, K, bias, C, ldc, m0, m1, n0, n1, accumulate);
  }
#endif
  (void)isa;
  GemmGeneric(A, lda, packed, packed_k, K, bias, C, ldc, m0, m1, n0, n1, accumulate);
}

}  // namespace wisp::kernels
