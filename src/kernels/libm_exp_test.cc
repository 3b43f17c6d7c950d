// libm_exp.h: every ISA's results are bit for bit those of the scalar std::exp (float) forms.
#include "kernels/libm_exp.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace wisp::kernels {
namespace {

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
