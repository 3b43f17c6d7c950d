// Resampling to 16 kHz keeps frequency, amplitude and duration; streaming changes nothing.
#include "audio/resampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace wisp {
namespace {

std::vector<float> Sine(double rate, double hz, double amplitude, size_t n) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>(amplitude * std::sin(2 * M_PI * hz * i / rate));
  return x;
}

std::vector<float> ResampleInChunks(double rate, const std::vector<float>& in, size_t max_chunk, uint32_t seed) {
  Result<std::unique_ptr<Resampler>> r = Resampler::Create(rate);
  EXPECT_TRUE(r.ok()) << r.status().message();
  std::vector<float> out;
  SampleSink sink = [&](const float* p, size_t n) { out.insert(out.end(), p, p + n); };
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> chunk(1, max_chunk);
  for (size_t pos = 0; pos < in.size();) {
    const size_t n = std::min(chunk(rng), in.size() - pos);
    EXPECT_TRUE((*r)->Push(in.data() + pos, n, sink).ok());
    pos += n;
  }
  EXPECT_TRUE((*r)->Finish(sink).ok());
  return out;
}

// Amplitude and phase-free fit of a sinusoid of frequency hz over x[from, to), plus the share
// of the signal's energy the fit explains (1 = a pure tone at exactly that frequency).
struct ToneFit {
  double amplitude;
  double explained;
};
ToneFit FitTone(const std::vector<float>& x, double rate, double hz, size_t from, size_t to) {
  double s = 0, c = 0, energy = 0;
  for (size_t i = from; i < to; ++i) {
    s += x[i] * std::sin(2 * M_PI * hz * i / rate);
    c += x[i] * std::cos(2 * M_PI * hz * i / rate);
    energy += static_cast<double>(x[i]) * x[i];
  }
  const double n = static_cast<double>(to - from);
  const double amplitude = 2 * std::sqrt(s * s + c * c) / n;
  return {amplitude, (amplitude * amplitude / 2) / (energy / n)};
}

int ZeroCrossings(const std::vector<float>& x, size_t from, size_t to) {
  int crossings = 0;
  for (size_t i = from + 1; i < to; ++i) crossings += (x[i - 1] < 0) != (x[i] < 0);
  return crossings;
}

class ResampleRate : public ::testing::TestWithParam<double> {};

TEST_P(ResampleRate, KeepsFrequencyAmplitudeAndLength) {
  const double rate = GetParam();
  const double hz = 440.0, amplitude = 0.5;
  const size_t n_in = static_cast<size_t>(rate * 2);  // 2 s
  const std::vector<float> out = ResampleInChunks(rate, Sine(rate, hz, amplitude, n_in), 4096, 1);
  EXPECT_NEAR(static_cast<double>(out.size()), 32000.0, 3.0);
  // Middle 1.5 s, away from the filter's start-up and tail.
  const ToneFit fit = FitTone(out, 16000, hz, 4000, 28000);
  EXPECT_NEAR(fit.amplitude, amplitude, 0.005);
  EXPECT_GT(fit.explained, 0.999);
  // 440 Hz over 1.5 s: 660 periods, two zero crossings each.
  EXPECT_NEAR(ZeroCrossings(out, 4000, 28000), 1320, 2);
}

INSTANTIATE_TEST_SUITE_P(Rates, ResampleRate, ::testing::Values(8000.0, 22050.0, 44100.0, 48000.0),
                         [](const auto& info) { return std::to_string(static_cast<int>(info.param)); });

TEST(Resampler, StreamingChunkSizesDoNotChangeTheOutput) {
  const std::vector<float> in = Sine(44100, 1000, 0.3, 44100);
  const std::vector<float> a = ResampleInChunks(44100, in, 7, 2);
  const std::vector<float> b = ResampleInChunks(44100, in, 100000, 3);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-6f) << i;
}

TEST(Resampler, Identity16k) {
  Result<std::unique_ptr<Resampler>> r = Resampler::Create(16000);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)->is_identity());
  const std::vector<float> in = {0.1f, -0.2f, 0.3f};
  std::vector<float> out;
  SampleSink sink = [&](const float* p, size_t n) { out.insert(out.end(), p, p + n); };
  ASSERT_TRUE((*r)->Push(in.data(), in.size(), sink).ok());
  ASSERT_TRUE((*r)->Finish(sink).ok());
  EXPECT_EQ(out, in);
}

TEST(Resampler, RemovesContentAboveNewNyquist) {
  // 10 kHz at 44.1 kHz cannot exist at 16 kHz: it must be filtered out, not aliased to 6 kHz.
  const std::vector<float> out = ResampleInChunks(44100, Sine(44100, 10000, 0.5, 44100), 4096, 4);
  double energy = 0;
  for (size_t i = 2000; i < 14000; ++i) energy += static_cast<double>(out[i]) * out[i];
  EXPECT_LT(std::sqrt(energy / 12000), 1e-3);
}

TEST(Resampler, RejectsImpossibleRates) {
  EXPECT_EQ(Resampler::Create(0).status().kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(Resampler::Create(-44100).status().kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(Resampler::Create(1e12).status().kind(), ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace wisp
