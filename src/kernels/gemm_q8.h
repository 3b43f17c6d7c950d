// GEMM against weights kept in ggml's q8_0 format (blocks of 32 int8 along K with one f16
// scale), packed once into panels and widened to f32 in registers: C = A · W^T (+ bias).
// A decoding step streams ~1.06 bytes per weight instead of 4 (f32), and the products equal
// those on ggml's dequantized values (each weight is formed as q * d in f32 exactly as
// ggml's dequantize_row_q8_0 forms it), so q8_0 models run natively with no f32 copy.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/gemm.h"

namespace wisp::kernels {

constexpr int kQ8BlockSize = 32;     // weights per block along K
constexpr int kQ8BlockBytes = 34;    // f16 scale + 32 int8, as ggml stores a block

// Bytes of a packed (N x K) q8_0 weight; K must be a multiple of 32.
size_t PackedSizeQ8(Isa isa, int64_t K, int64_t N);
// blocks: N rows of K/32 ggml q8_0 blocks. Panel p, block b holds NR f32 scales then the
// 32 x NR int8 values k-major; columns past N are zero.
void PackQ8_0(Isa isa, const uint8_t* blocks, int64_t N, int64_t K, uint8_t* packed);
// Row n of W back as K floats (q * d, as ggml dequantizes).
void UnpackColumnQ8(Isa isa, const uint8_t* packed, int64_t K, int64_t n, float* out);
// Rows [m0, m1), columns [n0, n1) (n0 a multiple of PanelWidth) of C = A · W^T + bias.
void GemmPackedQ8(Isa isa, const float* A, int64_t lda, const uint8_t* packed, int64_t K, int64_t N,
                  const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1);

}  // namespace wisp::kernels
