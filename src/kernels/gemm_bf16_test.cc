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
  Bf16Isa isas[2];
  const int n_isa = SupportedBf16Isas(isas, 2);
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
  Bf16Isa isas[2];
  const int n_isa = SupportedBf16Isas(isas, 2);
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
  Bf16Isa isas[2];
  const int n_isa = SupportedBf16Isas(isas, 2);
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
      for (int m = 0; m < M; ++m) {
        for (int n = 0; n < N; ++n) {
          double def = b ? b[n] : 0.0, exact = def;
          for (int k = 0; k < K; ++k) {
            def += double(Bf16ToFloat(a16[m * lda + k])) * Bf16ToFloat(FloatToBf16(W[n * PK + k]));
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
        EXPECT_EQ(C, generic) << Bf16IsaName(isas[t]) << " M=" << M << " K=" << K << " N=" << N;
        // accumulate: C += A·B (+ bias), bit-equal too.
        std::vector<float> acc_ref = generic, acc = generic;
        GemmBf16(Bf16Isa::kGeneric, a16.data(), lda, packed.data(), PK, K, N, b, acc_ref.data(), ldc, 0, M, 0, N, true);
        GemmBf16(isas[t], a16.data(), lda, packed.data(), PK, K, N, b, acc.data(), ldc, 0, M, 0, N, true);
        EXPECT_EQ(acc, acc_ref) << Bf16IsaName(isas[t]) << " accumulate, M=" << M << " K=" << K << " N=" << N;
      }
    }
  }
}

// The pair order is observable. K = 4: pair 0 sets acc = 1 (a = {1, 0}, w = {1, 1}); pair 1 has
// the odd product 2^-24 and the even one 1.5 * 2^-24. Odd first: 1 + 2^-24 ties to 1, then
// 1 + 1.5 * 2^-24 rounds to 1 + 2^-23. Even first would give 1 + 2^-23, then a tie to even at
// 1 + 2^-22. The oracle, and the hardware if this passes on it, add the odd element first.
TEST(GemmBf16, AddsThePairsOddProductFirst) {
  Bf16Isa isas[2];
  const int n_isa = SupportedBf16Isas(isas, 2);
  const float a[4] = {1.0f, 0.0f, std::ldexp(1.0f, -24), std::ldexp(1.0f, -24)};
  const float w[4] = {1.0f, 1.0f, 1.5f, 1.0f};
  std::vector<uint16_t> packed(PackedSizeBf16(4, 1)), a16(4);
  PackTransposedBf16(Bf16Isa::kGeneric, w, 4, 1, 4, packed.data());
  ConvertRowsBf16(Bf16Isa::kGeneric, a, 4, 1, 4, a16.data(), 4);
  for (int t = 0; t < n_isa; ++t) {
    float c = 0.0f;
    GemmBf16(isas[t], a16.data(), 4, packed.data(), 4, 4, 1, nullptr, &c, 1, 0, 1, 0, 1, false);
    EXPECT_EQ(c, 1.0f + std::ldexp(1.0f, -23)) << Bf16IsaName(isas[t]);
  }
}

TEST(GemmBf16, IsaListStartsWithTheOracle) {
  Bf16Isa isas[2];
  const int n = SupportedBf16Isas(isas, 2);
  ASSERT_GE(n, 1);
  EXPECT_EQ(isas[0], Bf16Isa::kGeneric);
  std::printf("bf16 kernels tested on:");
  for (int i = 0; i < n; ++i) std::printf(" %s", Bf16IsaName(isas[i]));
  std::printf("\n");
}

}  // namespace
}  // namespace wisp::kernels
