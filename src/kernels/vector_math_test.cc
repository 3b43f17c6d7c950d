// Vector exp and GELU on every compiled ISA this CPU runs, against libm in double precision; the
// libm-exact exp against std::exp bit for bit; the median network and the two-segment row sum.
#include "kernels/vector_math.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
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

// WeightedRowSum2 split anywhere equals WeightedRowSum over the rows end to end, bit for bit
// (beam search's shared-prefix attention relies on it), on every ISA and a dim with a tail.
TEST(VectorMath, WeightedRowSum2EqualsTheUnsplitSum) {
  Isa isas[3];
  const int n_isa = SupportedIsas(isas, 3);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const int64_t n = 37, dim = 70, ldv = 80;
  std::vector<float> p(n), V(n * ldv);
  for (float& x : p) x = u(rng);
  for (float& x : V) x = u(rng);
  for (int t = 0; t < n_isa; ++t) {
    std::vector<float> want(dim);
    WeightedRowSum(isas[t], p.data(), n, V.data(), ldv, dim, want.data());
    for (int64_t split : {0, 1, 16, 36, 37}) {
      // The second segment elsewhere in memory, with its own stride.
      std::vector<float> V2((n - split) * 96);
      for (int64_t j = split; j < n; ++j) std::copy(V.begin() + j * ldv, V.begin() + j * ldv + dim, V2.begin() + (j - split) * 96);
      std::vector<float> got(dim);
      WeightedRowSum2(isas[t], p.data(), split, V.data(), ldv, n - split, V2.data(), 96, dim, got.data());
      for (int64_t d = 0; d < dim; ++d) {
        EXPECT_EQ(got[d], want[d]) << IsaName(isas[t]) << " split " << split << " column " << d;
      }
    }
  }
}

// ---- ExpShifted / Lane8ExpSum: every ISA bit for bit the scalar std::exp (float) forms ----

uint32_t Bits(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof(b));
  return b;
}

// Every 769th float of [-110, 90] (all exponents and table indices, the underflow edge below
// -103.3, the overflow edge above 88.7) and the specials, against std::exp.
TEST(LibmExp, ExpShiftedEqualsStdExp) {
  Isa isas[3];
  const int n_isa = SupportedIsas(isas, 3);
  std::vector<float> x;
  for (float v = -110.0f; v < 90.0f;) {
    x.push_back(v);
    uint32_t b = Bits(v);
    b = v < 0 ? (b > 769 + 0x80000000u ? b - 769 : 0) : b + 769;
    std::memcpy(&v, &b, sizeof(v));
  }
  const float inf = std::numeric_limits<float>::infinity();
  for (float s : {-inf, inf, std::numeric_limits<float>::quiet_NaN(), 0.0f, -0.0f, 88.0f, -88.0f, 1e-30f}) x.push_back(s);
  for (int t = 0; t < n_isa; ++t) {
    for (float shift : {0.0f, 3.5f}) {
      std::vector<float> y(x.size());
      ExpShifted(isas[t], x.data(), static_cast<int64_t>(x.size()), shift, y.data());
      int64_t mismatches = 0;
      for (size_t i = 0; i < x.size(); ++i) {
        const float ref = std::exp(x[i] - shift);
        if (Bits(ref) != Bits(y[i]) && !(std::isnan(ref) && std::isnan(y[i]))) {
          if (++mismatches < 5) ADD_FAILURE() << IsaName(isas[t]) << " x=" << x[i] << " " << y[i] << " vs " << ref;
        }
      }
      EXPECT_EQ(mismatches, 0) << IsaName(isas[t]) << " of " << x.size();
    }
  }
}

// The 8-lane sum equals the scalar loop of torch's order for every length's tail shape, with
// suppressed (-inf) entries and far-below-max entries mixed in.
TEST(LibmExp, Lane8ExpSumEqualsScalarOrder) {
  Isa isas[3];
  const int n_isa = SupportedIsas(isas, 3);
  std::mt19937 rng(7);
  std::normal_distribution<float> logit(0.0f, 4.0f);
  for (int n : {0, 1, 5, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 33, 1000, 51864}) {
    std::vector<float> x(n);
    for (int i = 0; i < n; ++i) x[i] = i % 11 == 3 ? -std::numeric_limits<float>::infinity() : logit(rng);
    if (n > 20) x[17] = -200.0f;
    float mx = -std::numeric_limits<float>::infinity();
    for (float v : x) mx = std::max(mx, v);
    const float ref = Lane8ExpSum(Isa::kGeneric, x.data(), n, mx);
    for (int t = 0; t < n_isa; ++t) {
      EXPECT_EQ(Bits(Lane8ExpSum(isas[t], x.data(), n, mx)), Bits(ref)) << IsaName(isas[t]) << " n=" << n;
    }
  }
}

}  // namespace
}  // namespace wisp::kernels
