// Hostile audio through the front door (issue 11): one small hand-made file per class of
// damage, each asserting the exact message the user sees (kind, file name and problem), or for
// the one repaired class the exact warning and the samples kept. The files are written by the
// test itself (a few hundred bytes each; the same bytes seed fuzz/corpus/wav/hostile_*).
// scripts/test.sh runs this suite under ASan + UBSan as well.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "audio/audio_loader.h"
#include "audio/ffmpeg_decoder.h"
#include "audio/wav_test_util.h"

namespace wisp {
namespace {

using testing::FmtBody;
using testing::PutChunk;
using testing::PutU16;
using testing::PutU32;
using testing::RiffWave;
using testing::WriteFile;

std::vector<uint8_t> WavOf(const std::vector<uint8_t>& fmt, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> chunks;
  PutChunk(chunks, "fmt ", fmt);
  PutChunk(chunks, "data", data);
  return RiffWave(chunks);
}

std::vector<uint8_t> Pcm16Bytes(size_t n) {
  std::vector<uint8_t> data;
  for (size_t i = 0; i < n; ++i) PutU16(data, static_cast<uint16_t>((i * 977) & 0x3FFF));
  return data;
}

std::vector<uint8_t> Float32Bytes(const std::vector<float>& values) {
  std::vector<uint8_t> out;
  for (float v : values) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    PutU32(out, bits);
  }
  return out;
}

// Decodes path through DecodeAudio, counting samples and collecting warnings.
struct Outcome {
  Status status;
  size_t samples = 0;
  std::vector<std::string> warnings;
};
Outcome Decode(const std::string& path, double max_duration_seconds = 0) {
  Outcome out;
  AudioLoadOptions options;
  options.max_duration_seconds = max_duration_seconds;
  options.on_warning = [&](const std::string& m) { out.warnings.push_back(m); };
  out.status = DecodeAudio(path, [&](const float*, size_t n) { out.samples += n; }, options);
  return out;
}

void ExpectError(const std::string& name, const std::vector<uint8_t>& bytes, ErrorKind kind, const std::string& problem) {
  const std::string path = WriteFile(name, bytes);
  const Outcome out = Decode(path);
  ASSERT_FALSE(out.status.ok()) << name;
  EXPECT_EQ(out.status.kind(), kind) << out.status.message();
  EXPECT_EQ(out.status.message(), "'" + path + "': " + problem);
}

TEST(HostileAudio, SampleRateOf1HzIsRefusedAtOnce) {
  // Before: resampled into billions of samples (memory grew ~20 MB/s, no message).
  ExpectError("rate_1hz.wav", WavOf(FmtBody(1, 1, 1, 16), Pcm16Bytes(200)), ErrorKind::kBadInput,
              "sample rate 1 Hz is outside the supported range 1000-384000 Hz");
}

TEST(HostileAudio, SampleRateOf100HzIsRefused) {
  // Before: an 11-s file became half an hour of " . ." segments.
  ExpectError("rate_100hz.wav", WavOf(FmtBody(1, 1, 100, 16), Pcm16Bytes(200)), ErrorKind::kBadInput,
              "sample rate 100 Hz is outside the supported range 1000-384000 Hz");
}

TEST(HostileAudio, SampleRateAbove384kHzIsRefused) {
  ExpectError("rate_1mhz.wav", WavOf(FmtBody(1, 1, 1'000'000, 16), Pcm16Bytes(200)), ErrorKind::kBadInput,
              "sample rate 1000000 Hz is outside the supported range 1000-384000 Hz");
}

TEST(HostileAudio, SevenBitPcmIsAnErrorNotHandedToFfmpeg) {
  // Before: silently decoded by ffmpeg as something else and transcribed as invented text.
  std::vector<uint8_t> fmt = FmtBody(1, 1, 16000, 8);
  fmt[14] = 7;  // bits per sample 7 in an otherwise consistent 1-byte-per-sample header
  ExpectError("bits_7.wav", WavOf(fmt, std::vector<uint8_t>(400, 0x80)), ErrorKind::kBadInput,
              "bits per sample 7 not supported (integer PCM: 8, 16, 24, 32)");
}

TEST(HostileAudio, NaNFloatSampleIsAnError) {
  // Before: NaN read as 0; a file of them gave an empty transcript and exit 0.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  ExpectError("nan.wav", WavOf(FmtBody(3, 1, 16000, 32), Float32Bytes({0.1f, 0.2f, 0.3f, nan, 0.5f})),
              ErrorKind::kBadInput,
              "float sample 3 (0.000 s, channel 1) is NaN: WAV float samples must be finite and within +-10000 "
              "(full scale is +-1)");
}

TEST(HostileAudio, InfiniteFloatSampleIsAnError) {
  std::vector<float> samples(20000, 0.25f);
  samples[16000] = std::numeric_limits<float>::infinity();  // 1 s in
  ExpectError("inf.wav", WavOf(FmtBody(3, 1, 16000, 32), Float32Bytes(samples)), ErrorKind::kBadInput,
              "float sample 16000 (1.000 s, channel 1) is +inf: WAV float samples must be finite and within +-10000 "
              "(full scale is +-1)");
}

TEST(HostileAudio, HugeFloat64SampleIsAnError) {
  // Before: 1e300 was clamped to FLT_MAX and the mel overflowed: "- the - the" was transcribed.
  std::vector<uint8_t> f64;
  for (double v : {0.5, -0.5, 1e300}) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    PutU32(f64, static_cast<uint32_t>(bits));
    PutU32(f64, static_cast<uint32_t>(bits >> 32));
  }
  ExpectError("huge_f64.wav", WavOf(FmtBody(3, 1, 16000, 64), f64), ErrorKind::kBadInput,
              "float sample 2 (0.000 s, channel 1) is 1e+300: WAV float samples must be finite and within +-10000 "
              "(full scale is +-1)");
}

TEST(HostileAudio, TruncatedDataChunkIsDecodedWithAWarning) {
  // Chosen repair: a recorder that died before patching the header left real audio; the frames
  // present are decoded and the user is told what was missing.
  std::vector<uint8_t> file = WavOf(FmtBody(1, 1, 16000, 16), Pcm16Bytes(1600));
  const size_t data_size_at = 12 + 8 + 16 + 4;
  file[data_size_at + 0] = 0x80;  // claim 0xF480 = 62592 bytes (~2 s); 3200 follow
  file[data_size_at + 1] = 0xF4;
  file[data_size_at + 2] = 0x00;
  file[data_size_at + 3] = 0x00;
  const std::string path = WriteFile("truncated.wav", file);
  const Outcome out = Decode(path);
  ASSERT_TRUE(out.status.ok()) << out.status.message();
  EXPECT_EQ(out.samples, 1600u);
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_EQ(out.warnings[0], "'" + path +
                                 "': truncated WAV: the data chunk claims 62592 bytes but the file holds 3200; "
                                 "decoding the 0.10 s present");
}

TEST(HostileAudio, PartialLastFrameIsDroppedWithAWarning) {
  std::vector<uint8_t> chunks;
  PutChunk(chunks, "fmt ", FmtBody(1, 2, 16000, 16));
  PutChunk(chunks, "data", std::vector<uint8_t>(4 * 100 + 3, 0));  // 100 stereo frames and 3 bytes
  const std::string path = WriteFile("partial_frame.wav", RiffWave(chunks));
  const Outcome out = Decode(path);
  ASSERT_TRUE(out.status.ok()) << out.status.message();
  EXPECT_EQ(out.samples, 100u);
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_EQ(out.warnings[0],
            "'" + path + "': truncated WAV: the last 3 bytes of the data chunk are not a whole 4-byte frame; ignored");
}

TEST(HostileAudio, MaxDurationIsCheckedFromTheHeaderBeforeDecoding) {
  // 1000 frames at 1 kHz are 16000 samples at 16 kHz: 1 s, over a 0.5-s limit. Nothing reaches
  // the sink: the refusal comes from the header's frame count alone.
  const std::string path = WriteFile("one_second_1khz.wav", WavOf(FmtBody(1, 1, 1000, 16), Pcm16Bytes(1000)));
  const Outcome over = Decode(path, 0.5);
  EXPECT_EQ(over.status.kind(), ErrorKind::kBadInput);
  EXPECT_EQ(over.status.message(), "'" + path + "': 1.0 s of audio exceeds the maximum duration of 0.5 s");
  EXPECT_EQ(over.samples, 0u);
  const Outcome within = Decode(path, 1.0);
  ASSERT_TRUE(within.status.ok()) << within.status.message();
  EXPECT_EQ(within.samples, 16000u);
  const Outcome negative = Decode(path, -1);
  EXPECT_EQ(negative.status.kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(negative.status.message(), "maximum audio duration must be 0 (unlimited) or positive, got -1.000000");
}

TEST(HostileAudio, ResampledLengthIsExact) {
  EXPECT_EQ(ResampledLength(1000, 1000), 16000u);
  EXPECT_EQ(ResampledLength(44100, 44100), 16000u);
  EXPECT_EQ(ResampledLength(1, 44100), 0u);  // round(0.36)
  EXPECT_EQ(ResampledLength(std::numeric_limits<uint64_t>::max(), 1000), std::numeric_limits<uint64_t>::max());
}

// ------------------------------------------------------------------ files ffmpeg decodes

// A Sun .au file of big-endian float samples: not a WAV, so it exercises the same rules on the
// ffmpeg path without needing the ffmpeg command (ffmpeg's libraries read it).
std::vector<uint8_t> AuFloat32(uint32_t rate, const std::vector<float>& samples) {
  std::vector<uint8_t> b;
  auto be32 = [&b](uint32_t v) {
    for (int i = 3; i >= 0; --i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  b.insert(b.end(), {'.', 's', 'n', 'd'});
  be32(24);                                          // header size
  be32(static_cast<uint32_t>(4 * samples.size()));  // data size
  be32(6);                                           // 32-bit IEEE float
  be32(rate);
  be32(1);  // channels
  for (float v : samples) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    be32(bits);
  }
  return b;
}

class HostileThroughFfmpeg : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!FfmpegAvailable()) GTEST_SKIP() << "wisp built without ffmpeg";
  }
};

TEST_F(HostileThroughFfmpeg, GoodFileDecodes) {
  const Outcome out = Decode(WriteFile("ok.au", AuFloat32(16000, std::vector<float>(800, 0.25f))));
  ASSERT_TRUE(out.status.ok()) << out.status.message();
  EXPECT_EQ(out.samples, 800u);
}

TEST_F(HostileThroughFfmpeg, SampleRateRuleHolds) {
  const std::string path = WriteFile("rate_1hz.au", AuFloat32(1, std::vector<float>(800, 0.25f)));
  const Outcome out = Decode(path);
  EXPECT_EQ(out.status.kind(), ErrorKind::kBadInput);
  EXPECT_EQ(out.status.message(), "'" + path + "': sample rate 1 Hz is outside the supported range 1000-384000 Hz");
}

TEST_F(HostileThroughFfmpeg, NaNSampleRuleHolds) {
  std::vector<float> samples(800, 0.25f);
  samples[10] = std::numeric_limits<float>::quiet_NaN();
  const std::string path = WriteFile("nan.au", AuFloat32(16000, samples));
  const Outcome out = Decode(path);
  EXPECT_EQ(out.status.kind(), ErrorKind::kBadInput);
  EXPECT_EQ(out.status.message(),
            "'" + path + "': sample 10 (0.001 s, channel 1) is NaN: audio samples must be finite and within +-10000 (full scale is +-1)");
}

TEST_F(HostileThroughFfmpeg, MaxDurationRuleHolds) {
  const std::string path = WriteFile("one_second.au", AuFloat32(16000, std::vector<float>(16000, 0.25f)));
  const Outcome out = Decode(path, 0.5);
  EXPECT_EQ(out.status.kind(), ErrorKind::kBadInput);
  EXPECT_EQ(out.status.message(), "'" + path + "': 1.0 s of audio exceeds the maximum duration of 0.5 s");
  EXPECT_EQ(out.samples, 0u);
}

}  // namespace
}  // namespace wisp
