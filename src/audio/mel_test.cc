// LogMelBuilder against numpy re-computations of openai-whisper's log_mel_spectrogram
// (testdata/make_mel_expected.py), plus the streaming, padding and windowing contracts.
#include "audio/mel.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

#include "audio/mel_filters.h"
#include "audio/testdata/mel_expected.inc"
#include "audio/wav.h"

namespace wisp {
namespace {

// Same formula as synthetic_signal() in make_mel_expected.py.
std::vector<float> SyntheticSignal() {
  const int n = mel_expected::kSynthSamples;
  const double duration = static_cast<double>(n) / kSampleRate;
  std::vector<float> x(n);
  uint64_t state = 12345;
  for (int i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / kSampleRate;
    const double chirp = 0.3 * std::sin(2 * M_PI * (100.0 * t + (4000.0 - 100.0) * t * t / (2 * duration)));
    const double tones = 0.2 * std::sin(2 * M_PI * 440.0 * t) + 0.1 * std::sin(2 * M_PI * 1000.0 * t + 0.5);
    state = (state * 1103515245 + 12345) % (1ull << 31);
    const double noise = (static_cast<double>(state) / static_cast<double>(1ull << 31) - 0.5) * 0.02;
    x[i] = (i >= 16000 && i < 20000) ? 0.0f : static_cast<float>(chirp + tones + noise);
  }
  return x;
}

LogMelSpectrogram MelOf(const std::vector<float>& audio, int n_mels) {
  const std::vector<float> filters = SlaneyMelFilterbank(kSampleRate, kNFft, n_mels);
  LogMelBuilder builder(filters.data(), n_mels);
  builder.Push(audio.data(), audio.size());
  return builder.Finish();
}

void ExpectMatches(const LogMelSpectrogram& mel, const mel_expected::MelCase& expected) {
  ASSERT_EQ(mel.n_mels(), expected.n_mels);
  ASSERT_EQ(mel.total_frames(), expected.total_frames);
  ASSERT_EQ(mel.content_frames(), expected.content_frames);
  double mn = 1e9, mx = -1e9, content_sum = 0, all_sum = 0;
  for (int64_t f = 0; f < mel.total_frames(); ++f)
    for (int m = 0; m < mel.n_mels(); ++m) {
      const float v = mel.At(m, f);
      all_sum += v;
      if (f < mel.content_frames()) {
        mn = std::min<double>(mn, v);
        mx = std::max<double>(mx, v);
        content_sum += v;
      }
    }
  EXPECT_NEAR(mn, expected.content_min, 1e-4);
  EXPECT_NEAR(mx, expected.content_max, 1e-4);
  EXPECT_NEAR(content_sum / (mel.content_frames() * mel.n_mels()), expected.content_mean, 1e-5);
  EXPECT_NEAR(all_sum / (mel.total_frames() * mel.n_mels()), expected.all_mean, 1e-5);
  // The global max of the unscaled log mel shows up as the top of the final scale.
  EXPECT_NEAR(mx, (expected.log_max + 4.0) / 4.0, 1e-4);
  double worst = 0;
  for (int i = 0; i < expected.n_samples; ++i) {
    const auto& s = expected.samples[i];
    const double diff = std::abs(mel.At(s.mel, s.frame) - s.value);
    worst = std::max(worst, diff);
    EXPECT_NEAR(mel.At(s.mel, s.frame), s.value, 1e-4) << "mel " << s.mel << " frame " << s.frame;
  }
  char worst_text[32];
  std::snprintf(worst_text, sizeof worst_text, "%.3g", worst);
  ::testing::Test::RecordProperty("worst_sample_diff", worst_text);
}

TEST(LogMel, SyntheticSignalMatchesWhisperAlgorithm80) {
  ExpectMatches(MelOf(SyntheticSignal(), 80), mel_expected::kSynth80);
}

TEST(LogMel, SyntheticSignalMatchesWhisperAlgorithm128) {
  ExpectMatches(MelOf(SyntheticSignal(), 128), mel_expected::kSynth128);
}

TEST(LogMel, JfkMatchesWhisperAlgorithm) {
  const std::string path = std::string(WISP_SHARED_DATA_DIR) + "/jfk.wav";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "shared test data absent: " << path;
  Result<WavAudio> wav = ReadWavFile(path);
  ASSERT_TRUE(wav.ok()) << wav.status().message();
  ASSERT_EQ(wav->sample_rate, 16000);
  ASSERT_EQ(static_cast<long>(wav->samples.size()), mel_expected::kJfkSamples);
  ExpectMatches(MelOf(wav->samples, 80), mel_expected::kJfk80);
}

TEST(LogMel, StreamingInRandomChunksEqualsOneBuffer) {
  const std::vector<float> audio = SyntheticSignal();
  const LogMelSpectrogram whole = MelOf(audio, 80);
  const std::vector<float> filters = SlaneyMelFilterbank(kSampleRate, kNFft, 80);
  LogMelBuilder builder(filters.data(), 80);
  std::mt19937 rng(5);
  for (int round = 0; round < 2; ++round) {  // the second round checks the builder resets
    std::uniform_int_distribution<size_t> chunk(0, round == 0 ? 7 : 5000);
    for (size_t pos = 0; pos < audio.size();) {
      const size_t n = std::min(chunk(rng), audio.size() - pos);
      builder.Push(audio.data() + pos, n);
      pos += n;
    }
    const LogMelSpectrogram streamed = builder.Finish();
    ASSERT_EQ(streamed.total_frames(), whole.total_frames());
    for (int64_t f = 0; f < whole.total_frames(); ++f)
      for (int m = 0; m < 80; ++m) ASSERT_EQ(streamed.At(m, f), whole.At(m, f)) << m << "," << f;
  }
}

TEST(LogMel, ContentFramesFollowWhisper) {
  // mel.shape[-1] - N_FRAMES, where shape[-1] = (n + 480000) // 160.
  const std::vector<float> filters = SlaneyMelFilterbank(kSampleRate, kNFft, 80);
  for (auto [n, expected] : std::vector<std::pair<size_t, int64_t>>{
           {0, 0}, {1, 0}, {159, 0}, {160, 1}, {480000, 3000}, {480001, 3000}}) {
    LogMelBuilder builder(filters.data(), 80);
    std::vector<float> audio(n, 0.25f);
    builder.Push(audio.data(), audio.size());
    const LogMelSpectrogram mel = builder.Finish();
    EXPECT_EQ(mel.content_frames(), expected) << "samples " << n;
    EXPECT_EQ(mel.total_frames(), expected + kWindowFrames) << "samples " << n;
  }
}

TEST(LogMel, EmptyAudioIsAllFloor) {
  const std::vector<float> filters = SlaneyMelFilterbank(kSampleRate, kNFft, 80);
  const LogMelSpectrogram mel = LogMelBuilder(filters.data(), 80).Finish();
  EXPECT_EQ(mel.content_frames(), 0);
  // log10(1e-10) = -10 everywhere, so the max is -10 and every value is (-10 + 4) / 4.
  EXPECT_FLOAT_EQ(mel.At(0, 0), -1.5f);
  EXPECT_FLOAT_EQ(mel.At(79, 2999), -1.5f);
}

TEST(LogMel, WindowSlicesThenPadsWithZeros) {
  const LogMelSpectrogram mel = MelOf(SyntheticSignal(), 80);  // 3300 frames, 300 of content
  std::vector<float> window(80 * kWindowFrames, 123.0f);
  // Like transcribe(): mel[:, seek:seek+segment_size] then pad_or_trim to 3000 with zeros.
  mel.Window(100, 200, window.data());
  for (int m = 0; m < 80; m += 7) {
    for (int f = 0; f < 200; ++f) ASSERT_EQ(window[m * kWindowFrames + f], mel.At(m, 100 + f));
    for (int f = 200; f < kWindowFrames; ++f) ASSERT_EQ(window[m * kWindowFrames + f], 0.0f);
  }
  // count beyond 3000 is trimmed; a slice running past the end is clipped, then padded.
  mel.Window(0, 5000, window.data());
  for (int f = 0; f < kWindowFrames; ++f) ASSERT_EQ(window[3 * kWindowFrames + f], mel.At(3, f));
  mel.Window(3200, 3000, window.data());
  for (int f = 0; f < 100; ++f) ASSERT_EQ(window[5 * kWindowFrames + f], mel.At(5, 3200 + f));
  for (int f = 100; f < kWindowFrames; ++f) ASSERT_EQ(window[5 * kWindowFrames + f], 0.0f);
  mel.Window(4000, 10, window.data());
  for (float v : window) ASSERT_EQ(v, 0.0f);
}

TEST(LogMel, TenMinutesIsFastAndStoresOnlyMelColumns) {
  // 10 min of audio; an hour is 6x this. Reported, not asserted: the machine is shared.
  const std::vector<float> filters = SlaneyMelFilterbank(kSampleRate, kNFft, 80);
  LogMelBuilder builder(filters.data(), 80);
  std::vector<float> chunk(kSampleRate);
  std::mt19937 rng(1);
  std::normal_distribution<float> g(0.0f, 0.1f);
  for (float& v : chunk) v = g(rng);
  const auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < 600; ++s) builder.Push(chunk.data(), chunk.size());
  const LogMelSpectrogram mel = builder.Finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(mel.content_frames(), 60000);
  RecordProperty("seconds_for_10_min", std::to_string(seconds));
  std::printf("log-mel of 10 min of audio: %.2f s\n", seconds);
}

}  // namespace
}  // namespace wisp
