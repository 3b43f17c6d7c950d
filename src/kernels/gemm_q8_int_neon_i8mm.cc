// q8_0 integer GEMM for Arm with FEAT_I8MM (usmmla; compile flags in CMakeLists.txt, called only
// after DetectQ8IntIsa's HWCAP2_I8MM check). Same numerics as the generic kernel in
// gemm_q8_int.cc, bit for bit: the integer block sums are exact whatever the order, and the
// scale step is the oracle's one fma per block, in block order (gemm_q8_int_neon.inc).
//
// usmmla multiplies a 2 x 8 unsigned by a 2 x 8 signed byte matrix into 2 x 2 int32 sums (32
// multiply-adds, 2x an sdot's). Unsigned first: the panels' qw + 128 go in as they are and the
// block sums start at the activations' offset correction ca, exactly as on x86 - no XOR. The
// panel keeps 4 k of a column together (vpdpbusd's order); two adjacent groups zipped as 32-bit
// lanes give 2 columns x 8 k, the operand usmmla reads.
#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm_q8_int.h"
#include "kernels/gemm_q8_int_neon.inc"

namespace wisp::kernels {
namespace {

// 2 pairs of rows x 8 columns: 8 integer (2 x 2 each) + 8 float accumulators, the pairs'
// activations and the zipped weight vectors in the 32 NEON registers. 3 pairs would fit on paper
// but GCC spills them: 10 % more instructions per multiply-add under qemu.
constexpr int kPairs = 2;

// Rows 2p and 2p + 1 of the tile (an odd tile repeats its last row as the pair's second, whose
// results are then not stored).
template <int P, bool kMins>
inline void Tile(int rows, const int8_t* qa, const float* sa, const int32_t* ca, int64_t K, const uint8_t* panel,
                 int c0, const float* bias, float* C, int64_t ldc, int cols) {
  const int64_t nb = K / 32;
  int r[2 * P];
  for (int i = 0; i < 2 * P; ++i) r[i] = i < rows ? i : rows - 1;
  float32x4_t f[2 * P][2];
  for (int i = 0; i < 2 * P; ++i) f[i][0] = f[i][1] = vdupq_n_f32(0.0f);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = panel + b * Q8IntBlockBytes(kMins);
    const uint8_t* wq = blk + Q8IntHeadBytes(kMins) + c0 * 4;
    // acc[p][c]: columns (2c, 2c + 1) x rows (2p, 2p + 1), lanes [c0 r0, c0 r1, c1 r0, c1 r1].
    int32x4_t acc[P][4];
    for (int p = 0; p < P; ++p) {
      const int32_t init[4] = {ca[r[2 * p] * nb + b], ca[r[2 * p + 1] * nb + b], ca[r[2 * p] * nb + b],
                               ca[r[2 * p + 1] * nb + b]};
      for (int c = 0; c < 4; ++c) acc[p][c] = vld1q_s32(init);
    }
    const int8_t* a = qa + b * 32;
    for (int q = 0; q < 2; ++q) {  // 16 k at a time: two 8-k steps
      int8x16_t pair[P][2];  // [r0 k0..7 | r1 k0..7] and the same for k8..15
      for (int p = 0; p < P; ++p) {
        const int64x2_t x0 = vreinterpretq_s64_s8(vld1q_s8(a + r[2 * p] * K + 16 * q));
        const int64x2_t x1 = vreinterpretq_s64_s8(vld1q_s8(a + r[2 * p + 1] * K + 16 * q));
        pair[p][0] = vreinterpretq_s8_s64(vtrn1q_s64(x0, x1));
        pair[p][1] = vreinterpretq_s8_s64(vtrn2q_s64(x0, x1));
      }
      for (int h = 0; h < 2; ++h) {
        const int g = 2 * (2 * q + h);  // the first of the step's two 4-k groups
        for (int v = 0; v < 2; ++v) {
          const uint32x4_t lo = vreinterpretq_u32_u8(vld1q_u8(wq + g * 128 + 16 * v));
          const uint32x4_t hi = vreinterpretq_u32_u8(vld1q_u8(wq + (g + 1) * 128 + 16 * v));
          const uint8x16_t w01 = vreinterpretq_u8_u32(vzip1q_u32(lo, hi));  // columns 4v, 4v + 1
          const uint8x16_t w23 = vreinterpretq_u8_u32(vzip2q_u32(lo, hi));  // columns 4v + 2, 4v + 3
          for (int p = 0; p < P; ++p) {
            acc[p][2 * v] = vusmmlaq_s32(acc[p][2 * v], w01, pair[p][h]);
            acc[p][2 * v + 1] = vusmmlaq_s32(acc[p][2 * v + 1], w23, pair[p][h]);
          }
        }
      }
    }
    for (int p = 0; p < P; ++p) {
      // De-interleave the 2 x 2 blocks into rows: uzp1 takes the even lanes (row 2p).
      int32x4_t even[2], odd[2];
      for (int v = 0; v < 2; ++v) {
        even[v] = vuzp1q_s32(acc[p][2 * v], acc[p][2 * v + 1]);
        odd[v] = vuzp2q_s32(acc[p][2 * v], acc[p][2 * v + 1]);
      }
      const int i0 = r[2 * p], i1 = r[2 * p + 1];
      ScaleBlockRow<2, kMins>(blk, c0, sa[i0 * nb + b], ca[i0 * nb + b], even, f[2 * p]);
      ScaleBlockRow<2, kMins>(blk, c0, sa[i1 * nb + b], ca[i1 * nb + b], odd, f[2 * p + 1]);
    }
  }
  for (int i = 0; i < rows; ++i) StoreRow<2>(f[i], bias, C + i * ldc, cols);
}

struct MmlaTile {
  static constexpr int kTileRows = 2 * kPairs, kCols = 8;
  template <bool kMins>
  static void Run(int rows, const int8_t* qa, const float* sa, const int32_t* ca, int64_t K, const uint8_t* panel,
                  int c0, const float* bias, float* C, int64_t ldc, int cols) {
    // One pair for the last rows, so a short tile does not compute (and discard) a whole pair.
    if (rows > 2) return Tile<kPairs, kMins>(rows, qa, sa, ca, K, panel, c0, bias, C, ldc, cols);
    Tile<1, kMins>(rows, qa, sa, ca, K, panel, c0, bias, C, ldc, cols);
  }
};

}  // namespace

std::atomic<int64_t> g_q8_int_neon_i8mm_calls{0};

void GemmQ8IntNeonI8mm(const int8_t* qa, const float* sa, const int32_t* ca, int64_t K, const uint8_t* packed,
                       const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                       bool with_mins) {
  RunKernel<MmlaTile>(&g_q8_int_neon_i8mm_calls, qa, sa, ca, K, packed, bias, C, ldc, m0, m1, n0, n1, with_mins);
}

}  // namespace wisp::kernels
