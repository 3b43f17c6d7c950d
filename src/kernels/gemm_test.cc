// Every compiled ISA's GEMM against a double-precision loop, over random shapes including the
// ragged edges (M, N not multiples of the tile, K not a multiple of the vector width).
#include "kernels/gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "kernels/gemm_bf16.h"
#include "kernels/gemm_q8_int.h"

namespace wisp::kernels {
namespace {

// Says which ISAs every "OnEveryIsa" test in this binary covers (they all iterate SupportedIsas,
// SupportedQ8IntIsas, SupportedBf16Isas), so a log shows what ran. On Arm the f32 kernels are the
// generic ones, which GCC's vector extensions compile to NEON; the int8 and bf16 GEMMs have Arm
// kernels (sdot, usmmla, bfdot, bfmmla) where getauxval reports the feature.
//
// scripts/test-arm.sh runs this under several qemu -cpu models and sets WISP_EXPECT_ARM_KERNELS
// to the Arm kernels that model's features must select: a dispatch that misses one fails here
// rather than passing silently on the (bit-equal) generic path.
TEST(Isa, ReportsTheIsasTheTestsCover) {
  Isa isas[3];
  const int n_isa = SupportedIsas(isas, 3);
  ASSERT_GE(n_isa, 1);
  EXPECT_EQ(isas[0], Isa::kGeneric) << "the generic kernels are always tested";
  EXPECT_EQ(isas[n_isa - 1], DetectIsa()) << "tests stop at the ISA production code dispatches to";
  std::string names;
  for (int t = 0; t < n_isa; ++t) names += std::string(t ? ", " : "") + IsaName(isas[t]);
  Q8IntIsa q8[4];
  Bf16Isa bf[4];
  const int n_q8 = SupportedQ8IntIsas(q8, 4), n_bf = SupportedBf16Isas(bf, 4);
  std::string fast;  // the int8 / bf16 kernels beyond the generic oracles
  for (int t = 1; t < n_q8; ++t) fast += std::string(fast.empty() ? "" : ",") + Q8IntIsaName(q8[t]);
  for (int t = 1; t < n_bf; ++t) fast += std::string(fast.empty() ? "" : ",") + Bf16IsaName(bf[t]);
  std::printf("[ ISA      ] kernels tested on: %s (dispatch picks %s); int8/bf16 kernels: generic%s%s\n",
              names.c_str(), IsaName(DetectIsa()), fast.empty() ? "" : ",", fast.c_str());
  RecordProperty("isas", names);
  RecordProperty("int8_bf16_kernels", fast);
#if defined(__aarch64__)
  EXPECT_EQ(n_isa, 1);
  EXPECT_EQ(DetectIsa(), Isa::kGeneric) << "aarch64 has no ISA-specific f32 kernels";
#if !defined(__ARM_NEON)
  ADD_FAILURE() << "aarch64 build without NEON: the generic kernels would be scalar";
#endif
  if (const char* expect = std::getenv("WISP_EXPECT_ARM_KERNELS")) {
    EXPECT_EQ(fast, expect) << "the Arm kernels this CPU model's features select";
  }
  // Listed is not run: each listed integer kernel must be reached through GemmQ8Int (its file
  // counts its calls), since its bits equal the generic kernel's. (The bf16 ones give other bits
  // than the oracle: GemmBf16.ArmKernelsRoundTheBfdotStepToOdd proves bfdot ran, and
  // ArmBfdotAndBfmmlaAreBitEqual that bfmmla gives bfdot's bits, not the oracle's.)
  for (int t = 1; t < n_q8; ++t) {
    // Two rows: a single one goes to sdot on an i8mm CPU (GemmQ8Int's one-row rule).
    const int8_t qa[64] = {1};
    const float sa[2] = {1.0f, 1.0f};
    const int32_t ca[2] = {-128, 0};
    std::vector<uint8_t> packed(PackedSizeQ8Int(32, 1));
    float c[2] = {};
    const int64_t before = Q8IntKernelCalls(q8[t]);
    GemmQ8Int(q8[t], qa, sa, ca, 32, packed.data(), 1, nullptr, c, 1, 0, 2, 0, 1);
    EXPECT_EQ(Q8IntKernelCalls(q8[t]), before + 1) << Q8IntIsaName(q8[t]) << " listed but its kernel did not run";
  }
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
