// The packed GEMM on every compiled ISA this CPU runs, against a double-precision loop:
// both packings, ragged M/N/K, bias, accumulation and jobs split at panel boundaries.
#include "kernels/gemm_packed.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace wisp::kernels {
namespace {

TEST(GemmPacked, MatchesDoubleReferenceOnEveryIsa) {
  Isa isas[3];
  const int n_isa = SupportedIsas(isas, 3);
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.f, 1.f);
  const int shapes[][3] = {{1, 1, 1}, {1, 384, 70}, {13, 64, 33}, {25, 7, 100}, {130, 200, 64}, {3, 1536, 5}};
  for (int t = 0; t < n_isa; ++t) {
    const int nr = PanelWidth(isas[t]);
    for (auto& s : shapes) {
      for (int layout = 0; layout < 2; ++layout) {
        for (int accumulate = 0; accumulate < 2; ++accumulate) {
          const int M = s[0], K = s[1], N = s[2];
          const int lda = K + 2, ldc = N + 3;
          std::vector<float> A(M * lda), W(N * K), bias(N), C(M * ldc);
          for (auto& v : A) v = dist(rng);
          for (auto& v : W) v = dist(rng);
          for (auto& v : bias) v = dist(rng);
          for (auto& v : C) v = dist(rng);
          const std::vector<float> C0 = C;
          std::vector<float> packed(PackedSize(isas[t], K, N), -1.f);
          if (layout == 0) {
            PackTransposed(isas[t], W.data(), K, N, K, packed.data());  // W is (N, K)
          } else {
            std::vector<float> B(K * N);  // the same matrix stored (K, N)
            for (int n = 0; n < N; ++n)
              for (int k = 0; k < K; ++k) B[k * N + n] = W[n * K + k];
            PackRowMajor(isas[t], B.data(), N, K, N, packed.data());
          }
          // Two jobs split at a panel boundary, as the thread pool splits them.
          const int split = std::min(N, ((N / 2) / nr) * nr);
          GemmPacked(isas[t], A.data(), lda, packed.data(), K, K, N, bias.data(), C.data(), ldc, 0, M, 0, split,
                     accumulate);
          GemmPacked(isas[t], A.data(), lda, packed.data(), K, K, N, bias.data(), C.data(), ldc, 0, M, split, N,
                     accumulate);
          double e2 = 0, r2 = 0;
          for (int m = 0; m < M; ++m) {
            for (int n = 0; n < N; ++n) {
              double r = bias[n] + (accumulate ? C0[m * ldc + n] : 0.0);
              for (int k = 0; k < K; ++k) r += double(A[m * lda + k]) * W[n * K + k];
              e2 += (C[m * ldc + n] - r) * (C[m * ldc + n] - r);
              r2 += r * r;
            }
            for (int n = N; n < ldc; ++n) ASSERT_EQ(C[m * ldc + n], C0[m * ldc + n]) << "wrote past N";
          }
          EXPECT_LT(e2 / r2, 1e-9) << IsaName(isas[t]) << " M=" << M << " K=" << K << " N=" << N
                                   << " layout=" << layout << " acc=" << accumulate;
        }
      }
    }
  }
}

}  // namespace
}  // namespace wisp::kernels
