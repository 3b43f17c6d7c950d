// q8_0 integer GEMM for Arm with FEAT_DotProd (sdot; compile flags in CMakeLists.txt, called
// only after DetectQ8IntIsa's HWCAP_ASIMDDP check). Same numerics as the generic kernel in
// gemm_q8_int.cc, bit for bit: the integer block sums are exact whatever the order, and the
// scale step is the oracle's one fma per block, in block order.
//
// The panels hold qw + 128 for x86's unsigned-by-signed vpdpbusd; sdot multiplies signed by
// signed, so each weight vector is XORed with 0x80 (giving qw back) and the block sums start at
// zero instead of the activations' offset correction ca: the same integer, sum_k qa * qw.
#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm_q8_int.h"
#include "kernels/gemm_q8_int_neon.inc"

namespace wisp::kernels {
namespace {

// 3 rows x 16 columns (half a panel): 12 integer + 12 float accumulators, 4 weight vectors and a
// row's broadcast quad in the 32 NEON registers (2 rows: 9 % more instructions under qemu, the
// weights' XOR shared by fewer rows).
constexpr int kRows = 3;

template <int MR, bool kMins>
inline void Tile(const int8_t* qa, const float* sa, const int32_t* ca, int64_t K, const uint8_t* panel, int c0,
                 const float* bias, float* C, int64_t ldc, int cols) {
  const int64_t nb = K / 32;
  float32x4_t f[MR][4];
  for (int i = 0; i < MR; ++i) {
    for (int v = 0; v < 4; ++v) f[i][v] = vdupq_n_f32(0.0f);
  }
  const uint8x16_t flip = vdupq_n_u8(0x80);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = panel + b * Q8IntBlockBytes(kMins);
    const uint8_t* wq = blk + Q8IntHeadBytes(kMins) + c0 * 4;
    int32x4_t s[MR][4];
    for (int i = 0; i < MR; ++i) {
      for (int v = 0; v < 4; ++v) s[i][v] = vdupq_n_s32(0);
    }
    const int8_t* a = qa + b * 32;
    // One 4-k group at a time, all its weights (4 vectors) against every row's broadcast quad.
    // Not unrolled: unrolled, GCC turns the 8 groups into per-accumulator chains that keep all
    // 32 weight vectors live and spills them (twice this file's stack accesses; only 2 % more
    // instructions under qemu, but loads and stores a real core pays for).
#pragma GCC unroll 1
    for (int g = 0; g < 8; ++g) {
      int8x16_t w[4];
      for (int v = 0; v < 4; ++v) w[v] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(wq + g * 128 + v * 16), flip));
      for (int i = 0; i < MR; ++i) {
        int32_t quad;
        std::memcpy(&quad, a + i * K + 4 * g, 4);
        const int8x16_t av = vreinterpretq_s8_s32(vdupq_n_s32(quad));
        for (int v = 0; v < 4; ++v) s[i][v] = vdotq_s32(s[i][v], w[v], av);
      }
    }
    for (int i = 0; i < MR; ++i) ScaleBlockRow<4, kMins>(blk, c0, sa[i * nb + b], ca[i * nb + b], s[i], f[i]);
  }
  for (int i = 0; i < MR; ++i) StoreRow<4>(f[i], bias, C + i * ldc, cols);
}

template <int MR, bool kMins>
inline void Rows(int rows, const int8_t* qa, const float* sa, const int32_t* ca, int64_t K, const uint8_t* panel,
                 int c0, const float* bias, float* C, int64_t ldc, int cols) {
  if constexpr (MR > 1) {
    if (rows < MR) return Rows<MR - 1, kMins>(rows, qa, sa, ca, K, panel, c0, bias, C, ldc, cols);
  }
  Tile<MR, kMins>(qa, sa, ca, K, panel, c0, bias, C, ldc, cols);
}

struct DotTile {
  static constexpr int kTileRows = kRows, kCols = 16;
  template <bool kMins>
  static void Run(int rows, const int8_t* qa, const float* sa, const int32_t* ca, int64_t K, const uint8_t* panel,
                  int c0, const float* bias, float* C, int64_t ldc, int cols) {
    Rows<kRows, kMins>(rows, qa, sa, ca, K, panel, c0, bias, C, ldc, cols);
  }
};

}  // namespace

std::atomic<int64_t> g_q8_int_neon_dot_calls{0};

void GemmQ8IntNeonDot(const int8_t* qa, const float* sa, const int32_t* ca, int64_t K, const uint8_t* packed,
                      const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                      bool with_mins) {
  RunKernel<DotTile>(&g_q8_int_neon_dot_calls, qa, sa, ca, K, packed, bias, C, ldc, m0, m1, n0, n1, with_mins);
}

}  // namespace wisp::kernels
