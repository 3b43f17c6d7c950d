// q8_0 panels on every compiled ISA this CPU runs: products equal a double-precision GEMM on
// ggml's dequantized weights (d * q in f32), for ragged M and N and jobs split at panels.
#include "kernels/gemm_q8.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/gemm_packed.h"

namespace wisp::kernels {
namespace {

TEST(GemmQ8, MatchesDequantizedReferenceOnEveryIsa) {
  Isa isas[3];
  const int n_isa = SupportedIsas(isas, 3);
  std::mt19937 rng(21);
  std::uniform_int_distribution<int> qdist(-127, 127);
  std::uniform_real_distribution<float> sdist(1e-4f, 3e-2f);
  std::normal_distribution<float> adist(0.f, 1.f);
  for (int t = 0; t < n_isa; ++t) {
    const int nr = PanelWidth(isas[t]);
    for (auto [M, K, N] : std::vector<std::array<int, 3>>{{1, 32, 1}, {1, 384, 70}, {11, 64, 33}, {23, 1536, 40}}) {
      const int nb = K / 32;
      std::vector<uint8_t> blocks(static_cast<size_t>(N) * nb * kQ8BlockBytes);
      std::vector<float> W(static_cast<size_t>(N) * K);  // ggml's dequantization: q * d in f32
      for (int n = 0; n < N; ++n) {
        for (int b = 0; b < nb; ++b) {
          uint8_t* blk = blocks.data() + (static_cast<size_t>(n) * nb + b) * kQ8BlockBytes;
          const uint16_t d = FloatToHalf(sdist(rng));
          std::memcpy(blk, &d, 2);
          for (int k = 0; k < 32; ++k) {
            const int8_t q = static_cast<int8_t>(qdist(rng));
            blk[2 + k] = static_cast<uint8_t>(q);
            W[static_cast<size_t>(n) * K + b * 32 + k] = q * HalfToFloat(d);
          }
        }
      }
      std::vector<uint8_t> packed(PackedSizeQ8(isas[t], K, N));
      PackQ8_0(isas[t], blocks.data(), N, K, packed.data());
      std::vector<float> A(M * K), bias(N), C(M * (N + 2), -5.f);
      for (auto& v : A) v = adist(rng);
      for (auto& v : bias) v = adist(rng);
      const int split = std::min(N, ((N / 2) / nr) * nr);
      GemmPackedQ8(isas[t], A.data(), K, packed.data(), K, N, bias.data(), C.data(), N + 2, 0, M, 0, split);
      GemmPackedQ8(isas[t], A.data(), K, packed.data(), K, N, bias.data(), C.data(), N + 2, 0, M, split, N);
      double e2 = 0, r2 = 0;
      for (int m = 0; m < M; ++m) {
        for (int n = 0; n < N; ++n) {
          double r = bias[n];
          for (int k = 0; k < K; ++k) r += double(A[m * K + k]) * W[static_cast<size_t>(n) * K + k];
          const double c = C[m * (N + 2) + n];
          e2 += (c - r) * (c - r);
          r2 += r * r;
        }
        EXPECT_EQ(C[m * (N + 2) + N], -5.f) << "wrote past N";
      }
      EXPECT_LT(e2 / r2, 1e-9) << IsaName(isas[t]) << " M=" << M << " K=" << K << " N=" << N;
    }
  }
}

}  // namespace
}  // namespace wisp::kernels
