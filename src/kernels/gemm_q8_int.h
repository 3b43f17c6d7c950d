// Integer GEMM for q8_0 weights: C = A · W^T (+ bias), where A is first quantized like ggml's
// q8_0 (per row, blocks of 32 along K, one f32 scale each) and every block's product is a sum of
// int8 x int8 terms, computed four at a time by AVX-512 VNNI's vpdpbusd (64 multiply-adds per
// instruction, 4x an f32 FMA's 16). This is what whisper.cpp does for q8_0 weights: the result
// drifts from the f32 product on dequantized weights by the activations' rounding (~0.3 % of a
// block's largest value per element; tests/kernel tests state the bound). The widening kernels
// of gemm_q8.h stay the exact path.
//
// Numerics, identical on every ISA (the generic kernel is the oracle, bit for bit):
//   qa[m][k] = nearbyint(a[m][k] / sa[m][b]),  sa[m][b] = max_k|a[m][k]| / 127  over block b
//   C[m][n]  = bias[n] + sum_b fma-accumulate( float(sum_k qa * qw), sw[n][b] * sa[m][b] )
// vpdpbusd multiplies unsigned by signed bytes, so the panels hold qw + 128 (unsigned) and the
// activations' blocks carry ca[m][b] = -128 * sum_k qa[m][k], the initial value of each block's
// integer sum, which cancels the offset exactly.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wisp::kernels {

// kNeonDot: Arm FEAT_DotProd (sdot, 16 multiply-adds per instruction); kNeonI8mm: Arm
// FEAT_I8MM (usmmla, 32). Same packed layout and the same bits on every ISA.
enum class Q8IntIsa { kGeneric, kAvx512Vnni, kNeonDot, kNeonI8mm };

// The best integer-product ISA of this CPU; kGeneric means no fast integer path (callers then
// keep to the widening kernels of gemm_q8.h, which are faster than the portable integer loop).
// On aarch64 by getauxval: i8mm before dotprod (fewer instructions per block, docs/PERFORMANCE.md).
Q8IntIsa DetectQ8IntIsa();
const char* Q8IntIsaName(Q8IntIsa isa);
// kGeneric first, then every fast ISA this CPU runs, the dispatched one last (tests cover all).
int SupportedQ8IntIsas(Q8IntIsa* out, int max);
// Calls that reached isa's own kernel file (counted by the Arm kernels; 0 for the others): the
// Arm kernels' bits equal the oracle's, so this is how a test tells that the fast one ran.
int64_t Q8IntKernelCalls(Q8IntIsa isa);

constexpr int kQ8IntPanelWidth = 32;  // columns per panel, on every ISA (one layout)
constexpr int64_t kQ8IntScaleBytes = kQ8IntPanelWidth * 4;  // a block's f32 scales (or mins)
// Bytes before a block's integers (scales [+ mins]) and of a whole block: 1152 or 1280.
constexpr int64_t Q8IntHeadBytes(bool with_mins) { return with_mins ? 2 * kQ8IntScaleBytes : kQ8IntScaleBytes; }
constexpr int64_t Q8IntBlockBytes(bool with_mins) { return Q8IntHeadBytes(with_mins) + 32 * kQ8IntPanelWidth; }

// Weights with an offset per block (ggml's q4_1 / q5_1: w = q * d + m, q in 0..31) use panels
// "with mins": the same plus 32 f32 offsets per block, and per block the epilogue adds
// m * sa * sum_k qa[k] (the activations' block sum is exact: -ca / 128).
//
// Bytes of a packed (N x K) weight; K a multiple of 32. Per panel and block: 32 f32 scales,
// [32 f32 mins,] then 8 groups of 4 k, each 32 columns x 4 bytes (qw + 128), the order vpdpbusd
// reads.
size_t PackedSizeQ8Int(int64_t K, int64_t N, bool with_mins = false);
// blocks: N rows of K/32 ggml q8_0 blocks (34 bytes: f16 scale, 32 int8).
void PackQ8_0Int(const uint8_t* blocks, int64_t N, int64_t K, uint8_t* packed);
// Blocks of kQ8MinBlockBytes: f32 d, f32 m, 32 int8 q (w = q * d + m); panels with mins.
constexpr int kQ8MinBlockBytes = 40;
void PackQ8MinInt(const uint8_t* blocks, int64_t N, int64_t K, uint8_t* packed);
// N rows of f32 W (row stride ldw), quantized per 32-block exactly as QuantizeRowsQ8 quantizes
// activations (scale max|w| / 127, nearbyint), into panels without mins. For operands made at run
// time (attention's K and V^T), where ggml's round-half-away rounding has no file to agree with
// and the activations' vectorised quantizer is the cheap one. qa, sa: scratch of N * K and
// N * K / 32. Bit-identical on every ISA, as QuantizeRowsQ8 is.
void PackRowsQ8Int(Q8IntIsa isa, const float* W, int64_t ldw, int64_t N, int64_t K, uint8_t* packed, int8_t* qa,
                   float* sa);
// Row n of W back as K floats (q * d [+ m], as ggml dequantizes).
void UnpackColumnQ8Int(const uint8_t* packed, int64_t K, int64_t n, float* out, bool with_mins = false);

// Quantizes rows [0, M) of A (lda) into qa (M x K, row stride K), sa and ca (M x K/32).
void QuantizeRowsQ8(Q8IntIsa isa, const float* A, int64_t lda, int64_t M, int64_t K, int8_t* qa, float* sa,
                    int32_t* ca);

// Rows [m0, m1), columns [n0, n1) (n0 a multiple of 32) of C (ldc) from quantized rows.
void GemmQ8Int(Q8IntIsa isa, const int8_t* qa, const float* sa, const int32_t* ca, int64_t K,
               const uint8_t* packed, int64_t N, const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1,
               int64_t n0, int64_t n1, bool with_mins = false);

}  // namespace wisp::kernels
