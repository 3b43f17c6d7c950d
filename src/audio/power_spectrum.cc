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

// a * b written out: std::complex's operator* checks every product for NaN and would call
// __muldc3 to recover infinities, a branch per multiply in the FFT's innermost loop.
inline cd Mul(cd a, cd b) {
  return cd(a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real());
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
    case 5: {
      // The symmetric form: with w = exp(-2 pi i / 5), out[q] and out[5 - q] share the real
      // parts' sums and differ in the sign of the imaginary ones; 12 real multiplies, not 100.
      const double c1 = roots[1].real(), s1 = roots[1].imag(), c2 = roots[2].real(), s2 = roots[2].imag();
      const cd a1 = v[1] + v[4], b1 = v[1] - v[4];
      const cd a2 = v[2] + v[3], b2 = v[2] - v[3];
      const cd re1 = v[0] + c1 * a1 + c2 * a2;
      const cd re2 = v[0] + c2 * a1 + c1 * a2;
      // i * (s1 b1 + s2 b2) and i * (s2 b1 - s1 b2): (x + iy) * i = -y + ix.
      const cd m1 = s1 * b1 + s2 * b2, m2 = s2 * b1 - s1 * b2;
      const cd im1(-m1.imag(), m1.real()), im2(-m2.imag(), m2.real());
      out[0] = v[0] + a1 + a2;
      out[1] = re1 + im1;
      out[4] = re1 - im1;
      out[2] = re2 + im2;
      out[3] = re2 - im2;
      return;
    }
    default: {
      for (int q = 0; q < radix; ++q) {
        cd acc = 0.0;
        for (int r = 0; r < radix; ++r) acc += Mul(v[r], roots[(q * r) % radix]);
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
    // j = g * span + k: butterfly j reads src[j + r * stride] and writes
    // dst[g * span * radix + k + q * span]. The first of each group (k = 0) has unit twiddles.
    for (int g = 0; g * span < stride; ++g) {
      for (int k = 0; k < span; ++k) {
        const int j = g * span + k;
        const cd* tw = &stage.twiddles[static_cast<size_t>(k) * radix];
        if (k == 0) {
          for (int r = 0; r < radix; ++r) v[r] = src[j + r * stride];
        } else {
          for (int r = 0; r < radix; ++r) v[r] = Mul(src[j + r * stride], tw[r]);
        }
        SmallDft(radix, stage.roots.data(), v, out);
        cd* to = dst + g * span * radix + k;
        for (int q = 0; q < radix; ++q) to[q * span] = out[q];
      }
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
    const cd x = even + Mul(unpack_twiddles_[k], odd);
    out[k] = x.real() * x.real() + x.imag() * x.imag();
  }
}

}  // namespace wisp
