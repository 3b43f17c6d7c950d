// The bf16 GEMM on every bf16 ISA this CPU runs: bit-equal to the generic oracle, equal to its
// definition (products of the rounded values, in double), and within the stated drift of the f32
// product. Rounding matches vcvtneps2bf16 on the edge values.
#include "kernels/gemm_bf16.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/gemm_packed.h"

namespace wisp::kernels {
namespace {

float FromBits(uint32_t x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

// The Arm kernels against the oracle: both are sequences of f32 roundings of partial sums of the
// same exact products (a product of two bf16 values is exact in f32). The oracle rounds K times
// to nearest (each error <= 2^-24 of a partial sum, and every partial sum is <= S = sum |a w|);
// BFDotAdd rounds K times to odd (K/2 pair sums, K/2 accumulations; each error < 2^-23 of its
// value <= S). Hence |arm - oracle| <= 1.5 K 2^-23 S to first order; the final bias add (round
// to nearest of two nearby sums) adds at most an ulp of the result. The test asserts
// 2 K 2^-23 S + 2^-22 |c|: the first-order bound with a third to spare, still ~1e-5 relative for
// K = 1536 where a wrong pair or column would be off by O(1).
void ExpectWithinBfdotBound(const std::vector<float>& got, const std::vector<float>& oracle,
                            const std::vector<double>& abs_sum, int K, int M, int N, int ldc, const char* isa) {
  int bad = 0;
  for (int m = 0; m < M; ++m) {
    for (int n = 0; n < N; ++n) {
      const size_t i = static_cast<size_t>(m) * ldc + n;
      const double bound = std::ldexp(2.0 * Bf16EvenK(K) * abs_sum[i], -23) + std::ldexp(std::fabs(oracle[i]), -22);
      if (!(std::fabs(double(got[i]) - oracle[i]) <= bound) && bad++ < 5) {
        ADD_FAILURE() << isa << " (" << m << "," << n << ") got " << got[i] << " oracle " << oracle[i] << " bound "
                      << bound << " K=" << K;
      }
    }
    for (int n = N; n < ldc; ++n) EXPECT_EQ(got[m * ldc + n], oracle[m * ldc + n]) << isa << " wrote past N";
  }
}

TEST(GemmBf16, RoundsToNearestEvenAndFlushesSubnormals) {
  EXPECT_EQ(FloatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(FloatToBf16(FromBits(0x3f808000u)), 0x3f80);  // tie, even below: stays
  EXPECT_EQ(FloatToBf16(FromBits(0x3f818000u)), 0x3f82);  // tie, odd below: rounds up
  EXPECT_EQ(FloatToBf16(FromBits(0x3f808001u)), 0x3f81);  // above the tie
  EXPECT_EQ(FloatToBf16(-0.0f), 0x8000);
  EXPECT_EQ(FloatToBf16(1e-40f), 0x0000);  // subnormal: zero, as vcvtneps2bf16 (DAZ)
  EXPECT_EQ(FloatToBf16(-1e-40f), 0x8000);
  EXPECT_EQ(FloatToBf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds past the largest bf16
  EXPECT_EQ(FloatToBf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(FloatToBf16(FromBits(0x7f800001u)), 0x7fc0);  // signalling NaN -> quiet
  EXPECT_EQ(Bf16ToFloat(0x3f82), 1.015625f);
}

TEST(GemmBf16, ConversionIsBitEqualOnEveryIsa) {
  Bf16Isa isas[4];
  const int n_isa = SupportedBf16Isas(isas, 4);
  std::mt19937 rng(4);
  std::normal_distribution<float> dist(0.f, 3.f);
  std::uniform_int_distribution<uint32_t> bits;
  for (int K : {1, 7, 32, 33, 64, 95, 384}) {
    const int M = 5, lda = K + 3, ldo = static_cast<int>(Bf16EvenK(K)) + 4;
    std::vector<float> A(M * lda);
    for (size_t i = 0; i < A.size(); ++i) A[i] = i % 5 == 0 ? FromBits(bits(rng)) : dist(rng);  // any bits
    A[0] = 1e-40f;
    std::vector<uint16_t> ref(M * ldo, 0x1234);
    ConvertRowsBf16(Bf16Isa::kGeneric, A.data(), lda, M, K, ref.data(), ldo);
    for (int m = 0; m < M; ++m) {
      for (int k = 0; k < K; ++k) ASSERT_EQ(ref[m * ldo + k], FloatToBf16(A[m * lda + k]));
      if (K % 2) {
        EXPECT_EQ(ref[m * ldo + K], 0) << "odd K's pad element";
      }
      EXPECT_EQ(ref[m * ldo + Bf16EvenK(K)], 0x1234) << "wrote past the even K";
    }
    for (int t = 0; t < n_isa; ++t) {
      std::vector<uint16_t> out(M * ldo, 0x1234);
      ConvertRowsBf16(isas[t], A.data(), lda, M, K, out.data(), ldo);
      EXPECT_EQ(out, ref) << Bf16IsaName(isas[t]) << " K=" << K;
    }
  }
}

TEST(GemmBf16, PackedPanelsHoldTheRoundedValuesOnEveryIsa) {
  Bf16Isa isas[4];
  const int n_isa = SupportedBf16Isas(isas, 4);
  std::mt19937 rng(9);
  std::normal_distribution<float> dist(0.f, 1.f);
  for (int t = 0; t < n_isa; ++t) {
  const Bf16Isa isa = isas[t];
  for (auto [N, K] : std::vector<std::array<int, 2>>{{45, 37}, {64, 64}, {1, 1}, {70, 101}}) {
  std::vector<float> W(N * K);
  for (auto& v : W) v = dist(rng);
  std::vector<uint16_t> packed(PackedSizeBf16(K, N), 0x1234), halves_packed(PackedSizeBf16(K, N));
  PackTransposedBf16(isa, W.data(), K, N, K, packed.data());
  std::vector<float> row(K);
  for (int n = 0; n < N; ++n) {
    UnpackColumnBf16(packed.data(), K, n, row.data());
    for (int k = 0; k < K; ++k) ASSERT_EQ(row[k], Bf16ToFloat(FloatToBf16(W[n * K + k]))) << n << "," << k;
  }
  // W^T row-major packs to the same panels; f16 bytes to those of the widened halves.
  std::vector<float> Wt(K * N), widened(N * K);
  std::vector<uint8_t> halves(N * K * 2);
  for (int n = 0; n < N; ++n) {
    for (int k = 0; k < K; ++k) {
      Wt[k * N + n] = W[n * K + k];
      const uint16_t h = FloatToHalf(W[n * K + k]);
      std::memcpy(halves.data() + 2 * (n * K + k), &h, 2);
      widened[n * K + k] = HalfToFloat(h);
    }
  }
  std::vector<uint16_t> from_rows(packed.size()), from_widened(packed.size());
  PackRowMajorBf16(isa, Wt.data(), N, K, N, from_rows.data());
  EXPECT_EQ(from_rows, packed) << Bf16IsaName(isa) << " N=" << N << " K=" << K;
  PackTransposedHalfBf16(isa, halves.data(), K, N, K, halves_packed.data());
  PackTransposedBf16(isa, widened.data(), K, N, K, from_widened.data());
  EXPECT_EQ(halves_packed, from_widened) << Bf16IsaName(isa) << " N=" << N << " K=" << K;
  }
  }
}

TEST(GemmBf16, MatchesDefinitionAndStatedDriftOnEveryIsa) {
  Bf16Isa isas[4];
  const int n_isa = SupportedBf16Isas(isas, 4);
  std::mt19937 rng(17);
  std::normal_distribution<float> dist(0.f, 1.f);
  // {M, K, N, packed_k}: odd K, K < packed_k (causal attention), N not a multiple of 32, one row.
  for (auto [M, K, N, PK] : std::vector<std::array<int, 4>>{{1, 2, 1, 2},
                                                            {1, 384, 70, 384},
                                                            {13, 64, 33, 64},
                                                            {25, 37, 64, 37},
                                                            {30, 41, 64, 100},
                                                            {131, 384, 96, 384},
                                                            {40, 1536, 45, 1536}}) {
    const int lda = static_cast<int>(Bf16EvenK(K)) + 2, ldc = N + 3;
    std::vector<float> W(N * PK), A(M * K), bias(N);
    for (auto& v : W) v = dist(rng);
    for (auto& v : A) v = dist(rng);
    for (auto& v : bias) v = dist(rng);
    std::vector<uint16_t> packed(PackedSizeBf16(PK, N)), a16(M * lda);
    PackTransposedBf16(Bf16Isa::kGeneric, W.data(), PK, N, PK, packed.data());
    ConvertRowsBf16(Bf16Isa::kGeneric, A.data(), K, M, K, a16.data(), lda);
    for (bool with_bias : {false, true}) {
      const float* b = with_bias ? bias.data() : nullptr;
      std::vector<float> generic(M * ldc, -5.f);
      GemmBf16(Bf16Isa::kGeneric, a16.data(), lda, packed.data(), PK, K, N, b, generic.data(), ldc, 0, M, 0, N, false);
      double e_def = 0, e_drift = 0, r2 = 0;
      std::vector<double> abs_sum(M * ldc);  // sum_k |a w|, for the Arm kernels' bound
      for (int m = 0; m < M; ++m) {
        for (int n = 0; n < N; ++n) {
          double def = b ? b[n] : 0.0, exact = def;
          for (int k = 0; k < K; ++k) {
            const double prod = double(Bf16ToFloat(a16[m * lda + k])) * Bf16ToFloat(FloatToBf16(W[n * PK + k]));
            def += prod;
            abs_sum[m * ldc + n] += std::fabs(prod);
            exact += double(A[m * K + k]) * W[n * PK + k];
          }
          const double c = generic[m * ldc + n];
          e_def += (c - def) * (c - def);
          e_drift += (c - exact) * (c - exact);
          r2 += exact * exact;
        }
        EXPECT_EQ(generic[m * ldc + N], -5.f) << "wrote past N";
      }
      // f32 accumulation of exact products: the f32 rounding of the sums only.
      EXPECT_LT(e_def / r2, 1e-12) << "M=" << M << " K=" << K << " N=" << N;
      // Stated drift against the f32 product: NMSE < 3e-5 (two roundings to 8 significant bits,
      // ~2^-9 relative each; measured ~5e-6 on Gaussian data).
      EXPECT_LT(e_drift / r2, 3e-5) << "M=" << M << " K=" << K << " N=" << N;
      for (int t = 0; t < n_isa; ++t) {
        // Split over columns (n0 a multiple of 32) and rows, as threads split the work.
        std::vector<float> C(M * ldc, -5.f);
        const int split = std::min(N, (N / 2) / kBf16PanelWidth * kBf16PanelWidth), mid = M / 2;
        for (auto [m0, m1] : {std::array<int, 2>{0, mid}, std::array<int, 2>{mid, M}}) {
          GemmBf16(isas[t], a16.data(), lda, packed.data(), PK, K, N, b, C.data(), ldc, m0, m1, 0, split, false);
          GemmBf16(isas[t], a16.data(), lda, packed.data(), PK, K, N, b, C.data(), ldc, m0, m1, split, N, false);
        }
        // accumulate: C += A·B (+ bias), bit-equal too.
        std::vector<float> acc_ref = generic, acc = generic;
        GemmBf16(Bf16Isa::kGeneric, a16.data(), lda, packed.data(), PK, K, N, b, acc_ref.data(), ldc, 0, M, 0, N, true);
        GemmBf16(isas[t], a16.data(), lda, packed.data(), PK, K, N, b, acc.data(), ldc, 0, M, 0, N, true);
        if (Bf16IsaMatchesOracle(isas[t])) {
          EXPECT_EQ(C, generic) << Bf16IsaName(isas[t]) << " M=" << M << " K=" << K << " N=" << N;
          EXPECT_EQ(acc, acc_ref) << Bf16IsaName(isas[t]) << " accumulate, M=" << M << " K=" << K << " N=" << N;
        } else {
          ExpectWithinBfdotBound(C, generic, abs_sum, K, M, N, ldc, Bf16IsaName(isas[t]));
          // The sums double for accumulate (generic + generic): twice the bound covers them.
          std::vector<double> twice(abs_sum.size());
          for (size_t i = 0; i < twice.size(); ++i) twice[i] = 2 * abs_sum[i] + std::fabs(generic[i]);
          ExpectWithinBfdotBound(acc, acc_ref, twice, K, M, N, ldc, Bf16IsaName(isas[t]));
        }
      }
    }
  }
}

// c = a · w (K = 4, one column, no bias) on isa.
float FourTermProduct(Bf16Isa isa, const float a[4], const float w[4]) {
  std::vector<uint16_t> packed(PackedSizeBf16(4, 1)), a16(4);
  PackTransposedBf16(Bf16Isa::kGeneric, w, 4, 1, 4, packed.data());
  ConvertRowsBf16(Bf16Isa::kGeneric, a, 4, 1, 4, a16.data(), 4);
  float c = 0.0f;
  GemmBf16(isa, a16.data(), 4, packed.data(), 4, 4, 1, nullptr, &c, 1, 0, 1, 0, 1, false);
  return c;
}

// The pair order is observable. K = 4: pair 0 sets acc = 1 (a = {1, 0}, w = {1, 1}); pair 1 has
// the odd product 2^-24 and the even one 1.5 * 2^-24. Odd first: 1 + 2^-24 ties to 1, then
// 1 + 1.5 * 2^-24 rounds to 1 + 2^-23. Even first would give 1 + 2^-23, then a tie to even at
// 1 + 2^-22. The oracle, and the hardware if this passes on it, add the odd element first.
TEST(GemmBf16, AddsThePairsOddProductFirst) {
  Bf16Isa isas[4];
  const int n_isa = SupportedBf16Isas(isas, 4);
  const float a[4] = {1.0f, 0.0f, std::ldexp(1.0f, -24), std::ldexp(1.0f, -24)};
  const float w[4] = {1.0f, 1.0f, 1.5f, 1.0f};
  for (int t = 0; t < n_isa; ++t) {
    const float c = FourTermProduct(isas[t], a, w);
    // BFDotAdd sums the pair first (2.5 * 2^-24, exact), then 1 + 2.5 * 2^-24 rounds to odd:
    // 1 + 2^-23 too, so this case agrees on every ISA.
    EXPECT_EQ(c, 1.0f + std::ldexp(1.0f, -23)) << Bf16IsaName(isas[t]);
  }
}

// Where the Arm kernels part from the oracle, pinned: pair 0 sets acc = 1, pair 1 adds 2^-24,
// half an ulp of 1. Rounding to nearest even ties to 1 (the oracle); BFDotAdd's round to odd
// gives 1 + 2^-23. Run under qemu this checks the emulated bfdot (one row: both Arm ISAs run it;
// ArmBfdotAndBfmmlaAreBitEqual ties bfmmla to it), and so gemm_bf16_neon.cc's comment, against
// the Arm ARM's rounding.
TEST(GemmBf16, ArmKernelsRoundTheBfdotStepToOdd) {
  Bf16Isa isas[4];
  const int n_isa = SupportedBf16Isas(isas, 4);
  const float a[4] = {1.0f, 0.0f, std::ldexp(1.0f, -24), 0.0f};
  const float w[4] = {1.0f, 1.0f, 1.0f, 1.0f};
  for (int t = 0; t < n_isa; ++t) {
    const float c = FourTermProduct(isas[t], a, w);
    EXPECT_EQ(c, Bf16IsaMatchesOracle(isas[t]) ? 1.0f : 1.0f + std::ldexp(1.0f, -23)) << Bf16IsaName(isas[t]);
  }
}

TEST(GemmBf16, IsaListStartsWithTheOracle) {
  Bf16Isa isas[4];
  const int n = SupportedBf16Isas(isas, 4);
  ASSERT_GE(n, 1);
  EXPECT_EQ(isas[0], Bf16Isa::kGeneric);
  std::printf("bf16 kernels tested on:");
  for (int i = 0; i < n; ++i) std::printf(" %s", Bf16IsaName(isas[i]));
  std::printf("\n");
}

// bfdot and bfmmla bit-equal on shapes around their tiles (5 rows x 16 columns; 3 pairs of rows x
// 8 columns, odd rows pairing with themselves), odd K and K < packed_k (the pair tails), jobs
// starting at a later panel, with bias and accumulate: one BFDotAdd sequence per element.
TEST(GemmBf16, ArmBfdotAndBfmmlaAreBitEqual) {
  Bf16Isa isas[4];
  const int n_isa = SupportedBf16Isas(isas, 4);
  std::vector<Bf16Isa> arm;
  for (int t = 0; t < n_isa; ++t) {
    if (!Bf16IsaMatchesOracle(isas[t])) arm.push_back(isas[t]);
  }
  if (arm.empty()) GTEST_SKIP() << "no Arm bf16 kernel on this CPU";
  ASSERT_EQ(arm.size(), 2u);
  std::mt19937 rng(31);
  std::normal_distribution<float> dist(0.f, 1.f);
  // {M, K, N, packed_k, n0}
  for (auto [M, K, N, PK, n0] : std::vector<std::array<int, 5>>{{1, 2, 1, 2, 0},    {2, 3, 7, 3, 0},
                                                                {3, 8, 9, 8, 0},    {5, 9, 15, 12, 0},
                                                                {6, 17, 16, 17, 0}, {7, 64, 17, 64, 0},
                                                                {11, 37, 33, 40, 0}, {13, 100, 70, 101, 32},
                                                                {150, 30, 24, 30, 0}}) {
    const int lda = static_cast<int>(Bf16EvenK(K)), ldc = N + 1;
    std::vector<float> W(N * PK), A(M * K), bias(N), C0(M * ldc);
    for (auto& v : W) v = dist(rng);
    for (auto& v : A) v = dist(rng);
    for (auto& v : bias) v = dist(rng);
    for (auto& v : C0) v = dist(rng);
    std::vector<uint16_t> packed(PackedSizeBf16(PK, N)), a16(M * lda);
    PackTransposedBf16(Bf16Isa::kGeneric, W.data(), PK, N, PK, packed.data());
    ConvertRowsBf16(Bf16Isa::kGeneric, A.data(), K, M, K, a16.data(), lda);
    for (bool accumulate : {false, true}) {
      std::vector<float> out[2] = {C0, C0};
      for (int i = 0; i < 2; ++i) {
        GemmBf16(arm[i], a16.data(), lda, packed.data(), PK, K, N, accumulate ? nullptr : bias.data(),
                 out[i].data(), ldc, 0, M, n0, N, accumulate);
      }
      EXPECT_EQ(out[0], out[1]) << "M=" << M << " K=" << K << " N=" << N << " accumulate=" << accumulate;
    }
  }
}

}  // namespace
}  // namespace wisp::kernels
