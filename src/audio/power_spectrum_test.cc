// The FFT and the mel filterbank against direct definitions and against mel_filters.npz.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <random>

#include "audio/mel.h"
#include "audio/mel_filters.h"
#include "audio/power_spectrum.h"
#include "audio/testdata/mel_expected.inc"

namespace wisp {
namespace {

using cd = std::complex<double>;

std::vector<cd> NaiveDft(const std::vector<cd>& x) {
  const size_t n = x.size();
  std::vector<cd> out(n);
  for (size_t k = 0; k < n; ++k) {
    cd acc = 0.0;
    for (size_t j = 0; j < n; ++j) acc += x[j] * std::polar(1.0, -2.0 * M_PI * static_cast<double>((k * j) % n) / n);
    out[k] = acc;
  }
  return out;
}

TEST(ComplexFft, MatchesDirectDftForMixedRadixSizes) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (int n : {1, 2, 3, 4, 5, 8, 12, 25, 60, 200, 400, 480}) {
    std::vector<cd> x(n);
    for (cd& v : x) v = cd(u(rng), u(rng));
    const std::vector<cd> expected = NaiveDft(x);
    ComplexFft fft(n);
    fft.Forward(x.data());
    for (int k = 0; k < n; ++k) {
      EXPECT_NEAR(x[k].real(), expected[k].real(), 1e-10) << "n=" << n << " k=" << k;
      EXPECT_NEAR(x[k].imag(), expected[k].imag(), 1e-10) << "n=" << n << " k=" << k;
    }
  }
}

TEST(PowerSpectrum, MatchesWindowedDirectDftAt400) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> frame(kNFft);
  for (float& v : frame) v = u(rng);
  const std::vector<double> window = PeriodicHannWindow(kNFft);
  std::vector<cd> windowed(kNFft);
  for (int i = 0; i < kNFft; ++i) windowed[i] = window[i] * frame[i];
  const std::vector<cd> dft = NaiveDft(windowed);

  PowerSpectrum spectrum(kNFft);
  ASSERT_EQ(spectrum.bins(), 201);
  std::vector<double> power(spectrum.bins());
  spectrum.Compute(frame.data(), window.data(), power.data());
  for (int k = 0; k <= kNFft / 2; ++k) EXPECT_NEAR(power[k], std::norm(dft[k]), 1e-9 * (1 + std::norm(dft[k]))) << k;
}

TEST(PowerSpectrum, HannWindowIsTorchPeriodic) {
  const std::vector<double> w = PeriodicHannWindow(kNFft);
  EXPECT_EQ(w[0], 0.0);
  EXPECT_NEAR(w[200], 1.0, 1e-15);  // periodic: the peak is at n/2, and w[n-1] != 0
  EXPECT_NEAR(w[100], 0.5, 1e-15);
  EXPECT_NEAR(w[399], 0.5 - 0.5 * std::cos(2 * M_PI * 399 / 400), 1e-15);
}

void ExpectFilterbank(const mel_expected::FilterbankCase& expected) {
  const std::vector<float> w = SlaneyMelFilterbank(kSampleRate, kNFft, expected.n_mels);
  ASSERT_EQ(w.size(), static_cast<size_t>(expected.n_mels) * 201);
  int nonzeros = 0;
  double sum = 0, sum_sq = 0, index_weighted = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    nonzeros += w[i] != 0.0f;
    sum += w[i];
    sum_sq += static_cast<double>(w[i]) * w[i];
    index_weighted += w[i] * static_cast<double>(i + 1);
  }
  EXPECT_EQ(nonzeros, expected.nonzeros);
  EXPECT_NEAR(sum, expected.sum, 1e-6);
  EXPECT_NEAR(sum_sq, expected.sum_sq, 1e-6);
  EXPECT_NEAR(index_weighted, expected.index_weighted, 1e-4);  // sum of ~400 terms up to 2.6e4 * 0.03
  for (int i = 0; i < expected.n_entries; ++i) {
    const auto& e = expected.entries[i];
    EXPECT_NEAR(w[static_cast<size_t>(e.row) * 201 + e.col], e.value, 1e-6) << e.row << "," << e.col;
  }
}

TEST(SlaneyMelFilterbank, MatchesWhisperMelFilters80) { ExpectFilterbank(mel_expected::kFilters80); }
TEST(SlaneyMelFilterbank, MatchesWhisperMelFilters128) { ExpectFilterbank(mel_expected::kFilters128); }

TEST(SlaneyMelFilterbank, MelScaleIsLinearBelow1kHzAndLogAbove) {
  EXPECT_NEAR(HzToSlaneyMel(1000.0), 15.0, 1e-12);
  EXPECT_NEAR(HzToSlaneyMel(500.0), 7.5, 1e-12);
  EXPECT_NEAR(HzToSlaneyMel(6400.0), 15.0 + 27.0, 1e-9);  // 27 mels per factor 6.4
  for (double hz : {0.0, 123.0, 999.0, 1000.0, 4321.0, 8000.0})
    EXPECT_NEAR(SlaneyMelToHz(HzToSlaneyMel(hz)), hz, 1e-9);
}

TEST(SparseMelFilterbank, EqualsDenseProduct) {
  const std::vector<float> w = SlaneyMelFilterbank(kSampleRate, kNFft, 80);
  SparseMelFilterbank sparse(w.data(), 80, 201);
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0.0, 10.0);
  std::vector<double> power(201);
  for (double& p : power) p = u(rng);
  power[5] = 0;
  std::vector<float> out(80);
  sparse.ApplyLog10(power.data(), out.data());
  for (int m = 0; m < 80; ++m) {
    double dense = 0;
    for (int k = 0; k < 201; ++k) dense += w[m * 201 + k] * power[k];
    EXPECT_FLOAT_EQ(out[m], static_cast<float>(std::log10(std::max(dense, 1e-10))));
  }
  std::vector<double> silence(201, 0.0);
  sparse.ApplyLog10(silence.data(), out.data());
  EXPECT_EQ(out[0], -10.0f);  // clamp(min=1e-10) before log10
}

}  // namespace
}  // namespace wisp
