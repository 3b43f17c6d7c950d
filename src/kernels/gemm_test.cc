// Every compiled ISA's GEMM against a double-precision loop, over random shapes including the
// ragged edges (M, N not multiples of the tile, K not a multiple of the vector width).
#include "kernels/gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace wisp::kernels {
namespace {

// Says which ISAs every "OnEveryIsa" test in this binary covers (they all iterate SupportedIsas),
// so a log shows what ran; on Arm only the generic kernels exist, which GCC's vector extensions
// compile to NEON, and this pins that the generic path is the one dispatched there.
TEST(Isa, ReportsTheIsasTheTestsCover) {
  Isa isas[3];
  const int n_isa = SupportedIsas(isas, 3);
  ASSERT_GE(n_isa, 1);
  EXPECT_EQ(isas[0], Isa::kGeneric) << "the generic kernels are always tested";
  EXPECT_EQ(isas[n_isa - 1], DetectIsa()) << "tests stop at the ISA production code dispatches to";
  std::string names;
  for (int t = 0; t < n_isa; ++t) names += std::string(t ? ", " : "") + IsaName(isas[t]);
  std::printf("[ ISA      ] kernels tested on: %s (dispatch picks %s)\n", names.c_str(), IsaName(DetectIsa()));
  RecordProperty("isas", names);
#if defined(__aarch64__)
  EXPECT_EQ(n_isa, 1);
  EXPECT_EQ(DetectIsa(), Isa::kGeneric) << "aarch64 has no ISA-specific kernels";
#if !defined(__ARM_NEON)
  ADD_FAILURE() << "aarch64 build without NEON: the generic kernels would be scalar";
#endif
#endif
}

TEST(GemmNT, MatchesDoubleReferenceOnEveryIsa) {
  Isa isas[3];
  const int n_isa = SupportedIsas(isas, 3);
  ASSERT_GE(n_isa, 1);
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.f, 1.f);
  const int shapes[][3] = {{1, 1, 1}, {1, 384, 51}, {5, 7, 3}, {17, 64, 33}, {64, 100, 9}, {130, 384, 70}, {3, 1536, 5}};
  for (int t = 0; t < n_isa; ++t) {
    for (auto& s : shapes) {
      const int M = s[0], K = s[1], N = s[2];
      const int lda = K + 3, ldb = K + 1, ldc = N + 2;
      std::vector<float> A(M * lda), B(N * ldb), bias(N), C(M * ldc, -7.f);
      for (auto& v : A) v = dist(rng);
      for (auto& v : B) v = dist(rng);
      for (auto& v : bias) v = dist(rng);
      // Two column ranges to check that tile jobs compose.
      GemmNT(isas[t], A.data(), lda, B.data(), ldb, bias.data(), C.data(), ldc, 0, M, 0, N / 2, K);
      GemmNT(isas[t], A.data(), lda, B.data(), ldb, bias.data(), C.data(), ldc, 0, M, N / 2, N, K);
      double err2 = 0, ref2 = 0;
      for (int m = 0; m < M; ++m) {
        for (int n = 0; n < N; ++n) {
          double r = bias[n];
          for (int k = 0; k < K; ++k) r += double(A[m * lda + k]) * B[n * ldb + k];
          const double d = C[m * ldc + n] - r;
          err2 += d * d;
          ref2 += r * r;
        }
        for (int n = N; n < ldc; ++n) ASSERT_EQ(C[m * ldc + n], -7.f) << "wrote past N";
      }
      // NMSE bound: f32 accumulation over K <= 1536 terms gives ~1e-13..1e-11; 1e-9 catches
      // any indexing error (which gives NMSE ~ 1).
      EXPECT_LT(err2 / (ref2 + 1e-30), 1e-9) << IsaName(isas[t]) << " M=" << M << " K=" << K << " N=" << N;
    }
  }
}

}  // namespace
}  // namespace wisp::kernels
