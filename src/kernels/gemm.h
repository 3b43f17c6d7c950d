// Single-precision GEMM kernels with runtime ISA dispatch.
// C(M, N) = A(M, K) · B(N, K)^T (+ bias(N)), all row-major with leading dimensions.
// "NT" because Whisper's weights are stored (out, in): B rows are output features, so both
// operands are read along K contiguously.
#pragma once
#include <cstdint>
#include <string>

namespace wisp::kernels {

enum class Isa { kGeneric, kAvx2, kAvx512 };

// The best ISA this CPU supports among those compiled in.
Isa DetectIsa();
const char* IsaName(Isa isa);
// ISAs this build has kernels for and this CPU can run (tests run every one of them).
int SupportedIsas(Isa* out, int max);

// One tile job: rows [m0, m1) and columns [n0, n1) of C. Callers split work across threads.
void GemmNT(Isa isa, const float* A, int64_t lda, const float* B, int64_t ldb, const float* bias, float* C,
            int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t K);

}  // namespace wisp::kernels
