// bf16 GEMM: C = A · B (+ bias) (+= C) with A and B rounded to bfloat16 and every product
// accumulated in f32, on AVX-512 BF16's vdpbf16ps (32 multiply-adds per instruction, 2x an f32
// FMA's 16). Compute precision, not storage: B is packed once from whatever the model stores
// (f32, f16, quantized -> f32), A is rounded once per op input.
//
// Numerics, identical on every ISA (the generic kernel is the oracle, bit for bit):
//   bf16(x)  = round to nearest even of x's top 16 bits; zero and subnormal x -> signed zero,
//              NaN -> quiet NaN (exactly vcvtneps2bf16, which treats denormal inputs as zero)
//   C[m][n]  = (acc + bias[n]) [+ C[m][n]], where acc starts at 0 and, for each pair of k
//              (2p, 2p + 1), acc = (acc + a[2p+1] * b[2p+1]) + a[2p] * b[2p]
//   each step rounded to f32 (vdpbf16ps's order, measured bit-exact on Zen 4: the odd element
//   first). A product of two bf16 values is exact in f32, so a fused multiply-add and a
//   multiply then add agree. Not reproduced: vdpbf16ps flushes a subnormal running sum to zero;
//   the oracle differs only when |acc| or a product falls below 2^-126.
//
// Layout: B (K x N) as ceil(N / 32) panels of 32 columns; a panel holds ceil(K / 2) pair rows of
// 32 columns x 2 values (k even, k odd), the order vdpbf16ps reads a column's pair:
//   packed[((p * K2 + k / 2) * 32 + j) * 2 + k % 2] = bf16(B[k][p * 32 + j]),  K2 = ceil(K / 2)
// (zero past column N and past row K). A is bf16 rows of even stride; an odd K's pad element
// must be zero (ConvertRowsBf16 writes it).
#pragma once
#include <cstddef>
#include <cstdint>

namespace wisp::kernels {

// kNeonBfdot / kNeonBfmmla: Arm FEAT_BF16 (bfdot, 8 multiply-adds per instruction; bfmmla, 16).
// The Arm instructions round differently (gemm_bf16_neon.cc): their results are within a stated
// bound of the oracle's, not bit-equal, and bit-equal to each other.
enum class Bf16Isa { kGeneric, kAvx512Bf16, kNeonBfdot, kNeonBfmmla };

// kAvx512Bf16 where the CPU has AVX512_BF16 (and the OS saves zmm state), kNeonBfmmla where
// getauxval reports HWCAP2_BF16; kGeneric otherwise, which callers must not use for speed (a
// portable oracle, not a fast path).
Bf16Isa DetectBf16Isa();
const char* Bf16IsaName(Bf16Isa isa);
// kGeneric first, then every fast ISA this CPU runs, the dispatched one last (tests cover all).
int SupportedBf16Isas(Bf16Isa* out, int max);
// Whether isa's GEMM gives the generic oracle's bits (all but the Arm ones).
bool Bf16IsaMatchesOracle(Bf16Isa isa);

constexpr int kBf16PanelWidth = 32;  // columns per panel, on every ISA (one layout)

uint16_t FloatToBf16(float f);
float Bf16ToFloat(uint16_t h);

// K rounded up to even: the pair rows of a panel and the row stride of converted activations.
constexpr int64_t Bf16EvenK(int64_t K) { return (K + 1) & ~int64_t{1}; }
// uint16 elements of a packed (K x N) matrix.
size_t PackedSizeBf16(int64_t K, int64_t N);

// Packers round with the ISA's ConvertRowsBf16 (the same panels on every ISA; the ISA is speed:
// attention packs K^T and V at every call).
// Packs B = W^T where W is (N, K) row-major with leading dimension ldw: a Linear layer's weight.
void PackTransposedBf16(Bf16Isa isa, const float* W, int64_t ldw, int64_t N, int64_t K, uint16_t* packed);
// The same from W in IEEE half precision (a model file's little-endian bytes, any alignment).
void PackTransposedHalfBf16(Bf16Isa isa, const uint8_t* W, int64_t ldw, int64_t N, int64_t K, uint16_t* packed);
// Rows [0, rows) of W in IEEE half precision (row stride ldw elements, any alignment) widened to
// f32 rows of K (exact on every ISA; the isa is speed).
void WidenHalfRows(Bf16Isa isa, const uint8_t* W, int64_t ldw, int64_t rows, int64_t K, float* out);
// Packs B (K, N) row-major with leading dimension ldb (attention's V).
void PackRowMajorBf16(Bf16Isa isa, const float* B, int64_t ldb, int64_t K, int64_t N, uint16_t* packed);
// Row n of W (column n of the packed matrix) back as K floats.
void UnpackColumnBf16(const uint16_t* packed, int64_t K, int64_t n, float* out);

// Rows [0, M) of A (lda) as bf16 into out (row stride ldo >= Bf16EvenK(K)); an odd K gets a zero
// at column K.
void ConvertRowsBf16(Bf16Isa isa, const float* A, int64_t lda, int64_t M, int64_t K, uint16_t* out, int64_t ldo);

// Rows [m0, m1) and columns [n0, n1) of C (ldc) = A (bf16, lda even) · B[0:K, :]; n0 a multiple of
// 32. packed_k is the K the matrix was packed with; K <= packed_k uses its first K rows (causal
// attention's visible keys). bias (N) may be null; accumulate adds to C.
void GemmBf16(Bf16Isa isa, const uint16_t* A, int64_t lda, const uint16_t* packed, int64_t packed_k, int64_t K,
              int64_t N, const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
              bool accumulate);

}  // namespace wisp::kernels
