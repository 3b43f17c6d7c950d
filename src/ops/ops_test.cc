// In the style of ggml's test-backend-ops: every op of the fast backend against the reference
// backend over random shapes, by normalised mean squared error, with 1 and 2 threads.
#include <gtest/gtest.h>

#include <array>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>
#include <utility>
#include <vector>

#include "kernels/gemm_packed.h"
#include "ops/ops.h"
#include "ops/profile_report.h"

namespace wisp {
namespace {

std::vector<float> Random(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> d(0.f, scale);
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

// f32 with different summation orders: NMSE ~1e-14..1e-12 for these sizes. Any indexing or
// masking error gives ~1e-2 or more, so 1e-9 separates the two by orders of magnitude.
constexpr double kMaxNmse = 1e-9;

class OpsTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    pool_ = std::make_unique<ThreadPool>(GetParam());
    fast_.pool = pool_.get();
    fast_.backend = Backend::kFast;
    ref_.backend = Backend::kReference;
  }
  std::unique_ptr<ThreadPool> pool_;
  OpContext fast_, ref_;
  std::mt19937 rng_{42};
};

TEST_P(OpsTest, Linear) {
  for (auto [M, K, N] : std::vector<std::array<int, 3>>{{1, 384, 1000}, {7, 64, 33}, {128, 384, 517}, {300, 96, 40}}) {
    auto x = Random(M * K, rng_), W = Random(N * K, rng_), b = Random(N, rng_);
    std::vector<float> y1(M * (N + 3)), y2(M * (N + 3));
    LinearOp(fast_, x.data(), M, K, W.data(), N, b.data(), y1.data(), N + 3);
    LinearOp(ref_, x.data(), M, K, W.data(), N, b.data(), y2.data(), N + 3);
    EXPECT_LT(Nmse(y1, y2), kMaxNmse) << M << "x" << K << "x" << N;
    const auto packed = PackLinearWeight(W.data(), N, K);
    std::vector<float> y3(M * (N + 3));
    LinearOp(fast_, x.data(), M, K, W.data(), N, b.data(), y3.data(), N + 3, {packed.data(), nullptr});
    EXPECT_LT(Nmse(y3, y2), kMaxNmse) << "packed " << M << "x" << K << "x" << N;
    // f16 panels of W: the same as the reference on W rounded to f16.
    const auto packed16 = PackLinearWeightF16(W.data(), N, K);
    std::vector<float> W16 = W;
    for (auto& v : W16) v = kernels::HalfToFloat(kernels::FloatToHalf(v));
    std::vector<float> y5(M * (N + 3)), y6(M * (N + 3));
    LinearOp(fast_, x.data(), M, K, W.data(), N, b.data(), y5.data(), N + 3, {nullptr, packed16.data()});
    LinearOp(ref_, x.data(), M, K, W16.data(), N, b.data(), y6.data(), N + 3);
    EXPECT_LT(Nmse(y5, y6), kMaxNmse) << "f16 packed " << M << "x" << K << "x" << N;
  }
}

// W (N, K) as ggml q8_0 blocks (f16 scale amax/127, 32 rounded int8), and its dequantization.
std::vector<uint8_t> QuantizeQ8_0(const std::vector<float>& W, int N, int K, std::vector<float>* dequantized) {
  std::vector<uint8_t> blocks(static_cast<size_t>(N) * (K / 32) * 34);
  dequantized->resize(W.size());
  for (int n = 0; n < N; ++n) {
    for (int b = 0; b < K / 32; ++b) {
      const float* w = W.data() + static_cast<size_t>(n) * K + b * 32;
      float amax = 0;
      for (int k = 0; k < 32; ++k) amax = std::max(amax, std::fabs(w[k]));
      const uint16_t h = kernels::FloatToHalf(amax / 127.0f);
      const float d = kernels::HalfToFloat(h), inv = d > 0 ? 1.0f / d : 0.0f;
      uint8_t* blk = blocks.data() + (static_cast<size_t>(n) * (K / 32) + b) * 34;
      std::memcpy(blk, &h, 2);
      for (int k = 0; k < 32; ++k) {
        const int q = std::max(-127, std::min(127, static_cast<int>(std::lround(w[k] * inv))));
        blk[2 + k] = static_cast<uint8_t>(static_cast<int8_t>(q));
        (*dequantized)[static_cast<size_t>(n) * K + b * 32 + k] = q * d;
      }
    }
  }
  return blocks;
}

// q8_0 weights: the exact panels equal the reference on the dequantized weights; the integer
// panels (int8 activations) stay within the drift gemm_q8_int.h states (NMSE < 1e-4).
TEST_P(OpsTest, LinearQ8_0) {
  for (auto [M, K, N] : std::vector<std::array<int, 3>>{{1, 384, 1000}, {7, 64, 33}, {128, 384, 517}, {300, 96, 40}}) {
    auto x = Random(M * K, rng_), W = Random(N * K, rng_, 0.05f), b = Random(N, rng_);
    std::vector<float> Wq;
    const std::vector<uint8_t> blocks = QuantizeQ8_0(W, N, K, &Wq);
    std::vector<float> want(M * (N + 3)), exact(M * (N + 3)), integer(M * (N + 3));
    LinearOp(ref_, x.data(), M, K, Wq.data(), N, b.data(), want.data(), N + 3);
    const auto panels = PackLinearWeightQ8_0(blocks.data(), N, K);
    LinearOp(fast_, x.data(), M, K, nullptr, N, b.data(), exact.data(), N + 3, {nullptr, nullptr, panels.data()});
    EXPECT_LT(Nmse(exact, want), kMaxNmse) << "q8_0 exact " << M << "x" << K << "x" << N;
    const auto int_panels = PackLinearWeightQ8_0Int(blocks.data(), N, K);
    if (!Q8IntegerProductsAvailable()) {
      EXPECT_TRUE(int_panels.empty());
      continue;
    }
    LinearOp(fast_, x.data(), M, K, nullptr, N, b.data(), integer.data(), N + 3,
             {nullptr, nullptr, nullptr, int_panels.data()});
    EXPECT_LT(Nmse(integer, want), 1e-4) << "q8_0 integer " << M << "x" << K << "x" << N;
    EXPECT_GT(Nmse(integer, want), kMaxNmse) << "int8 activations should differ from the exact product";
    std::vector<float> row(K);
    UnpackWeightRow({nullptr, nullptr, nullptr, int_panels.data()}, K, N - 1, row.data());
    for (int k = 0; k < K; ++k) ASSERT_EQ(row[k], Wq[static_cast<size_t>(N - 1) * K + k]);

    // The same weights with an offset per block (q5_1-style: w = q * d + m, q in 0..31).
    std::vector<uint8_t> min_blocks(static_cast<size_t>(N) * (K / 32) * 40);
    std::vector<float> Wm(W.size());
    for (int n = 0; n < N; ++n) {
      for (int blk = 0; blk < K / 32; ++blk) {
        const float* w = W.data() + static_cast<size_t>(n) * K + blk * 32;
        const float lo = *std::min_element(w, w + 32), hi = *std::max_element(w, w + 32);
        const float d = (hi - lo) / 31.0f;
        uint8_t* out = min_blocks.data() + (static_cast<size_t>(n) * (K / 32) + blk) * 40;
        std::memcpy(out, &d, 4);
        std::memcpy(out + 4, &lo, 4);
        for (int k = 0; k < 32; ++k) {
          const int q = std::max(0, std::min(31, static_cast<int>(std::lround((w[k] - lo) / d))));
          out[8 + k] = static_cast<uint8_t>(q);
          Wm[static_cast<size_t>(n) * K + blk * 32 + k] = std::fma(static_cast<float>(q), d, lo);
        }
      }
    }
    std::vector<float> want_m(M * (N + 3)), got_m(M * (N + 3));
    LinearOp(ref_, x.data(), M, K, Wm.data(), N, b.data(), want_m.data(), N + 3);
    const auto min_panels = PackLinearWeightQ8MinInt(min_blocks.data(), N, K);
    LinearOp(fast_, x.data(), M, K, nullptr, N, b.data(), got_m.data(), N + 3,
             {nullptr, nullptr, nullptr, nullptr, min_panels.data()});
    EXPECT_LT(Nmse(got_m, want_m), 1e-4) << "q5_1-style integer " << M << "x" << K << "x" << N;
    UnpackWeightRow({nullptr, nullptr, nullptr, nullptr, min_panels.data()}, K, 0, row.data());
    for (int k = 0; k < K; ++k) ASSERT_EQ(row[k], Wm[k]);
  }
}

TEST_P(OpsTest, LayerNormGeluAdd) {
  const int rows = 37, n = 384;
  auto x = Random(rows * n, rng_, 3.0f), g = Random(n, rng_), b = Random(n, rng_);
  std::vector<float> y1(rows * n), y2(rows * n);
  LayerNorm(fast_, x.data(), rows, n, g.data(), b.data(), y1.data());
  LayerNorm(ref_, x.data(), rows, n, g.data(), b.data(), y2.data());
  EXPECT_LT(Nmse(y1, y2), kMaxNmse);
  auto z1 = x, z2 = x;
  Gelu(fast_, z1.data(), z1.size());
  Gelu(ref_, z2.data(), z2.size());
  EXPECT_LT(Nmse(z1, z2), kMaxNmse);
  EXPECT_NEAR(z2[0], 0.5 * x[0] * (1 + std::erf(x[0] / std::sqrt(2.0))), 1e-5);
  AddInPlace(fast_, z1.data(), x.data(), x.size());
  AddInPlace(ref_, z2.data(), x.data(), x.size());
  EXPECT_LT(Nmse(z1, z2), kMaxNmse);
}

TEST_P(OpsTest, Conv1dK3) {
  for (int stride : {1, 2}) {
    const int c_in = 13, t_in = 51, c_out = 20;
    auto x = Random(c_in * t_in, rng_), W = Random(c_out * c_in * 3, rng_), b = Random(c_out, rng_);
    const int t_out = (t_in + 2 - 3) / stride + 1;
    std::vector<float> y1(t_out * c_out), y2(t_out * c_out);
    Conv1dK3(fast_, x.data(), c_in, t_in, t_in, 1, W.data(), b.data(), c_out, stride, y1.data());
    Conv1dK3(ref_, x.data(), c_in, t_in, t_in, 1, W.data(), b.data(), c_out, stride, y2.data());
    EXPECT_LT(Nmse(y1, y2), kMaxNmse) << "stride " << stride;
    const auto packed = PackLinearWeight(W.data(), c_out, 3 * c_in);
    std::vector<float> y4(y1.size());
    Conv1dK3(fast_, x.data(), c_in, t_in, t_in, 1, W.data(), b.data(), c_out, stride, y4.data(),
             {packed.data(), nullptr});
    EXPECT_LT(Nmse(y4, y2), kMaxNmse) << "packed, stride " << stride;
    // The same input stored time-major gives the same result.
    std::vector<float> xt(x.size()), y3(y1.size());
    for (int c = 0; c < c_in; ++c)
      for (int t = 0; t < t_in; ++t) xt[t * c_in + c] = x[c * t_in + t];
    Conv1dK3(fast_, xt.data(), c_in, t_in, 1, c_in, W.data(), b.data(), c_out, stride, y3.data());
    EXPECT_LT(Nmse(y3, y2), kMaxNmse) << "time-major, stride " << stride;
  }
}

TEST_P(OpsTest, Attention) {
  struct Case { int n_q, n_kv, heads, dh; bool causal; int offset; };
  for (Case c : {Case{1, 1, 1, 64, true, 0}, Case{1, 37, 6, 64, true, 36}, Case{5, 9, 2, 16, true, 4},
                 Case{40, 40, 6, 64, true, 0}, Case{50, 50, 2, 64, true, 0}, Case{20, 60, 3, 64, true, 40},
                 Case{70, 150, 4, 32, false, 0}, Case{3, 1500, 6, 64, false, 0}}) {
    const int w = c.heads * c.dh;
    // Strided q/k/v as the model passes them (slices of a fused projection buffer).
    auto q = Random(c.n_q * (w + 5), rng_), k = Random(c.n_kv * (w + 2), rng_), v = Random(c.n_kv * (w + 1), rng_);
    std::vector<float> o1(c.n_q * w), o2(c.n_q * w);
    Attention(fast_, q.data(), w + 5, c.n_q, k.data(), w + 2, v.data(), w + 1, c.n_kv, c.heads, c.dh, c.causal,
              c.offset, o1.data());
    Attention(ref_, q.data(), w + 5, c.n_q, k.data(), w + 2, v.data(), w + 1, c.n_kv, c.heads, c.dh, c.causal,
              c.offset, o2.data());
    EXPECT_LT(Nmse(o1, o2), kMaxNmse) << c.n_q << " " << c.n_kv << " causal " << c.causal;
  }
}

TEST_P(OpsTest, PreparedKvMatchesAttention) {
  const int n_kv = 150, heads = 6, dh = 64, w = heads * dh;
  auto k = Random(n_kv * w, rng_), v = Random(n_kv * w, rng_);
  PreparedKv fast_kv, ref_kv;
  PrepareKv(fast_, k.data(), w, v.data(), w, n_kv, heads, dh, &fast_kv);
  PrepareKv(ref_, k.data(), w, v.data(), w, n_kv, heads, dh, &ref_kv);
  for (int n_q : {1, 3, 60}) {
    auto q = Random(n_q * w, rng_);
    std::vector<float> o1(n_q * w), o2(n_q * w), o3(n_q * w);
    AttentionPrepared(fast_, q.data(), w, n_q, fast_kv, o1.data());
    AttentionPrepared(ref_, q.data(), w, n_q, ref_kv, o2.data());
    Attention(ref_, q.data(), w, n_q, k.data(), w, v.data(), w, n_kv, heads, dh, false, 0, o3.data());
    EXPECT_LT(Nmse(o1, o3), kMaxNmse) << n_q;
    EXPECT_EQ(o2, o3) << n_q;
  }
}

// Beam search's step: per row, the shared prefix then the row's own keys must give exactly what
// Attention gives over them laid end to end (fast against fast, reference against reference).
TEST_P(OpsTest, AttentionSharedPrefixEqualsAttentionOverTheConcatenation) {
  const int heads = 6, dh = 64, w = heads * dh, ld = w + 3, n_rows = 5;
  for (auto [n_prefix, n_suffix] : {std::pair{0, 1}, std::pair{1, 1}, std::pair{37, 1}, std::pair{200, 45}}) {
    auto q = Random(n_rows * w, rng_), pk = Random(n_prefix * ld + 1, rng_), pv = Random(n_prefix * ld + 1, rng_);
    std::vector<std::vector<float>> rk(n_rows), rv(n_rows);
    std::vector<const float*> rkp(n_rows), rvp(n_rows);
    for (int i = 0; i < n_rows; ++i) {
      rk[i] = Random(n_suffix * ld, rng_), rv[i] = Random(n_suffix * ld, rng_);
      rkp[i] = rk[i].data(), rvp[i] = rv[i].data();
    }
    for (const OpContext* ctx : {&fast_, &ref_}) {
      std::vector<float> got(n_rows * w);
      AttentionSharedPrefix(*ctx, q.data(), w, n_rows, pk.data(), pv.data(), n_prefix, rkp.data(), rvp.data(),
                            n_suffix, ld, heads, dh, got.data(), w);
      const int n_kv = n_prefix + n_suffix;
      for (int i = 0; i < n_rows; ++i) {
        std::vector<float> k(n_kv * ld), v(n_kv * ld), want(w);
        std::copy(pk.begin(), pk.begin() + n_prefix * ld, k.begin());
        std::copy(pv.begin(), pv.begin() + n_prefix * ld, v.begin());
        std::copy(rk[i].begin(), rk[i].end(), k.begin() + n_prefix * ld);
        std::copy(rv[i].begin(), rv[i].end(), v.begin() + n_prefix * ld);
        Attention(*ctx, q.data() + i * w, w, 1, k.data(), ld, v.data(), ld, n_kv, heads, dh, true, n_kv - 1,
                  want.data());
        EXPECT_EQ(std::vector<float>(got.begin() + i * w, got.begin() + (i + 1) * w), want)
            << (ctx == &fast_ ? "fast" : "reference") << " prefix " << n_prefix << " row " << i;
      }
    }
  }
}

// The scores word timestamps read: softmax(scores) @ v must give the fused attention's output
// for that head, and the scores themselves a plain double-precision dot product.
TEST_P(OpsTest, AttentionScoresMatchFusedAttention) {
  const int n_q = 7, n_kv = 300, heads = 4, dh = 32, w = heads * dh;
  auto q = Random(n_q * (w + 3), rng_), k = Random(n_kv * (w + 1), rng_), v = Random(n_kv * w, rng_);
  std::vector<float> fused(n_q * w);
  Attention(ref_, q.data(), w + 3, n_q, k.data(), w + 1, v.data(), w, n_kv, heads, dh, false, 0, fused.data());
  for (const OpContext* ctx : {&fast_, &ref_}) {
    for (int h : {0, 3}) {
      std::vector<float> scores(n_q * n_kv), want(n_q * n_kv), out(n_q * dh), want_out(n_q * dh);
      AttentionScores(*ctx, q.data(), w + 3, n_q, k.data(), w + 1, n_kv, h, dh, scores.data());
      for (int i = 0; i < n_q; ++i) {
        double mx = -1e300, sum = 0;
        for (int j = 0; j < n_kv; ++j) {
          double dot = 0;
          for (int c = 0; c < dh; ++c) dot += double(q[i * (w + 3) + h * dh + c]) * k[j * (w + 1) + h * dh + c];
          want[i * n_kv + j] = static_cast<float>(dot / std::sqrt(double(dh)));
          mx = std::max(mx, double(scores[i * n_kv + j]));
        }
        std::vector<double> p(n_kv);
        for (int j = 0; j < n_kv; ++j) sum += p[j] = std::exp(scores[i * n_kv + j] - mx);
        for (int c = 0; c < dh; ++c) {
          double o = 0;
          for (int j = 0; j < n_kv; ++j) o += p[j] / sum * v[j * w + h * dh + c];
          out[i * dh + c] = static_cast<float>(o);
          want_out[i * dh + c] = fused[i * w + h * dh + c];
        }
      }
      EXPECT_LT(Nmse(scores, want), kMaxNmse) << h;
      EXPECT_LT(Nmse(out, want_out), kMaxNmse) << h;
    }
  }
}

TEST_P(OpsTest, ProfilerCountsEveryCall) {
  Profiler prof;
  OpContext ctx = fast_;
  ctx.profiler = &prof;
  prof.SetSection("s");
  std::vector<float> x(64, 1.0f);
  Gelu(ctx, x.data(), 64);
  Gelu(ctx, x.data(), 64);
  AddInPlace(ctx, x.data(), x.data(), 64);
  const auto& s = prof.sections().at("s");
  EXPECT_EQ(s.at("gelu").calls, 2);
  EXPECT_EQ(s.at("add").calls, 1);
  EXPECT_EQ(s.at("gelu").fast_ms, s.at("gelu").total_ms);
  std::ostringstream table;
  WriteProfileTable(prof, "s", table);
  EXPECT_NE(table.str().find("| gelu | "), std::string::npos) << table.str();
  EXPECT_NE(table.str().find(" | 2 | yes | 100.0 |"), std::string::npos) << table.str();
  EXPECT_NE(table.str().find("s total (Method::execute)** | "), std::string::npos) << table.str();
}

TEST(Profiler, ReferenceBackendIsOffTheFastPathAndTraceIsJson) {
  Profiler prof;
  prof.set_keep_events(true);
  prof.SetSection("decoder");
  OpContext ctx{nullptr, &prof, Backend::kReference};
  std::vector<float> x(16, 1.0f);
  Gelu(ctx, x.data(), 16);
  std::ostringstream table, trace;
  WriteProfileTable(prof, "decoder", table);
  EXPECT_NE(table.str().find(" | 1 | no | 0.0 |"), std::string::npos) << table.str();
  WriteChromeTrace(prof, trace);
  EXPECT_NE(trace.str().find("\"name\":\"gelu\",\"cat\":\"decoder\",\"ph\":\"X\""), std::string::npos) << trace.str();
  EXPECT_NE(trace.str().find("\"fast_path\":false"), std::string::npos);
}

TEST(Profiler, BeginCallCountsCallsPerSection) {
  Profiler prof;
  OpContext ctx{nullptr, &prof, Backend::kFast};
  std::vector<float> x(16, 1.0f);
  for (int call = 0; call < 3; ++call) {
    prof.BeginCall("decoder");
    Gelu(ctx, x.data(), 16);
    Gelu(ctx, x.data(), 16);
  }
  prof.SetSection("decoder");  // switching sections is not a call
  EXPECT_EQ(prof.calls("decoder"), 3);
  EXPECT_EQ(prof.calls("encoder"), 0);
  EXPECT_EQ(prof.sections().at("decoder").at("gelu").calls, 6);
}

INSTANTIATE_TEST_SUITE_P(Threads, OpsTest, ::testing::Values(1, 2));

}  // namespace
}  // namespace wisp
