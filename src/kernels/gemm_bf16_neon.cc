// bf16 GEMM for Arm with FEAT_BF16 (compile flags in CMakeLists.txt; called only after
// DetectBf16Isa's HWCAP2_BF16 check): one kernel on bfdot, one on bfmmla.
//
// Not bit-equal to the generic oracle, and cannot be: the oracle is vdpbf16ps's arithmetic (per
// pair, the odd product added to the sum, then the even one, each rounded to nearest even),
// while the Arm ARM defines both instructions through BFDotAdd: the pair's two products are
// summed and rounded, then added to the running sum and rounded again, both roundings to ODD,
// with subnormal inputs and results flushed to zero (FPCR.EBF = 0, the reset value). No
// instruction order reproduces the oracle's; gemm_bf16_test.cc bounds the difference
// (ExpectWithinBfdotBound) and holds the two kernels bit-equal to each other: bfmmla
// is, per output element, two BFDotAdd steps over consecutive pairs, the same sequence bfdot
// runs, so both give the same bits for any data.
#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm_bf16.h"

namespace wisp::kernels {
namespace {

constexpr int kNR = kBf16PanelWidth;

inline bfloat16x8_t Bf(uint16x8_t v) { return vreinterpretq_bf16_u16(v); }
inline bfloat16x8_t Bf(uint32x4_t v) { return vreinterpretq_bf16_u32(v); }
inline bfloat16x8_t Bf(uint64x2_t v) { return vreinterpretq_bf16_u64(v); }

// C[0, cols) = (acc + bias) [+ C], the oracle's epilogue (a zero bias when absent: acc + 0.0f).
template <int NV>
inline void StoreRow(const float32x4_t* acc, const float* bias, float* C, int cols, bool accumulate) {
  float b[4 * NV] = {}, out[4 * NV];
  if (bias != nullptr) std::memcpy(b, bias, sizeof(float) * cols);
  for (int v = 0; v < NV; ++v) vst1q_f32(out + 4 * v, vaddq_f32(acc[v], vld1q_f32(b + 4 * v)));
  for (int j = 0; j < cols; ++j) C[j] = accumulate ? out[j] + C[j] : out[j];
}

// bfdot: MR rows x 16 columns; per pair, 4 columns a vector (the panel's order as it is), the
// row's pair picked by lane from 4 pairs of activations loaded at once.
constexpr int kDotRows = 5;  // 20 accumulators + 4 panel vectors + 5 activation vectors

template <int MR>
inline void DotTile(const uint16_t* A, int64_t lda, const uint16_t* panel, int64_t k2, const float* bias, float* C,
                    int64_t ldc, int cols, bool accumulate) {
  float32x4_t acc[MR][4];
  for (int i = 0; i < MR; ++i) {
    for (int v = 0; v < 4; ++v) acc[i][v] = vdupq_n_f32(0.0f);
  }
  int64_t p = 0;
  for (; p + 4 <= k2; p += 4) {
    bfloat16x8_t a[MR];
    for (int i = 0; i < MR; ++i) a[i] = Bf(vld1q_u16(A + i * lda + 2 * p));
#define WISP_BFDOT_PAIR(lane)                                                                  \
  for (int v = 0; v < 4; ++v) {                                                                \
    const bfloat16x8_t w = Bf(vld1q_u16(panel + (p + (lane)) * 2 * kNR + 8 * v));              \
    for (int i = 0; i < MR; ++i) acc[i][v] = vbfdotq_laneq_f32(acc[i][v], w, a[i], lane);      \
  }
    WISP_BFDOT_PAIR(0)
    WISP_BFDOT_PAIR(1)
    WISP_BFDOT_PAIR(2)
    WISP_BFDOT_PAIR(3)
#undef WISP_BFDOT_PAIR
  }
  for (; p < k2; ++p) {  // the last pairs one by one: A holds nothing past its even K
    for (int v = 0; v < 4; ++v) {
      const bfloat16x8_t w = Bf(vld1q_u16(panel + p * 2 * kNR + 8 * v));
      for (int i = 0; i < MR; ++i) {
        uint32_t pair;
        std::memcpy(&pair, A + i * lda + 2 * p, 4);
        acc[i][v] = vbfdotq_f32(acc[i][v], w, Bf(vdupq_n_u32(pair)));
      }
    }
  }
  for (int i = 0; i < MR; ++i) StoreRow<4>(acc[i], bias, C + i * ldc, cols, accumulate);
}

// bfmmla: 3 pairs of rows x 8 columns; per 2 pairs of k, a 2 x 4 block of activations (two
// rows' 4 k, interleaved by trn) times a 2 x 4 block of weights (two columns' 4 k: the panel's
// pair rows p and p + 1 zipped as 32-bit lanes), into 2 x 2 sums [r0c0, r0c1, r1c0, r1c1].
constexpr int kMmlaPairs = 3;

template <int P>
inline void MmlaTile(int rows, const uint16_t* A, int64_t lda, const uint16_t* panel, int64_t k2, const float* bias,
                     float* C, int64_t ldc, int cols, bool accumulate) {
  const uint16_t* r[2 * P];
  for (int i = 0; i < 2 * P; ++i) r[i] = A + (i < rows ? i : rows - 1) * lda;
  float32x4_t acc[P][4];  // [pair][column pair]
  for (int q = 0; q < P; ++q) {
    for (int c = 0; c < 4; ++c) acc[q][c] = vdupq_n_f32(0.0f);
  }
  int64_t p = 0;
  for (; p + 4 <= k2; p += 4) {  // 8 k: two bfmmla steps
    bfloat16x8_t a[P][2];
    for (int q = 0; q < P; ++q) {
      const uint64x2_t x0 = vreinterpretq_u64_u16(vld1q_u16(r[2 * q] + 2 * p));
      const uint64x2_t x1 = vreinterpretq_u64_u16(vld1q_u16(r[2 * q + 1] + 2 * p));
      a[q][0] = Bf(vtrn1q_u64(x0, x1));
      a[q][1] = Bf(vtrn2q_u64(x0, x1));
    }
    for (int h = 0; h < 2; ++h) {
      for (int v = 0; v < 2; ++v) {
        const uint32x4_t lo = vreinterpretq_u32_u16(vld1q_u16(panel + (p + 2 * h) * 2 * kNR + 8 * v));
        const uint32x4_t hi = vreinterpretq_u32_u16(vld1q_u16(panel + (p + 2 * h + 1) * 2 * kNR + 8 * v));
        const bfloat16x8_t w01 = Bf(vzip1q_u32(lo, hi)), w23 = Bf(vzip2q_u32(lo, hi));
        for (int q = 0; q < P; ++q) {
          acc[q][2 * v] = vbfmmlaq_f32(acc[q][2 * v], a[q][h], w01);
          acc[q][2 * v + 1] = vbfmmlaq_f32(acc[q][2 * v + 1], a[q][h], w23);
        }
      }
    }
  }
  for (; p < k2; ++p) {
    // One pair at a time with bfdot on the same [r0c0, r0c1, r1c0, r1c1] lanes: the same
    // BFDotAdd step bfmmla takes, and no reads past the even K.
    for (int v = 0; v < 2; ++v) {
      const uint64x2_t w = vreinterpretq_u64_u16(vld1q_u16(panel + p * 2 * kNR + 8 * v));
      const bfloat16x8_t w01 = Bf(vdupq_laneq_u64(w, 0)), w23 = Bf(vdupq_laneq_u64(w, 1));
      for (int q = 0; q < P; ++q) {
        uint32_t p0, p1;
        std::memcpy(&p0, r[2 * q] + 2 * p, 4);
        std::memcpy(&p1, r[2 * q + 1] + 2 * p, 4);
        const bfloat16x8_t a = Bf(vcombine_u32(vdup_n_u32(p0), vdup_n_u32(p1)));
        acc[q][2 * v] = vbfdotq_f32(acc[q][2 * v], a, w01);
        acc[q][2 * v + 1] = vbfdotq_f32(acc[q][2 * v + 1], a, w23);
      }
    }
  }
  for (int q = 0; q < P; ++q) {
    float32x4_t even[2], odd[2];  // rows 2q and 2q + 1: the 64-bit halves of the 2 x 2 blocks
    for (int v = 0; v < 2; ++v) {
      const uint64x2_t x = vreinterpretq_u64_f32(acc[q][2 * v]), y = vreinterpretq_u64_f32(acc[q][2 * v + 1]);
      even[v] = vreinterpretq_f32_u64(vtrn1q_u64(x, y));
      odd[v] = vreinterpretq_f32_u64(vtrn2q_u64(x, y));
    }
    StoreRow<2>(even, bias, C + 2 * q * ldc, cols, accumulate);
    if (2 * q + 1 < rows) StoreRow<2>(odd, bias, C + (2 * q + 1) * ldc, cols, accumulate);
  }
}

// Rows [m0, m1) x columns [n0, n1) in tiles; Tile(rows, ...) takes up to kTileRows rows and
// kCols columns of the panel starting at column c0.
template <int kTileRows, int kCols, typename Tile>
void Drive(const uint16_t* A, int64_t lda, const uint16_t* packed, int64_t packed_k, int64_t K, const float* bias,
           float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1, bool accumulate, Tile tile) {
  const int64_t k2 = Bf16EvenK(K) / 2, panel_elems = Bf16EvenK(packed_k) * kNR;
  // A block of rows stays in cache while the job's panels stream past (as the x86 kernel).
  constexpr int64_t kMBlock = 24 * kTileRows;
  for (int64_t mb = m0, me = m0; mb < m1; mb = me) {
    me = m1 - mb < kMBlock + kMBlock / 2 ? m1 : mb + kMBlock;
    for (int64_t n = n0; n < n1; n += kNR) {
      for (int c0 = 0; c0 < kNR && n + c0 < n1; c0 += kCols) {
        const uint16_t* panel = packed + (n / kNR) * panel_elems + 2 * c0;
        const int cols = static_cast<int>(n1 - n - c0 < kCols ? n1 - n - c0 : kCols);
        const float* b = bias ? bias + n + c0 : nullptr;
        for (int64_t m = mb; m < me; m += kTileRows) {
          const int rows = static_cast<int>(me - m < kTileRows ? me - m : kTileRows);
          tile(rows, A + m * lda, lda, panel, k2, b, C + m * ldc + n + c0, ldc, cols, accumulate);
        }
      }
    }
  }
}

template <int MR>
inline void DotRows(int rows, const uint16_t* A, int64_t lda, const uint16_t* panel, int64_t k2, const float* bias,
                    float* C, int64_t ldc, int cols, bool accumulate) {
  if constexpr (MR > 1) {
    if (rows < MR) return DotRows<MR - 1>(rows, A, lda, panel, k2, bias, C, ldc, cols, accumulate);
  }
  DotTile<MR>(A, lda, panel, k2, bias, C, ldc, cols, accumulate);
}

}  // namespace

void GemmBf16NeonDot(const uint16_t* A, int64_t lda, const uint16_t* packed, int64_t packed_k, int64_t K,
                     const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                     bool accumulate) {
  Drive<kDotRows, 16>(A, lda, packed, packed_k, K, bias, C, ldc, m0, m1, n0, n1, accumulate, DotRows<kDotRows>);
}

void GemmBf16NeonMmla(const uint16_t* A, int64_t lda, const uint16_t* packed, int64_t packed_k, int64_t K,
                      const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                      bool accumulate) {
  auto tile = [](int rows, const uint16_t* a, int64_t ld, const uint16_t* panel, int64_t k2, const float* b,
                 float* c, int64_t ldc_, int cols, bool acc) {
    // Fewer pairs for the last rows, so a short tile computes no whole pair it discards.
    if (rows > 4) return MmlaTile<3>(rows, a, ld, panel, k2, b, c, ldc_, cols, acc);
    if (rows > 2) return MmlaTile<2>(rows, a, ld, panel, k2, b, c, ldc_, cols, acc);
    MmlaTile<1>(rows, a, ld, panel, k2, b, c, ldc_, cols, acc);
  };
  Drive<2 * kMmlaPairs, 8>(A, lda, packed, packed_k, K, bias, C, ldc, m0, m1, n0, n1, accumulate, tile);
}

}  // namespace wisp::kernels
