// The q8_0 integer GEMM on every integer ISA this CPU runs: bit-equal to the generic kernel,
// equal to its definition (products of the quantized values, in double), and within the stated
// drift of the f32 product on ggml's dequantized weights.
#include "kernels/gemm_q8_int.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/gemm_packed.h"

namespace wisp::kernels {
namespace {

struct Q8Weights {
  std::vector<uint8_t> blocks;  // ggml layout
  std::vector<float> dequantized;
};

Q8Weights RandomQ8Weights(int N, int K, std::mt19937* rng) {
  std::uniform_int_distribution<int> qdist(-127, 127);
  std::uniform_real_distribution<float> sdist(1e-4f, 3e-2f);
  const int nb = K / 32;
  Q8Weights w;
  w.blocks.resize(static_cast<size_t>(N) * nb * 34);
  w.dequantized.resize(static_cast<size_t>(N) * K);
  for (int n = 0; n < N; ++n) {
    for (int b = 0; b < nb; ++b) {
      uint8_t* blk = w.blocks.data() + (static_cast<size_t>(n) * nb + b) * 34;
      const uint16_t d = FloatToHalf(sdist(*rng));
      std::memcpy(blk, &d, 2);
      for (int k = 0; k < 32; ++k) {
        const int8_t q = static_cast<int8_t>(qdist(*rng));
        blk[2 + k] = static_cast<uint8_t>(q);
        w.dequantized[static_cast<size_t>(n) * K + b * 32 + k] = q * HalfToFloat(d);
      }
    }
  }
  return w;
}

struct QuantizedRows {
  std::vector<int8_t> q;
  std::vector<float> s;
  std::vector<int32_t> c;
};
QuantizedRows Quantize(Q8IntIsa isa, const std::vector<float>& A, int lda, int M, int K) {
  QuantizedRows r{std::vector<int8_t>(M * K), std::vector<float>(M * (K / 32)), std::vector<int32_t>(M * (K / 32))};
  QuantizeRowsQ8(isa, A.data(), lda, M, K, r.q.data(), r.s.data(), r.c.data());
  return r;
}

TEST(GemmQ8Int, PackUnpackRoundTripsGgmlDequantization) {
  std::mt19937 rng(3);
  const int N = 45, K = 96;
  const Q8Weights w = RandomQ8Weights(N, K, &rng);
  std::vector<uint8_t> packed(PackedSizeQ8Int(K, N));
  PackQ8_0Int(w.blocks.data(), N, K, packed.data());
  std::vector<float> row(K);
  for (int n = 0; n < N; ++n) {
    UnpackColumnQ8Int(packed.data(), K, n, row.data());
    for (int k = 0; k < K; ++k) ASSERT_EQ(row[k], w.dequantized[static_cast<size_t>(n) * K + k]) << n << "," << k;
  }
}

TEST(GemmQ8Int, QuantizationIsSymmetricPerBlockOnEveryIsa) {
  Q8IntIsa isas[4];
  const int n_isa = SupportedQ8IntIsas(isas, 4);
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.f, 2.f);
  const int M = 5, K = 128, lda = 131, nb = K / 32;
  std::vector<float> A(M * lda);
  for (auto& v : A) v = dist(rng);
  for (int k = 0; k < 32; ++k) A[lda + 32 + k] = 0.0f;  // an all-zero block: scale 0, values 0
  std::vector<int8_t> q0(M * K);
  std::vector<float> s0(M * nb);
  std::vector<int32_t> c0(M * nb);
  QuantizeRowsQ8(Q8IntIsa::kGeneric, A.data(), lda, M, K, q0.data(), s0.data(), c0.data());
  for (int m = 0; m < M; ++m) {
    for (int b = 0; b < nb; ++b) {
      int32_t sum = 0;
      for (int k = 0; k < 32; ++k) {
        const int q = q0[m * K + b * 32 + k];
        ASSERT_LE(std::abs(q), 127);
        sum += q;
        // Each value within half a step of its input.
        EXPECT_LE(std::fabs(q * s0[m * nb + b] - A[m * lda + b * 32 + k]), 0.5001f * s0[m * nb + b]);
      }
      EXPECT_EQ(c0[m * nb + b], -128 * sum);
    }
  }
  EXPECT_EQ(s0[1 * nb + 1], 0.0f);
  for (int t = 0; t < n_isa; ++t) {
    const QuantizedRows r = Quantize(isas[t], A, lda, M, K);
    EXPECT_EQ(r.q, q0) << Q8IntIsaName(isas[t]);
    EXPECT_EQ(r.s, s0) << Q8IntIsaName(isas[t]);
    EXPECT_EQ(r.c, c0) << Q8IntIsaName(isas[t]);
  }
}

TEST(GemmQ8Int, MatchesDefinitionAndStatedDriftOnEveryIsa) {
  Q8IntIsa isas[4];
  const int n_isa = SupportedQ8IntIsas(isas, 4);
  std::mt19937 rng(21);
  std::normal_distribution<float> adist(0.f, 1.f);
  for (auto [M, K, N] : std::vector<std::array<int, 3>>{{1, 32, 1}, {1, 384, 70}, {11, 64, 33}, {23, 1536, 40},
                                                         {97, 384, 96}}) {
    const int nb = K / 32;
    const Q8Weights w = RandomQ8Weights(N, K, &rng);
    std::vector<uint8_t> packed(PackedSizeQ8Int(K, N));
    PackQ8_0Int(w.blocks.data(), N, K, packed.data());
    std::vector<float> A(M * K), bias(N);
    for (auto& v : A) v = adist(rng);
    for (auto& v : bias) v = adist(rng);
    std::vector<int8_t> qa(M * K);
    std::vector<float> sa(M * nb);
    std::vector<int32_t> ca(M * nb);
    QuantizeRowsQ8(Q8IntIsa::kGeneric, A.data(), K, M, K, qa.data(), sa.data(), ca.data());
    std::vector<float> generic(M * (N + 2), -5.f);
    GemmQ8Int(Q8IntIsa::kGeneric, qa.data(), sa.data(), ca.data(), K, packed.data(), N, bias.data(), generic.data(),
              N + 2, 0, M, 0, N);
    // The definition (quantized activations times dequantized weights, in double) and the
    // exact f32 product: the second difference is the drift integer products cost.
    double e_def = 0, e_drift = 0, r2 = 0;
    for (int m = 0; m < M; ++m) {
      for (int n = 0; n < N; ++n) {
        double def = bias[n], exact = bias[n];
        for (int k = 0; k < K; ++k) {
          const double wv = w.dequantized[static_cast<size_t>(n) * K + k];
          def += double(qa[m * K + k]) * sa[m * nb + k / 32] * wv;
          exact += double(A[m * K + k]) * wv;
        }
        const double c = generic[m * (N + 2) + n];
        e_def += (c - def) * (c - def);
        e_drift += (c - exact) * (c - exact);
        r2 += exact * exact;
      }
      EXPECT_EQ(generic[m * (N + 2) + N], -5.f) << "wrote past N";
    }
    EXPECT_LT(e_def / r2, 1e-11) << "M=" << M << " K=" << K << " N=" << N;
    // Stated drift: NMSE < 1e-4 against the f32 product (measured ~2e-5 for Gaussian rows).
    EXPECT_LT(e_drift / r2, 1e-4) << "M=" << M << " K=" << K << " N=" << N;
    for (int t = 0; t < n_isa; ++t) {
      std::vector<float> C(M * (N + 2), -5.f);
      const int split = std::min(N, ((N / 2) / kQ8IntPanelWidth) * kQ8IntPanelWidth);
      GemmQ8Int(isas[t], qa.data(), sa.data(), ca.data(), K, packed.data(), N, bias.data(), C.data(), N + 2, 0, M, 0,
                split);
      GemmQ8Int(isas[t], qa.data(), sa.data(), ca.data(), K, packed.data(), N, bias.data(), C.data(), N + 2, 0, M,
                split, N);
      EXPECT_EQ(C, generic) << Q8IntIsaName(isas[t]) << " M=" << M << " K=" << K << " N=" << N;
    }
  }
}

// Panels with mins (ggml q4_1 / q5_1: w = q * d + m, q in 0..31): unpacked as ggml dequantizes,
// bit-equal across ISAs, equal to the definition on the quantized activations.
TEST(GemmQ8Int, WithMinsMatchesDefinitionOnEveryIsa) {
  Q8IntIsa isas[4];
  const int n_isa = SupportedQ8IntIsas(isas, 4);
  std::mt19937 rng(8);
  std::uniform_int_distribution<int> qdist(0, 31);
  std::uniform_real_distribution<float> ddist(1e-3f, 2e-2f), mdist(-0.3f, 0.0f);
  std::normal_distribution<float> adist(0.f, 1.f);
  for (auto [M, K, N] : std::vector<std::array<int, 3>>{{1, 64, 5}, {13, 384, 70}, {40, 96, 33}}) {
    const int nb = K / 32;
    std::vector<uint8_t> blocks(static_cast<size_t>(N) * nb * kQ8MinBlockBytes);
    std::vector<float> W(static_cast<size_t>(N) * K);
    for (int n = 0; n < N; ++n) {
      for (int b = 0; b < nb; ++b) {
        uint8_t* blk = blocks.data() + (static_cast<size_t>(n) * nb + b) * kQ8MinBlockBytes;
        const float d = ddist(rng), m = mdist(rng);
        std::memcpy(blk, &d, 4);
        std::memcpy(blk + 4, &m, 4);
        for (int k = 0; k < 32; ++k) {
          const int8_t q = static_cast<int8_t>(qdist(rng));
          blk[8 + k] = static_cast<uint8_t>(q);
          W[static_cast<size_t>(n) * K + b * 32 + k] = std::fma(static_cast<float>(q), d, m);
        }
      }
    }
    std::vector<uint8_t> packed(PackedSizeQ8Int(K, N, /*with_mins=*/true));
    PackQ8MinInt(blocks.data(), N, K, packed.data());
    std::vector<float> row(K);
    UnpackColumnQ8Int(packed.data(), K, N - 1, row.data(), /*with_mins=*/true);
    for (int k = 0; k < K; ++k) ASSERT_EQ(row[k], W[static_cast<size_t>(N - 1) * K + k]) << k;

    std::vector<float> A(M * K), bias(N);
    for (auto& v : A) v = adist(rng);
    for (auto& v : bias) v = adist(rng);
    std::vector<int8_t> qa(M * K);
    std::vector<float> sa(M * nb);
    std::vector<int32_t> ca(M * nb);
    QuantizeRowsQ8(Q8IntIsa::kGeneric, A.data(), K, M, K, qa.data(), sa.data(), ca.data());
    std::vector<float> generic(M * N);
    GemmQ8Int(Q8IntIsa::kGeneric, qa.data(), sa.data(), ca.data(), K, packed.data(), N, bias.data(), generic.data(),
              N, 0, M, 0, N, /*with_mins=*/true);
    double e2 = 0, r2 = 0;
    for (int m = 0; m < M; ++m) {
      for (int n = 0; n < N; ++n) {
        double def = bias[n];
        for (int k = 0; k < K; ++k) def += double(qa[m * K + k]) * sa[m * nb + k / 32] * W[size_t(n) * K + k];
        e2 += (generic[m * N + n] - def) * (generic[m * N + n] - def);
        r2 += def * def;
      }
    }
    EXPECT_LT(e2 / r2, 1e-11) << "M=" << M << " K=" << K << " N=" << N;
    for (int t = 0; t < n_isa; ++t) {
      std::vector<float> C(M * N);
      GemmQ8Int(isas[t], qa.data(), sa.data(), ca.data(), K, packed.data(), N, bias.data(), C.data(), N, 0, M, 0, N,
                /*with_mins=*/true);
      EXPECT_EQ(C, generic) << Q8IntIsaName(isas[t]) << " M=" << M << " K=" << K << " N=" << N;
    }
  }
}

// Every integer ISA bit-equal to the generic kernel across the shapes the Arm tiles find awkward:
// rows around the tile heights (sdot 3, usmmla 2 x 2, odd counts pairing a row with itself) and
// past a row block (96 / 128 rows, a thin rest joined), columns around the 8- and 16-column
// sub-panels and the 32-column panel, jobs that start at a later panel or row, and q8_0 and
// with-mins panels alike.
TEST(GemmQ8Int, EveryIsaIsBitEqualToGenericOnAwkwardShapes) {
  Q8IntIsa isas[4];
  const int n_isa = SupportedQ8IntIsas(isas, 4);
  std::mt19937 rng(77);
  std::normal_distribution<float> adist(0.f, 1.f);
  std::uniform_int_distribution<int> qdist(-128, 127);
  std::uniform_real_distribution<float> sdist(-2e-2f, 2e-2f);
  struct Shape {
    int M, K, N, m0, n0;
  };
  int checked = 0;
  for (const Shape& sh : std::vector<Shape>{{1, 32, 1, 0, 0},   {2, 32, 7, 0, 0},    {3, 64, 8, 1, 0},
                                            {4, 32, 9, 0, 0},   {5, 96, 15, 2, 0},   {6, 64, 16, 0, 0},
                                            {7, 32, 17, 3, 0},  {13, 96, 31, 0, 0},  {8, 64, 47, 0, 32},
                                            {11, 160, 70, 5, 32}, {200, 64, 40, 0, 0}, {150, 96, 24, 1, 0}}) {
    for (bool mins : {false, true}) {
      const int M = sh.M, K = sh.K, N = sh.N, nb = K / 32;
      // Random panels straight from random bytes: every integer value and both scale signs.
      std::vector<uint8_t> blocks(static_cast<size_t>(N) * nb * kQ8MinBlockBytes);
      for (size_t i = 0; i < blocks.size(); i += kQ8MinBlockBytes) {
        const float d = sdist(rng), m = sdist(rng);
        std::memcpy(&blocks[i], &d, 4);
        std::memcpy(&blocks[i + 4], &m, 4);
        for (int k = 0; k < 32; ++k) blocks[i + 8 + k] = static_cast<uint8_t>(qdist(rng));
      }
      std::vector<uint8_t> packed(PackedSizeQ8Int(K, N, mins));
      if (mins) {
        PackQ8MinInt(blocks.data(), N, K, packed.data());
      } else {
        std::vector<uint8_t> q8(static_cast<size_t>(N) * nb * 34);  // the same integers as q8_0 blocks
        for (int i = 0; i < N * nb; ++i) {
          float d;
          std::memcpy(&d, &blocks[size_t(i) * kQ8MinBlockBytes], 4);
          const uint16_t h = FloatToHalf(d);
          std::memcpy(&q8[size_t(i) * 34], &h, 2);
          std::memcpy(&q8[size_t(i) * 34 + 2], &blocks[size_t(i) * kQ8MinBlockBytes + 8], 32);
        }
        PackQ8_0Int(q8.data(), N, K, packed.data());
      }
      std::vector<float> A(M * K), bias(N);
      for (auto& v : A) v = adist(rng);
      for (auto& v : bias) v = adist(rng);
      const QuantizedRows g = Quantize(Q8IntIsa::kGeneric, A, K, M, K);
      const int ldc = N + 1;
      std::vector<float> generic(M * ldc, -7.f);
      GemmQ8Int(Q8IntIsa::kGeneric, g.q.data(), g.s.data(), g.c.data(), K, packed.data(), N, bias.data(),
                generic.data(), ldc, sh.m0, M, sh.n0, N, mins);
      for (int t = 0; t < n_isa; ++t) {
        const QuantizedRows r = Quantize(isas[t], A, K, M, K);  // bit-equal (QuantizationIsSymmetric...)
        std::vector<float> C(M * ldc, -7.f);
        GemmQ8Int(isas[t], r.q.data(), r.s.data(), r.c.data(), K, packed.data(), N, bias.data(), C.data(), ldc,
                  sh.m0, M, sh.n0, N, mins);
        EXPECT_EQ(C, generic) << Q8IntIsaName(isas[t]) << " M=" << M << " K=" << K << " N=" << N
                              << " m0=" << sh.m0 << " n0=" << sh.n0 << " mins=" << mins;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 24 * n_isa);
}

TEST(GemmQ8Int, IsaListStartsWithTheOracleAndEndsWithTheDispatched) {
  Q8IntIsa isas[4];
  const int n = SupportedQ8IntIsas(isas, 4);
  ASSERT_GE(n, 1);
  EXPECT_EQ(isas[0], Q8IntIsa::kGeneric);
  EXPECT_EQ(isas[n - 1], DetectQ8IntIsa());
}

// Panels of run-time operands (attention's K rows and V^T): quantized as QuantizeRowsQ8 does the
// activations, byte-identical on every ISA, and products from them bit-equal to the generic
// kernel -- with attention's shapes: K = head_dim 64 against 61 keys (a partial panel), and the
// keys as inner axis, zero-padded to 64, against head_dim columns.
TEST(GemmQ8Int, RowPanelsMatchTheActivationQuantizerOnEveryIsa) {
  Q8IntIsa isas[4];
  const int n_isa = SupportedQ8IntIsas(isas, 4);
  std::mt19937 rng(33);
  std::normal_distribution<float> dist(0.f, 1.f);
  for (auto [M, K, N, ldw] : std::vector<std::array<int, 4>>{{13, 64, 61, 70}, {13, 64, 64, 64}, {7, 96, 5, 96}}) {
    std::vector<float> W(static_cast<size_t>(N) * ldw), A(static_cast<size_t>(M) * K);
    for (auto& v : W) v = dist(rng);
    for (auto& v : A) v = std::fabs(dist(rng));  // non-negative, as probabilities are
    for (int k = K - 3; k < K; ++k) W[k] = 0.0f;  // zero padding within the last block of row 0
    const int nb = K / 32;
    std::vector<int8_t> q0(static_cast<size_t>(N) * K), qs(q0.size());
    std::vector<float> s0(static_cast<size_t>(N) * nb), ss(s0.size());
    std::vector<int32_t> c0(s0.size());
    QuantizeRowsQ8(Q8IntIsa::kGeneric, W.data(), ldw, N, K, q0.data(), s0.data(), c0.data());
    std::vector<uint8_t> oracle(PackedSizeQ8Int(K, N));
    PackRowsQ8Int(Q8IntIsa::kGeneric, W.data(), ldw, N, K, oracle.data(), qs.data(), ss.data());
    std::vector<float> row(K);
    for (int n = 0; n < N; ++n) {
      UnpackColumnQ8Int(oracle.data(), K, n, row.data());
      for (int k = 0; k < K; ++k) {
        ASSERT_EQ(row[k], q0[n * K + k] * s0[n * nb + k / 32]) << n << "," << k;
        ASSERT_LE(std::fabs(row[k] - W[n * ldw + k]), 0.5001f * s0[n * nb + k / 32]) << n << "," << k;
      }
    }
    std::vector<int8_t> qa(static_cast<size_t>(M) * K);
    std::vector<float> sa(static_cast<size_t>(M) * nb);
    std::vector<int32_t> ca(sa.size());
    QuantizeRowsQ8(Q8IntIsa::kGeneric, A.data(), K, M, K, qa.data(), sa.data(), ca.data());
    std::vector<float> c_oracle(static_cast<size_t>(M) * N);
    GemmQ8Int(Q8IntIsa::kGeneric, qa.data(), sa.data(), ca.data(), K, oracle.data(), N, nullptr, c_oracle.data(), N, 0,
              M, 0, N);
    for (int t = 0; t < n_isa; ++t) {
      std::vector<uint8_t> packed(oracle.size());
      PackRowsQ8Int(isas[t], W.data(), ldw, N, K, packed.data(), qs.data(), ss.data());
      EXPECT_EQ(packed, oracle) << Q8IntIsaName(isas[t]) << " " << N << "x" << K;
      std::vector<float> c(c_oracle.size());
      GemmQ8Int(isas[t], qa.data(), sa.data(), ca.data(), K, packed.data(), N, nullptr, c.data(), N, 0, M, 0, N);
      EXPECT_EQ(c, c_oracle) << Q8IntIsaName(isas[t]) << " " << N << "x" << K;
    }
  }
}

}  // namespace
}  // namespace wisp::kernels
