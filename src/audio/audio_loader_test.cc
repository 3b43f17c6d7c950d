// The front door: WAV and ffmpeg paths, stdin, errors, decode -> mel streaming.
#include "audio/audio_loader.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <random>

#include "audio/ffmpeg_decoder.h"
#include "audio/mel_filters.h"
#include "audio/wav.h"
#include "audio/wav_test_util.h"

namespace wisp {
namespace {

using testing::HaveCommand;
using testing::ScratchDir;
using testing::WriteFile;

// 2 s of a 440 Hz + 1234 Hz mixture with a little noise, interleaved stereo 16-bit.
std::vector<int16_t> TestTone(int rate, int channels, size_t frames) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> noise(-300, 300);
  std::vector<int16_t> x(frames * channels);
  for (size_t i = 0; i < frames; ++i)
    for (int c = 0; c < channels; ++c) {
      const double t = static_cast<double>(i) / rate;
      const double v = 9000 * std::sin(2 * M_PI * 440 * t) + (c + 1) * 3000 * std::sin(2 * M_PI * 1234 * t);
      x[i * channels + c] = static_cast<int16_t>(std::lround(v) + noise(rng));
    }
  return x;
}

int RunQuietly(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()); }

// Best normalised cross-correlation of b against a over lags in [-max_lag, max_lag] (codecs
// may shift the signal by their encoder delay).
double BestCorrelation(const std::vector<float>& a, const std::vector<float>& b, int max_lag) {
  double best = -1;
  for (int lag = -max_lag; lag <= max_lag; ++lag) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 2000; i + 2000 < a.size(); ++i) {
      const int64_t j = static_cast<int64_t>(i) + lag;
      if (j < 0 || j >= static_cast<int64_t>(b.size())) continue;
      ab += a[i] * b[j];
      aa += a[i] * a[i];
      bb += b[j] * b[j];
    }
    if (aa > 0 && bb > 0) best = std::max(best, ab / std::sqrt(aa * bb));
  }
  return best;
}

TEST(DecodeAudio, Wav16kIsDeliveredUnchanged) {
  const std::vector<int16_t> pcm = TestTone(16000, 1, 16000);
  const std::string path = WriteFile("mono16k.wav", testing::Pcm16Wav(pcm, 1, 16000));
  Result<std::vector<float>> samples = LoadAudio16k(path);
  ASSERT_TRUE(samples.ok()) << samples.status().message();
  ASSERT_EQ(samples->size(), pcm.size());
  for (size_t i = 0; i < pcm.size(); ++i) ASSERT_EQ((*samples)[i], pcm[i] / 32768.0f);
}

TEST(DecodeAudio, Wav44kStereoIsResampledTo16k) {
  const std::string path = WriteFile("stereo44k.wav", testing::Pcm16Wav(TestTone(44100, 2, 88200), 2, 44100));
  Result<std::vector<float>> samples = LoadAudio16k(path);
  ASSERT_TRUE(samples.ok()) << samples.status().message();
  EXPECT_NEAR(static_cast<double>(samples->size()), 32000.0, 3.0);
}

TEST(DecodeAudio, MissingFileIsNotFoundNamingThePath) {
  Status st = DecodeAudio("/no/such/dir/speech.mp3", [](const float*, size_t) {});
  EXPECT_EQ(st.kind(), ErrorKind::kNotFound);
  EXPECT_NE(st.message().find("/no/such/dir/speech.mp3"), std::string::npos) << st.message();
}

TEST(DecodeAudio, EmptyRecordingIsZeroSamplesNotAnError) {
  const std::string path = WriteFile("empty.wav", testing::Pcm16Wav({}, 1, 16000));
  Result<std::vector<float>> samples = LoadAudio16k(path);
  ASSERT_TRUE(samples.ok()) << samples.status().message();
  EXPECT_TRUE(samples->empty());
  Result<LogMelSpectrogram> mel = ComputeLogMelFromFile(path, nullptr, 80);
  ASSERT_TRUE(mel.ok()) << mel.status().message();
  EXPECT_EQ(mel->content_frames(), 0);
  EXPECT_EQ(mel->total_frames(), kWindowFrames);
}

TEST(DecodeAudio, ZeroByteFileIsBadInput) {
  const std::string path = WriteFile("zero.bin", {});
  Status st = DecodeAudio(path, [](const float*, size_t) {});
  EXPECT_EQ(st.kind(), ErrorKind::kBadInput);
  EXPECT_NE(st.message().find("is empty"), std::string::npos) << st.message();
}

TEST(DecodeAudio, BrokenWavNamesFileAndProblem) {
  std::vector<uint8_t> wav = testing::Pcm16Wav({1, 2}, 1, 16000);
  wav[22] = 0;  // zero channels
  const std::string path = WriteFile("broken.wav", wav);
  Status st = DecodeAudio(path, [](const float*, size_t) {});
  EXPECT_EQ(st.kind(), ErrorKind::kBadInput);
  EXPECT_NE(st.message().find("broken.wav"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("zero channels"), std::string::npos) << st.message();
}

TEST(DecodeAudio, NonAudioFile) {
  const std::string text = "this is not audio at all, just some text\n";
  const std::string path = WriteFile("notes.txt", std::vector<uint8_t>(text.begin(), text.end()));
  Status st = DecodeAudio(path, [](const float*, size_t) {});
  ASSERT_FALSE(st.ok());
  if (FfmpegAvailable()) {
    EXPECT_EQ(st.kind(), ErrorKind::kBadInput) << st.message();
    EXPECT_NE(st.message().find("notes.txt"), std::string::npos) << st.message();
  } else {
    EXPECT_NE(st.message().find("unsupported audio format (not WAV) and wisp was built without ffmpeg"),
              std::string::npos) << st.message();
  }
}

TEST(DecodeAudio, StdinIsReadLikeAFile) {
  const std::vector<int16_t> pcm = TestTone(22050, 1, 22050);
  const std::string path = WriteFile("stdin.wav", testing::Pcm16Wav(pcm, 1, 22050));
  Result<std::vector<float>> from_file = LoadAudio16k(path);
  ASSERT_TRUE(from_file.ok());
  const int saved = ::dup(STDIN_FILENO);
  const int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ::dup2(fd, STDIN_FILENO);
  ::close(fd);
  Result<std::vector<float>> from_stdin = LoadAudio16k("-");
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  ASSERT_TRUE(from_stdin.ok()) << from_stdin.status().message();
  EXPECT_EQ(*from_stdin, *from_file);
}

TEST(ComputeLogMelFromFile, EqualsBuilderOverDecodedSamples) {
  const std::string path = WriteFile("mel.wav", testing::Pcm16Wav(TestTone(8000, 1, 20000), 1, 8000));
  Result<std::vector<float>> samples = LoadAudio16k(path);
  ASSERT_TRUE(samples.ok());
  const std::vector<float> filters = SlaneyMelFilterbank(kSampleRate, kNFft, 80);
  LogMelBuilder builder(filters.data(), 80);
  builder.Push(samples->data(), samples->size());
  const LogMelSpectrogram expected = builder.Finish();
  for (const float* f : {filters.data(), static_cast<const float*>(nullptr)}) {
    Result<LogMelSpectrogram> mel = ComputeLogMelFromFile(path, f, 80);
    ASSERT_TRUE(mel.ok()) << mel.status().message();
    ASSERT_EQ(mel->content_frames(), samples->size() / kHopLength);
    for (int64_t t = 0; t < mel->total_frames(); t += 7) ASSERT_EQ(mel->At(11, t), expected.At(11, t));
  }
}

// ------------------------------------------------------------------ through ffmpeg

class FfmpegFormats : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!FfmpegAvailable()) GTEST_SKIP() << "wisp built without ffmpeg";
    if (!HaveCommand("ffmpeg")) GTEST_SKIP() << "the ffmpeg command is not installed";
    wav_path_ = WriteFile("source.wav", testing::Pcm16Wav(TestTone(44100, 2, 88200), 2, 44100));
    Result<std::vector<float>> reference = LoadAudio16k(wav_path_);
    ASSERT_TRUE(reference.ok()) << reference.status().message();
    reference_ = *reference;
  }
  // Encodes the source WAV with ffmpeg arguments and decodes the result.
  std::vector<float> EncodeAndDecode(const std::string& name, const std::string& args) {
    const std::string out = ScratchDir() + "/" + name;
    EXPECT_EQ(RunQuietly("ffmpeg -nostdin -loglevel error -y -i " + wav_path_ + " " + args + " " + out), 0) << args;
    Result<std::vector<float>> decoded = LoadAudio16k(out);
    EXPECT_TRUE(decoded.ok()) << decoded.status().message();
    return decoded.ok() ? *decoded : std::vector<float>{};
  }
  std::string wav_path_;
  std::vector<float> reference_;
};

TEST_F(FfmpegFormats, FlacIsSampleExact) {
  const std::vector<float> flac = EncodeAndDecode("t.flac", "-c:a flac");
  ASSERT_EQ(flac.size(), reference_.size());
  for (size_t i = 0; i < flac.size(); ++i) ASSERT_EQ(flac[i], reference_[i]) << i;
}

TEST_F(FfmpegFormats, LossyCodecsKeepTheSignal) {
  for (const auto& [name, args] : std::vector<std::pair<std::string, std::string>>{
           {"t.mp3", "-c:a libmp3lame -b:a 128k"}, {"t.ogg", "-c:a libvorbis"},
           {"t.opus", "-c:a libopus -b:a 96k"}, {"t.m4a", "-c:a aac"}}) {
    const std::vector<float> decoded = EncodeAndDecode(name, args);
    if (decoded.empty()) continue;  // failure already reported
    EXPECT_NEAR(static_cast<double>(decoded.size()), static_cast<double>(reference_.size()), 1600) << name;
    EXPECT_GT(BestCorrelation(reference_, decoded, 1200), 0.99) << name;
  }
}

TEST_F(FfmpegFormats, AdpcmWavFallsBackToFfmpeg) {
  const std::vector<float> adpcm = EncodeAndDecode("adpcm.wav", "-c:a adpcm_ms");
  EXPECT_GT(BestCorrelation(reference_, adpcm, 50), 0.99);
}

TEST_F(FfmpegFormats, AudioTrackOfAVideo) {
  const std::string out = ScratchDir() + "/clip.mkv";
  ASSERT_EQ(RunQuietly("ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc=size=32x32:rate=5:duration=2 -i " +
                wav_path_ + " -c:v mpeg4 -c:a flac " + out), 0);
  Result<std::vector<float>> decoded = LoadAudio16k(out);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  ASSERT_EQ(decoded->size(), reference_.size());
  for (size_t i = 0; i < decoded->size(); ++i) ASSERT_EQ((*decoded)[i], reference_[i]) << i;

  const std::string silent = ScratchDir() + "/silent.mkv";
  ASSERT_EQ(RunQuietly("ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc=size=32x32:rate=5:duration=1 -c:v mpeg4 " + silent), 0);
  Status st = DecodeAudio(silent, [](const float*, size_t) {});
  EXPECT_EQ(st.kind(), ErrorKind::kBadInput);
  EXPECT_NE(st.message().find("no audio stream"), std::string::npos) << st.message();
}

TEST_F(FfmpegFormats, CorruptDataIsAnError) {
  // An mp3 header followed by garbage: ffmpeg recognises nothing decodable.
  std::vector<uint8_t> junk = {'I', 'D', '3', 3, 0, 0, 0, 0, 0, 0};
  std::mt19937 rng(1);
  for (int i = 0; i < 2000; ++i) junk.push_back(static_cast<uint8_t>(rng()));
  Status st = DecodeAudio(WriteFile("junk.mp3", junk), [](const float*, size_t) {});
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("junk.mp3"), std::string::npos) << st.message();
}

TEST(Espeak, SynthesisedSpeechAt22kHz) {
  if (!HaveCommand("espeak-ng")) GTEST_SKIP() << "espeak-ng is not installed";
  const std::string path = ScratchDir() + "/speech.wav";
  ASSERT_EQ(RunQuietly("espeak-ng -w " + path + " \"And so my fellow Americans, ask not what your country can do for you\""), 0);
  Result<WavAudio> wav = ReadWavFile(path);
  ASSERT_TRUE(wav.ok()) << wav.status().message();
  EXPECT_EQ(wav->sample_rate, 22050);
  Result<std::vector<float>> samples = LoadAudio16k(path);
  ASSERT_TRUE(samples.ok()) << samples.status().message();
  EXPECT_NEAR(static_cast<double>(samples->size()), wav->samples.size() * 16000.0 / 22050.0, 3.0);
  double energy = 0;
  for (float v : *samples) energy += static_cast<double>(v) * v;
  EXPECT_GT(std::sqrt(energy / samples->size()), 0.01);  // speech, not silence
}

}  // namespace
}  // namespace wisp
