#include "audio/power_spectrum.h"

#include <cassert>
#include <cmath>

namespace wisp {
namespace {

using cd = std::complex<double>;
constexpr double kTwoPi = 6.283185307179586476925286766559;

cd UnitRoot(long long numerator, long long denominator) {
  // exp(-2 pi i numerator / denominator), reduced first so large products stay accurate.
  const double angle = -kTwoPi * static_cast<double>(numerator % denominator) / static_cast<double>(denominator);
  return cd(std::cos(angle), std::sin(angle));
}

// Out-of-place DFT of R values (R <= 5): out[q] = sum_r v[r] exp(-2 pi i q r / R);
// roots[m] = exp(-2 pi i m / R) (precomputed: no trigonometry per butterfly).
inline void SmallDft(int radix, const cd* roots, const cd* v, cd* out) {
  switch (radix) {
    case 2:
      out[0] = v[0] + v[1];
      out[1] = v[0] - v[1];
      return;
    case 4: {
      const cd a = v[0] + v[2], b = v[0] - v[2];
      const cd c = v[1] + v[3], d = v[1] - v[3];
      const cd d_times_minus_i(d.imag(), -d.real());
      out[0] = a + c;
      out[1] = b + d_times_minus_i;
      out[2] = a - c;
      out[3] = b - d_times_minus_i;
      return;
    }
    default: {
      for (int q = 0; q < radix; ++q) {
        cd acc = 0.0;
        for (int r = 0; r < radix; ++r) acc += v[r] * roots[(q * r) % radix];
        out[q] = acc;
      }
      return;
    }
  }
}

}  // namespace

std::vector<double> PeriodicHannWindow(int n) {
  std::vector<double> w(n);
  for (int i = 0; i < n; ++i) w[i] = 0.5 - 0.5 * std::cos(kTwoPi * i / n);
  return w;
}

ComplexFft::ComplexFft(int n) : n_(n), scratch_(n) {
  assert(n >= 1);
  // Radix 4 first (cheapest butterfly per point), then 2, 3, 5.
  int rest = n;
  int span = 1;
  auto add_stage = [&](int radix) {
    Stage s{radix, span, std::vector<cd>(static_cast<size_t>(span) * radix), std::vector<cd>(radix)};
    for (int m = 0; m < radix; ++m) s.roots[m] = UnitRoot(m, radix);
    for (int k = 0; k < span; ++k)
      for (int r = 0; r < radix; ++r) s.twiddles[k * radix + r] = UnitRoot(static_cast<long long>(k) * r, span * radix);
    stages_.push_back(std::move(s));
    span *= radix;
    rest /= radix;
  };
  while (rest % 4 == 0) add_stage(4);
  while (rest % 2 == 0) add_stage(2);
  while (rest % 3 == 0) add_stage(3);
  while (rest % 5 == 0) add_stage(5);
  assert(rest == 1 && "ComplexFft size must factor into 2, 3 and 5");
}

void ComplexFft::Forward(cd* data) {
  cd* src = data;
  cd* dst = scratch_.data();
  for (const Stage& stage : stages_) {
    const int radix = stage.radix;
    const int span = stage.span;
    const int stride = n_ / radix;
    cd v[5], out[5];
    for (int j = 0; j < stride; ++j) {
      const int k = j % span;
      const cd* tw = &stage.twiddles[static_cast<size_t>(k) * radix];
      for (int r = 0; r < radix; ++r) v[r] = src[j + r * stride] * tw[r];
      SmallDft(radix, stage.roots.data(), v, out);
      const int base = (j / span) * span * radix + k;
      for (int q = 0; q < radix; ++q) dst[base + q * span] = out[q];
    }
    std::swap(src, dst);
  }
  if (src != data)
    for (int i = 0; i < n_; ++i) data[i] = src[i];
}

PowerSpectrum::PowerSpectrum(int n) : n_(n), half_(n / 2), packed_(n / 2), unpack_twiddles_(n / 2 + 1) {
  assert(n % 2 == 0);
  for (int k = 0; k <= n / 2; ++k) unpack_twiddles_[k] = UnitRoot(k, n);
}

void PowerSpectrum::Compute(const float* frame, const double* window, double* out) {
  const int h = n_ / 2;
  for (int m = 0; m < h; ++m)
    packed_[m] = cd(window[2 * m] * frame[2 * m], window[2 * m + 1] * frame[2 * m + 1]);
  half_.Forward(packed_.data());
  // X[k] = E[k] + W^k O[k] with E, O the spectra of the even and odd samples, recovered from
  // Z[k] and conj(Z[h - k]) (Z[h] wraps to Z[0]).
  for (int k = 0; k <= h; ++k) {
    const cd zk = packed_[k % h];
    const cd zc = std::conj(packed_[(h - k) % h]);
    const cd even = 0.5 * (zk + zc);
    const cd diff = 0.5 * (zk - zc);
    const cd odd(diff.imag(), -diff.real());  // diff / i
    const cd x = even + unpack_twiddles_[k] * odd;
    out[k] = x.real() * x.real() + x.imag() * x.imag();
  }
}

}  // namespace wisp
