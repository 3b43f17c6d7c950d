// Vector exp and GELU on every compiled ISA this CPU runs, against libm in double precision.
#include "kernels/vector_math.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace wisp::kernels {
namespace {

TEST(VectorMath, ScaledExpSumMatchesLibm) {
  Isa isas[3];
  const int n_isa = SupportedIsas(isas, 3);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-90.f, 88.f);
  for (int t = 0; t < n_isa; ++t) {
    for (int n : {1, 3, 16, 17, 1000}) {
      std::vector<float> x(n);
      for (auto& v : x) v = u(rng);
      x[0] = -std::numeric_limits<float>::infinity();  // a masked score
      auto y = x;
      const float sum = ScaledExpSum(isas[t], y.data(), n, 1.0f, 0.0f);
      double ref_sum = 0;
      for (int i = 0; i < n; ++i) {
        const double ref = std::exp(double(x[i]));
        ref_sum += ref;
        if (ref < 1e-37) {
          EXPECT_NEAR(y[i], ref, 1e-37) << IsaName(isas[t]) << " x=" << x[i];  // flushed or approximate: negligible in a sum
        } else {
          EXPECT_NEAR(y[i] / ref, 1.0, 4e-7) << IsaName(isas[t]) << " x=" << x[i];
        }
      }
      if (ref_sum > 0 && ref_sum < 1e37) EXPECT_NEAR(sum / ref_sum, 1.0, 1e-5) << IsaName(isas[t]);  // f32 range
    }
    // scale and shift as the softmax uses them: exp(s * scale - max).
    std::vector<float> s = {2.0f, 4.0f, -6.0f};
    ScaledExpSum(isas[t], s.data(), 3, 0.5f, 2.0f);
    EXPECT_NEAR(s[0], std::exp(-1.0), 1e-7);
    EXPECT_NEAR(s[1], 1.0, 1e-7);
    EXPECT_NEAR(s[2], std::exp(-5.0), 1e-9);
  }
}

TEST(VectorMath, GeluMatchesErfForm) {
  Isa isas[3];
  const int n_isa = SupportedIsas(isas, 3);
  for (int t = 0; t < n_isa; ++t) {
    std::vector<float> x;
    for (float v = -12.0f; v <= 12.0f; v += 0.00731f) x.push_back(v);
    auto y = x;
    GeluErf(isas[t], y.data(), static_cast<int64_t>(y.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      const double ref = 0.5 * x[i] * (1.0 + std::erf(x[i] / std::sqrt(2.0)));
      EXPECT_NEAR(y[i], ref, 3e-7 * std::max(1.0f, std::abs(x[i]))) << IsaName(isas[t]) << " x=" << x[i];
    }
  }
}

TEST(VectorMath, WeightedRowSumMatchesLoop) {
  Isa isas[3];
  const int n_isa = SupportedIsas(isas, 3);
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.f, 1.f);
  for (int t = 0; t < n_isa; ++t) {
    for (int dim : {1, 7, 64, 80}) {
      const int n = 37, ldv = dim + 5;
      std::vector<float> p(n), V(n * ldv), out(dim);
      for (auto& x : p) x = d(rng);
      for (auto& x : V) x = d(rng);
      WeightedRowSum(isas[t], p.data(), n, V.data(), ldv, dim, out.data());
      for (int i = 0; i < dim; ++i) {
        double r = 0;
        for (int j = 0; j < n; ++j) r += double(p[j]) * V[j * ldv + i];
        EXPECT_NEAR(out[i], r, 1e-4) << IsaName(isas[t]) << " dim " << dim;
      }
    }
  }
}

TEST(VectorMath, MaxValueMatchesLoop) {
  Isa isas[3];
  const int n_isa = SupportedIsas(isas, 3);
  std::mt19937 rng(5);
  std::normal_distribution<float> d(0.f, 10.f);
  for (int t = 0; t < n_isa; ++t) {
    EXPECT_EQ(MaxValue(isas[t], nullptr, 0), -std::numeric_limits<float>::infinity()) << IsaName(isas[t]);
    for (int n : {1, 3, 16, 17, 63, 64, 65, 100, 1500}) {
      std::vector<float> x(n);
      for (auto& v : x) v = d(rng);
      x[0] = -std::numeric_limits<float>::infinity();  // a masked score
      // The maximum in every position class: the 4-vector body, the 1-vector loop, the tail.
      for (int pos : {0, n / 2, n - 1}) {
        auto y = x;
        y[pos] = 1000.0f + pos;
        EXPECT_EQ(MaxValue(isas[t], y.data(), n), y[pos]) << IsaName(isas[t]) << " n " << n << " at " << pos;
      }
      float ref = x[0];
      for (float v : x) ref = std::max(ref, v);
      EXPECT_EQ(MaxValue(isas[t], x.data(), n), ref) << IsaName(isas[t]) << " n " << n;
    }
  }
}

TEST(VectorMath, LayerNormRowMatchesDouble) {
  Isa isas[3];
  const int n_isa = SupportedIsas(isas, 3);
  std::mt19937 rng(7);
  std::normal_distribution<float> d(0.f, 1.f);
  for (int t = 0; t < n_isa; ++t) {
    for (int n : {1, 5, 16, 40, 384, 385, 1280}) {
      std::vector<float> x(n), g(n), b(n), y(n);
      for (auto& v : x) v = 3.0f + 2.0f * d(rng);  // an offset mean, as residual streams have
      for (auto& v : g) v = d(rng);
      for (auto& v : b) v = d(rng);
      LayerNormRow(isas[t], x.data(), n, g.data(), b.data(), 1e-5f, y.data());
      double mean = 0, var = 0;
      for (float v : x) mean += v;
      mean /= n;
      for (float v : x) var += (v - mean) * (v - mean);
      var /= n;
      const double inv = 1.0 / std::sqrt(var + 1e-5);
      for (int i = 0; i < n; ++i) {
        const double ref = (x[i] - mean) * inv * g[i] + b[i];
        EXPECT_NEAR(y[i], ref, 2e-6 * (1.0 + std::abs(ref))) << IsaName(isas[t]) << " n " << n << " i " << i;
      }
      auto z = x;  // in place
      LayerNormRow(isas[t], z.data(), n, g.data(), b.data(), 1e-5f, z.data());
      EXPECT_EQ(z, y) << IsaName(isas[t]) << " n " << n;
    }
  }
}

// Median7 on every ISA: the 4th smallest of each window of 7 (values with many ties, every tail
// length of the vector blocks).
TEST(VectorMath, Median7IsTheFourthSmallest) {
  Isa isas[3];
  const int n_isa = SupportedIsas(isas, 3);
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> level(-5, 5);
  for (int64_t width : {1, 3, 4, 15, 16, 17, 33, 1500}) {
    std::vector<float> x(width + 6);
    for (float& v : x) v = level(rng) * 0.5f;
    std::vector<float> want(width);
    for (int64_t t = 0; t < width; ++t) {
      std::vector<float> w(x.begin() + t, x.begin() + t + 7);
      std::nth_element(w.begin(), w.begin() + 3, w.end());
      want[t] = w[3];
    }
    for (int i = 0; i < n_isa; ++i) {
      std::vector<float> got(width, -99.0f);
      Median7(isas[i], x.data(), width, got.data());
      EXPECT_EQ(got, want) << IsaName(isas[i]) << " width " << width;
    }
  }
}

}  // namespace
}  // namespace wisp::kernels
