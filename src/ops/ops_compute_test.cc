// Compute types bf16 and int8 against the reference backend (f32, plain loops): Linear, conv1d and the
// vocabulary-style projection on bf16 panels, attention (per call and prepared) with bf16 QK^T and
// PV. bf16 keeps 8 significant bits, so these are bounds on drift, not equalities:
//   products (Linear, conv1d): NMSE < 3e-5 (measured ~5e-6 on Gaussian data: two roundings of
//   ~2^-9 relative each, averaged over K terms);
//   attention: NMSE < 1e-4 (scores, probabilities and V each rounded once; measured ~1e-5).
// Without AVX512_BF16 (or Arm BF16) the same calls must run the exact f32 path (no emulated bf16).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "kernels/gemm_bf16.h"
#include "kernels/gemm_packed.h"
#include "ops/ops.h"
#include "ops/ops_fast.h"

namespace wisp {
namespace {

constexpr double kMaxProductNmse = 3e-5;
constexpr double kMaxAttentionNmse = 1e-4;
constexpr double kMaxInt8AttentionNmse = 4e-4;

std::vector<float> RandomVec(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

double Nmse(const std::vector<float>& got, const std::vector<float>& want) {
  double e = 0, r = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    e += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    r += double(want[i]) * want[i];
  }
  return e / (r + 1e-30);
}

class Bf16OpsTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    pool_ = std::make_unique<ThreadPool>(GetParam());
    fast_.pool = pool_.get();
    bf16_ = fast_;
    bf16_.compute = ComputeType::kBf16;
    int8_ = fast_;
    int8_.compute = ComputeType::kInt8;
    ref_.backend = Backend::kReference;
  }
  std::unique_ptr<ThreadPool> pool_;
  OpContext fast_, bf16_, int8_, ref_;
  std::mt19937 rng_{7};
};

TEST_P(Bf16OpsTest, LinearOnBf16Panels) {
  if (!Bf16ProductsAvailable()) {
    EXPECT_TRUE(PackLinearWeightBf16(nullptr, 0, 0).empty()) << "no bf16 panels without AVX512_BF16";
    GTEST_SKIP() << "no AVX512_BF16 on this CPU: compute bf16 runs f32 (checked in AttentionFallsBackOrDrifts)";
  }
  // Decoding step, odd K, the encoder's shapes, a vocabulary-projection-like wide N.
  for (auto [M, K, N] : std::vector<std::array<int, 3>>{
           {1, 384, 1000}, {7, 63, 33}, {128, 384, 517}, {300, 1536, 40}, {97, 384, 3000}}) {
    auto x = RandomVec(M * K, rng_), W = RandomVec(N * K, rng_), b = RandomVec(N, rng_);
    const auto packed = PackLinearWeightBf16(W.data(), N, K);
    PackedWeightView view;
    view.bf16 = packed.data();
    std::vector<float> y1(M * (N + 3)), y2(M * (N + 3));
    LinearOp(fast_, x.data(), M, K, W.data(), N, b.data(), y1.data(), N + 3, view);
    LinearOp(ref_, x.data(), M, K, W.data(), N, b.data(), y2.data(), N + 3);
    const double e = Nmse(y1, y2);
    EXPECT_LT(e, kMaxProductNmse) << M << "x" << K << "x" << N;
    EXPECT_GT(e, 0.0) << "bf16 products equal to f32: the panels were not used";
    // Rows of the panels (embedding lookups) are W's rows rounded to bf16.
    std::vector<float> row(K);
    UnpackWeightRow(view, K, N - 1, row.data());
    for (int k = 0; k < K; ++k) {
      ASSERT_EQ(row[k], kernels::Bf16ToFloat(kernels::FloatToBf16(W[(N - 1) * K + k]))) << k;
    }
  }
}

// ScreenedLinearOp (the vocabulary screen) on a vocabulary-like projection: N not a multiple of 32,
// most logits within +-4 and, per row, one token at ~19 and one at ~15 (within the margin). Outputs
// within the margin (less twice the allowance for the screen's error) of a row's maximum have
// LinearOp's bits on the bf16 panels, the others stay within that allowance; activations with a NaN
// give LinearOp's product; the screen built from f16 bytes equals the one from the same values in
// f32; more rows than a decoding step, or no screen, are LinearOp's product.
TEST_P(Bf16OpsTest, ScreenedProjectionKeepsTheLargestExact) {
  if (!Bf16ProductsAvailable() || !Q8IntegerProductsAvailable()) {
    GTEST_SKIP() << "the screen needs bf16 and integer products (AVX512_BF16 + VNNI, or Arm BF16 + dotprod)";
  }
  const int K = 384, N = 5003, kRows = 17;
  const float margin = 6.0f, allowance = 0.5f;
  const auto x_all = RandomVec(static_cast<size_t>(kRows) * K, rng_);
  auto W = RandomVec(static_cast<size_t>(N) * K, rng_);
  for (float& v : W) v *= 0.05f;
  for (int m = 0; m < 2; ++m) {  // rows 0 and 1: tokens 1234 + m (~0.05 |x|^2 = ~19) and 4000 + m (0.8 of it)
    for (int k = 0; k < K; ++k) {
      W[static_cast<size_t>(1234 + m) * K + k] = 0.05f * x_all[static_cast<size_t>(m) * K + k];
      W[static_cast<size_t>(4000 + m) * K + k] = 0.04f * x_all[static_cast<size_t>(m) * K + k];
    }
  }
  std::vector<uint8_t> half(W.size() * 2);
  for (size_t i = 0; i < W.size(); ++i) {
    W[i] = kernels::HalfToFloat(kernels::FloatToHalf(W[i]));  // values a half holds exactly
    const uint16_t h = kernels::FloatToHalf(W[i]);
    half[2 * i] = static_cast<uint8_t>(h & 0xff);
    half[2 * i + 1] = static_cast<uint8_t>(h >> 8);
  }
  const ProjectionScreen screen = BuildProjectionScreen(W.data(), nullptr, N, K);
  const ProjectionScreen from_half = BuildProjectionScreen(nullptr, half.data(), N, K);
  ASSERT_FALSE(screen.empty());
  ASSERT_EQ(screen.panels.size(), from_half.panels.size());
  EXPECT_TRUE(std::equal(screen.panels.begin(), screen.panels.end(), from_half.panels.begin()));
  const auto packed = PackLinearWeightBf16(W.data(), N, K);
  PackedWeightView view;
  view.bf16 = packed.data();
  for (int M : {1, 2, 3, kRows}) {
    std::vector<float> x(x_all.begin(), x_all.begin() + static_cast<ptrdiff_t>(M) * K);
    if (M == 3) x[static_cast<size_t>(2) * K + 5] = std::nanf("");
    std::vector<float> exact(static_cast<size_t>(M) * N), y(exact.size());
    LinearOp(fast_, x.data(), M, K, W.data(), N, nullptr, exact.data(), N, view);
    const int64_t n_exact = ScreenedLinearOp(fast_, x.data(), M, K, W.data(), N, y.data(), N, view, &screen, margin);
    if (M == 3 || M == kRows) {  // a NaN among the activations; more rows than a decoding step
      EXPECT_EQ(n_exact, int64_t{M} * N);
      for (size_t i = 0; i < y.size(); ++i) {
        ASSERT_TRUE(y[i] == exact[i] || (std::isnan(y[i]) && std::isnan(exact[i]))) << i;
      }
      continue;
    }
    EXPECT_LT(n_exact, int64_t{M} * N / 20) << "the screen recomputed too much";
    for (int m = 0; m < M; ++m) {
      const float* e = exact.data() + static_cast<size_t>(m) * N;
      const float* got = y.data() + static_cast<size_t>(m) * N;
      EXPECT_EQ(std::max_element(e, e + N) - e, 1234 + m);
      EXPECT_EQ(std::max_element(got, got + N) - got, 1234 + m);
      const float max_value = e[1234 + m];
      ASSERT_GE(e[4000 + m], max_value - (margin - 2 * allowance)) << "the second token is within the margin";
      for (int n = 0; n < N; ++n) {
        if (e[n] >= max_value - (margin - 2 * allowance)) {
          ASSERT_EQ(got[n], e[n]) << "row " << m << " output " << n << " is within the margin";
        } else {
          ASSERT_NEAR(got[n], e[n], allowance) << "row " << m << " output " << n;
        }
      }
    }
  }
  auto x = RandomVec(K, rng_);  // without a screen: LinearOp
  std::vector<float> exact(N), y(N);
  LinearOp(fast_, x.data(), 1, K, W.data(), N, nullptr, exact.data(), N, view);
  EXPECT_EQ(ScreenedLinearOp(fast_, x.data(), 1, K, W.data(), N, y.data(), N, view, nullptr, margin), N);
  EXPECT_EQ(y, exact);
}

TEST_P(Bf16OpsTest, Conv1dOnBf16Panels) {
  if (!Bf16ProductsAvailable()) GTEST_SKIP() << "no AVX512_BF16 on this CPU";
  for (int stride : {1, 2}) {
    const int c_in = 13, t_in = 151, c_out = 40;
    auto x = RandomVec(c_in * t_in, rng_), W = RandomVec(c_out * c_in * 3, rng_), b = RandomVec(c_out, rng_);
    const int t_out = (t_in + 2 - 3) / stride + 1;
    const auto packed = PackLinearWeightBf16(W.data(), c_out, 3 * c_in);  // W as (c_out, 3 c_in)
    PackedWeightView view;
    view.bf16 = packed.data();
    std::vector<float> y1(t_out * c_out), y2(t_out * c_out);
    Conv1dK3(fast_, x.data(), c_in, t_in, t_in, 1, W.data(), b.data(), c_out, stride, y1.data(), view);
    Conv1dK3(ref_, x.data(), c_in, t_in, t_in, 1, W.data(), b.data(), c_out, stride, y2.data());
    EXPECT_LT(Nmse(y1, y2), kMaxProductNmse) << "stride " << stride;
  }
}

TEST_P(Bf16OpsTest, AttentionFallsBackOrDrifts) {
  struct Case { int n_q, n_kv, heads, dh; bool causal; int offset; };
  // Odd key counts (a zero pad in the last pair of PV), causal blocks that see part of the keys,
  // the encoder's 1500 x 1500, and the few-query path (f32 in every compute type).
  for (Case c : {Case{1, 37, 6, 64, true, 36}, Case{3, 1500, 6, 64, false, 0}, Case{5, 9, 2, 16, true, 4},
                 Case{49, 49, 6, 64, true, 0}, Case{20, 61, 3, 64, true, 41}, Case{70, 151, 4, 32, false, 0},
                 Case{1500, 1500, 6, 64, false, 0}}) {
    const int w = c.heads * c.dh;
    auto q = RandomVec(c.n_q * (w + 5), rng_), k = RandomVec(c.n_kv * (w + 2), rng_);
    auto v = RandomVec(c.n_kv * (w + 1), rng_);
    std::vector<float> o_bf16(c.n_q * w), o_f32(c.n_q * w), o_ref(c.n_q * w);
    Attention(bf16_, q.data(), w + 5, c.n_q, k.data(), w + 2, v.data(), w + 1, c.n_kv, c.heads, c.dh, c.causal,
              c.offset, o_bf16.data());
    Attention(fast_, q.data(), w + 5, c.n_q, k.data(), w + 2, v.data(), w + 1, c.n_kv, c.heads, c.dh, c.causal,
              c.offset, o_f32.data());
    Attention(ref_, q.data(), w + 5, c.n_q, k.data(), w + 2, v.data(), w + 1, c.n_kv, c.heads, c.dh, c.causal,
              c.offset, o_ref.data());
    if (!Bf16ProductsAvailable() || c.n_q <= 4) {
      EXPECT_EQ(o_bf16, o_f32) << c.n_q << " " << c.n_kv << ": f32 path expected";
      continue;
    }
    const double e = Nmse(o_bf16, o_ref);
    EXPECT_LT(e, kMaxAttentionNmse) << c.n_q << " " << c.n_kv << " causal " << c.causal;
    EXPECT_GT(e, Nmse(o_f32, o_ref)) << "bf16 attention as exact as f32: the bf16 path did not run";
  }
}

TEST_P(Bf16OpsTest, PreparedKvInBf16) {
  const int n_kv = 151, heads = 6, dh = 64, w = heads * dh;
  auto k = RandomVec(n_kv * w, rng_), v = RandomVec(n_kv * w, rng_);
  PreparedKv kv;
  PrepareKv(bf16_, k.data(), w, v.data(), w, n_kv, heads, dh, &kv);
  EXPECT_EQ(kv.kt_bf16.empty(), !Bf16ProductsAvailable());
  EXPECT_EQ(kv.kt_panels.empty(), Bf16ProductsAvailable());
  for (int n_q : {1, 3, 60}) {
    auto q = RandomVec(n_q * w, rng_);
    std::vector<float> o1(n_q * w), o2(n_q * w), o3(n_q * w);
    AttentionPrepared(bf16_, q.data(), w, n_q, kv, o1.data());
    // The prepared panels decide the precision, whatever the context of the call.
    AttentionPrepared(fast_, q.data(), w, n_q, kv, o2.data());
    Attention(ref_, q.data(), w, n_q, k.data(), w, v.data(), w, n_kv, heads, dh, false, 0, o3.data());
    EXPECT_EQ(o1, o2) << n_q;
    EXPECT_LT(Nmse(o1, o3), Bf16ProductsAvailable() ? kMaxAttentionNmse : 1e-9) << n_q;
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, Bf16OpsTest, ::testing::Values(1, 2));

// int8 attention (fast::AttentionProducts::kInt8) against the reference backend (f32, plain
// loops): QK^T on Q and K quantized per 32-block along head_dim, PV on the unnormalised
// probabilities and V quantized per 32-block along the keys, both on the integer GEMM (AVX-512
// VNNI). Each operand loses ~0.5 % RMS to its 8-bit rounding, so this is a bound on drift:
//   NMSE < 4e-4 (kMaxInt8AttentionNmse) (measured 0.8e-4 to 1.7e-4 on Gaussian Q, K, V; bf16 attention ~1e-5).
// Without VNNI, with head_dim not a multiple of 32, or with <= 4 queries (the dot-product path
// over a changing cache), the same calls must run the exact f32 path. Through the op layer,
// compute int8 runs bf16 attention where the CPU has AVX512_BF16 (ops.cc says why), else int8.
class Int8OpsTest : public Bf16OpsTest {};  // int8_: compute int8

TEST_P(Int8OpsTest, AttentionFallsBackOrDrifts) {
  struct Case { int n_q, n_kv, heads, dh; bool causal; int offset; };
  // Key counts off the 32-block grid (zero-padded keys in PV), causal blocks that see part of the
  // keys, the decoder's prompt shape, the encoder's 1500 x 1500; head_dim 16 (not a whole block)
  // and the few-query path stay f32.
  for (Case c : {Case{1, 37, 6, 64, true, 36}, Case{3, 1500, 6, 64, false, 0}, Case{5, 9, 2, 16, true, 4},
                 Case{49, 49, 6, 64, true, 0}, Case{20, 61, 3, 64, true, 41}, Case{70, 151, 4, 32, false, 0},
                 Case{100, 1500, 2, 96, false, 0}, Case{1500, 1500, 6, 64, false, 0}}) {
    const int w = c.heads * c.dh;
    auto q = RandomVec(c.n_q * (w + 5), rng_), k = RandomVec(c.n_kv * (w + 2), rng_);
    auto v = RandomVec(c.n_kv * (w + 1), rng_);
    std::vector<float> o_int8(c.n_q * w), o_f32(c.n_q * w), o_ref(c.n_q * w), o_ctx(c.n_q * w), o_bf16(c.n_q * w);
    fast::Attention(pool_.get(), q.data(), w + 5, c.n_q, k.data(), w + 2, v.data(), w + 1, c.n_kv, c.heads, c.dh,
                    c.causal, c.offset, o_int8.data(), fast::AttentionProducts::kInt8);
    fast::Attention(pool_.get(), q.data(), w + 5, c.n_q, k.data(), w + 2, v.data(), w + 1, c.n_kv, c.heads, c.dh,
                    c.causal, c.offset, o_bf16.data(), fast::AttentionProducts::kBf16);
    Attention(int8_, q.data(), w + 5, c.n_q, k.data(), w + 2, v.data(), w + 1, c.n_kv, c.heads, c.dh, c.causal,
              c.offset, o_ctx.data());
    // The op layer's choice for compute int8: bf16 products where the CPU has them, else int8.
    EXPECT_EQ(o_ctx, Bf16ProductsAvailable() ? o_bf16 : o_int8) << c.n_q << " " << c.n_kv;
    Attention(fast_, q.data(), w + 5, c.n_q, k.data(), w + 2, v.data(), w + 1, c.n_kv, c.heads, c.dh, c.causal,
              c.offset, o_f32.data());
    Attention(ref_, q.data(), w + 5, c.n_q, k.data(), w + 2, v.data(), w + 1, c.n_kv, c.heads, c.dh, c.causal,
              c.offset, o_ref.data());
    if (!Q8IntegerProductsAvailable() || c.n_q <= 4 || c.dh % 32 != 0) {
      EXPECT_EQ(o_int8, o_f32) << c.n_q << " " << c.n_kv << " dh " << c.dh << ": f32 path expected";
      continue;
    }
    const double e = Nmse(o_int8, o_ref);
    std::printf("[int8 attention] %d x %d, %d heads of %d, causal %d: NMSE %.2e (f32 %.2e)\n", c.n_q, c.n_kv,
                c.heads, c.dh, c.causal, e, Nmse(o_f32, o_ref));
    EXPECT_LT(e, kMaxInt8AttentionNmse) << c.n_q << " " << c.n_kv << " causal " << c.causal;
    EXPECT_GT(e, 10 * Nmse(o_f32, o_ref)) << "int8 attention as exact as f32: the int8 path did not run";
  }
}

// Prepared K/V (the decoder's cross-attention) keep f32 panels under compute int8: bit-equal to f32.
TEST_P(Int8OpsTest, PreparedKvStaysF32) {
  const int n_kv = 151, heads = 6, dh = 64, w = heads * dh, n_q = 7;
  auto k = RandomVec(n_kv * w, rng_), v = RandomVec(n_kv * w, rng_), q = RandomVec(n_q * w, rng_);
  PreparedKv kv8, kv32;
  PrepareKv(int8_, k.data(), w, v.data(), w, n_kv, heads, dh, &kv8);
  PrepareKv(fast_, k.data(), w, v.data(), w, n_kv, heads, dh, &kv32);
  EXPECT_TRUE(kv8.kt_bf16.empty());
  std::vector<float> o8(n_q * w), o32(n_q * w);
  AttentionPrepared(int8_, q.data(), w, n_q, kv8, o8.data());
  AttentionPrepared(fast_, q.data(), w, n_q, kv32, o32.data());
  EXPECT_EQ(o8, o32);
}

INSTANTIATE_TEST_SUITE_P(Threads, Int8OpsTest, ::testing::Values(1, 2));

}  // namespace
}  // namespace wisp
