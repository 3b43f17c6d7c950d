// The packed GEMM on every compiled ISA this CPU runs, against a double-precision loop:
// both packings, ragged M/N/K, bias, accumulation and jobs split at panel boundaries.
#include "kernels/gemm_packed.h"

#include <gtest/gtest.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <array>
#include <cstring>
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

TEST(GemmPacked, F16PanelsMatchDoubleReferenceOnEveryIsa) {
  Isa isas[3];
  const int n_isa = SupportedIsas(isas, 3);
  std::mt19937 rng(12);
  std::normal_distribution<float> dist(0.f, 1.f);
  for (int t = 0; t < n_isa; ++t) {
    for (auto [M, K, N] : std::vector<std::array<int, 3>>{{1, 384, 70}, {13, 64, 33}, {30, 100, 130}}) {
      std::vector<float> A(M * K), W(N * K), C(M * N);
      for (auto& v : A) v = dist(rng);
      for (auto& v : W) v = HalfToFloat(FloatToHalf(dist(rng)));  // weights that are f16 in the file
      std::vector<uint16_t> packed(PackedSize(isas[t], K, N));
      PackTransposedF16(isas[t], W.data(), K, N, K, packed.data());
      GemmPackedF16(isas[t], A.data(), K, packed.data(), K, K, N, nullptr, C.data(), N, 0, M, 0, N, false);
      double e2 = 0, r2 = 0;
      for (int m = 0; m < M; ++m) {
        for (int n = 0; n < N; ++n) {
          double r = 0;
          for (int k = 0; k < K; ++k) r += double(A[m * K + k]) * W[n * K + k];
          e2 += (C[m * N + n] - r) * (C[m * N + n] - r);
          r2 += r * r;
        }
      }
      // f16 values widen exactly: the error is f32 accumulation only, as for f32 panels.
      EXPECT_LT(e2 / r2, 1e-9) << IsaName(isas[t]) << " M=" << M << " K=" << K << " N=" << N;
    }
  }
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) uint16_t HardwareHalf(float f) {
  return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}
#endif

TEST(Half, ConversionsMatchHardwareAndRoundTrip) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = HalfToFloat(static_cast<uint16_t>(h));
    if (f != f) continue;  // NaN payloads need not round-trip
    EXPECT_EQ(FloatToHalf(f), h) << std::hex << h;
  }
#if defined(__x86_64__)
  if (kernels::DetectIsa() != Isa::kGeneric) {  // AVX2 dispatch implies F16C; AVX-512F has it
    std::mt19937 rng(1);
    std::uniform_int_distribution<uint32_t> bits;
    for (int i = 0; i < 200000; ++i) {
      uint32_t b = bits(rng);
      float f;
      std::memcpy(&f, &b, 4);
      if (f != f) continue;
      ASSERT_EQ(FloatToHalf(f), HardwareHalf(f)) << f;
    }
    for (float f : {65504.f, 65519.f, 65520.f, 6.1035156e-05f, 5.9604645e-08f, 2.9802322e-08f, 2.98023259e-08f}) {
      EXPECT_EQ(FloatToHalf(f), HardwareHalf(f)) << f;
    }
  }
#endif
}

}  // namespace
}  // namespace wisp::kernels
