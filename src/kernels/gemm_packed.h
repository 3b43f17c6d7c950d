// GEMM against a right-hand matrix packed once into panels: C = A · B (+ bias) (+= C).
// B (K x N) is stored as ceil(N / NR) panels of NR columns, each panel k-major:
//   packed[(p * K + k) * NR + j] = B[k][p * NR + j]   (zero past column N).
// The microkernel broadcasts one A element against two vectors of a panel row and keeps an
// MR x NR block of C in registers (outer-product form), so no horizontal sums are needed and
// small K (attention's head_dim) runs as fast as large K. Weights are packed at model load;
// attention packs K^T and V per call (or per audio window for cross-attention).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/gemm.h"

namespace wisp::kernels {

// NR, the panel width, for an ISA: 32 (AVX-512), 16 (AVX2), 8 (generic).
int PanelWidth(Isa isa);
// Floats needed for a packed (K x N) matrix.
size_t PackedSize(Isa isa, int64_t K, int64_t N);

// Packs B = W^T where W is (N, K) row-major with leading dimension ldw: a Linear layer's weight.
void PackTransposed(Isa isa, const float* W, int64_t ldw, int64_t N, int64_t K, float* packed);
// Packs B (K, N) row-major with leading dimension ldb.
void PackRowMajor(Isa isa, const float* B, int64_t ldb, int64_t K, int64_t N, float* packed);

// Packs B = W^T into IEEE half-precision panels (same layout, 2 bytes a value). For weights
// stored as f16 in the model file this is exact, and halves the bytes a decoding step reads.
void PackTransposedF16(Isa isa, const float* W, int64_t ldw, int64_t N, int64_t K, uint16_t* packed);
// The same from W already in half precision (a model file's f16 tensor, as little-endian bytes
// at any alignment; ldw in elements): a copy, no rounding.
void PackTransposedHalf(Isa isa, const uint8_t* W, int64_t ldw, int64_t N, int64_t K, uint16_t* packed);

// Rows [m0, m1) and columns [n0, n1) of C (ldc) = A (lda) · B[0:K, :]; n0 must be a multiple
// of NR. packed_k is the K the matrix was packed with (the panel stride); K <= packed_k uses
// only its first K rows (causal attention's visible keys). bias (N) may be null.
// accumulate: add to C instead of overwriting it.
void GemmPacked(Isa isa, const float* A, int64_t lda, const float* packed, int64_t packed_k, int64_t K, int64_t N,
                const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                bool accumulate);

// GemmPacked over f16 panels (converted to f32 in registers; f32 accumulation).
void GemmPackedF16(Isa isa, const float* A, int64_t lda, const uint16_t* packed, int64_t packed_k, int64_t K,
                   int64_t N, const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                   bool accumulate);

// Row n of W (the packed matrix's column n) back as K floats: an embedding lookup from the
// vocabulary projection's panels, so the token embedding needs no second copy.
void UnpackColumn(Isa isa, const float* packed, int64_t K, int64_t n, float* out);
void UnpackColumnF16(Isa isa, const uint16_t* packed, int64_t K, int64_t n, float* out);

// IEEE half <-> float, portable (round to nearest even).
uint16_t FloatToHalf(float f);
float HalfToFloat(uint16_t h);

}  // namespace wisp::kernels
