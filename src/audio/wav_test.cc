// The WAV reader: every encoding decoded exactly, every damage class named in the error.
#include "audio/wav.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstring>
#include <limits>

#include "audio/wav_test_util.h"

namespace wisp {
namespace {

using testing::FmtBody;
using testing::PutChunk;
using testing::PutU16;
using testing::PutU32;
using testing::RiffWave;

std::vector<uint8_t> WavOf(const std::vector<uint8_t>& fmt, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> chunks;
  PutChunk(chunks, "fmt ", fmt);
  PutChunk(chunks, "data", data);
  return RiffWave(chunks);
}

std::vector<float> Decode(const std::vector<uint8_t>& file) {
  Result<WavAudio> audio = ParseWav(file.data(), file.size());
  EXPECT_TRUE(audio.ok()) << audio.status().message();
  return audio.ok() ? audio->samples : std::vector<float>{};
}

void ExpectError(const std::vector<uint8_t>& file, ErrorKind kind, const std::string& text) {
  Result<WavAudio> audio = ParseWav(file.data(), file.size());
  ASSERT_FALSE(audio.ok()) << "expected: " << text;
  EXPECT_EQ(audio.status().kind(), kind) << audio.status().message();
  EXPECT_NE(audio.status().message().find(text), std::string::npos) << audio.status().message();
}

TEST(Wav, Unsigned8Bit) {
  const std::vector<float> s = Decode(WavOf(FmtBody(1, 1, 8000, 8), {0, 128, 255, 64}));
  EXPECT_EQ(s, (std::vector<float>{-1.0f, 0.0f, 127.0f / 128, -0.5f}));
}

TEST(Wav, Signed16Bit) {
  std::vector<uint8_t> data;
  for (int16_t v : {-32768, 0, 32767, 1234}) PutU16(data, static_cast<uint16_t>(v));
  const std::vector<float> s = Decode(WavOf(FmtBody(1, 1, 16000, 16), data));
  EXPECT_EQ(s, (std::vector<float>{-1.0f, 0.0f, 32767.0f / 32768, 1234.0f / 32768}));
}

TEST(Wav, Signed24Bit) {
  std::vector<uint8_t> data;
  const std::vector<int32_t> values = {-8388608, 0, 8388607, -1, 123456};
  for (int32_t v : values)
    for (int b = 0; b < 3; ++b) data.push_back(static_cast<uint8_t>((static_cast<uint32_t>(v) >> (8 * b)) & 0xFF));
  const std::vector<float> s = Decode(WavOf(FmtBody(1, 1, 16000, 24), data));
  ASSERT_EQ(s.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(s[i], static_cast<float>(values[i]) / 8388608.0f);
}

TEST(Wav, Signed32Bit) {
  std::vector<uint8_t> data;
  const std::vector<int32_t> values = {INT32_MIN, 0, INT32_MAX, -7, 1 << 20};
  for (int32_t v : values) PutU32(data, static_cast<uint32_t>(v));
  const std::vector<float> s = Decode(WavOf(FmtBody(1, 1, 16000, 32), data));
  ASSERT_EQ(s.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(s[i], static_cast<float>(values[i]) / 2147483648.0f);
}

TEST(Wav, Float32AndFloat64) {
  std::vector<uint8_t> f32;
  for (float v : {0.5f, -0.25f, 1.0f, 1e-3f}) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    PutU32(f32, bits);
  }
  EXPECT_EQ(Decode(WavOf(FmtBody(3, 1, 16000, 32), f32)), (std::vector<float>{0.5f, -0.25f, 1.0f, 1e-3f}));
  std::vector<uint8_t> f64;
  for (double v : {0.5, -0.125, 0.3}) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    PutU32(f64, static_cast<uint32_t>(bits));
    PutU32(f64, static_cast<uint32_t>(bits >> 32));
  }
  EXPECT_EQ(Decode(WavOf(FmtBody(3, 1, 16000, 64), f64)), (std::vector<float>{0.5f, -0.125f, 0.3f}));
}

std::vector<uint8_t> Float32Bytes(std::initializer_list<float> values) {
  std::vector<uint8_t> out;
  for (float v : values) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    PutU32(out, bits);
  }
  return out;
}

TEST(Wav, NonFiniteOrHugeFloatSamplesAreErrors) {
  // NaN, infinity and values past the mel power's float range give an empty or invented
  // transcript (issue 11), so the reader refuses them, naming the first one.
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  ExpectError(WavOf(FmtBody(3, 1, 16000, 32), Float32Bytes({0.5f, nan, 0.25f})), ErrorKind::kBadInput,
              "float sample 1 (0.000 s, channel 1) is NaN: WAV float samples must be finite and within +-10000");
  ExpectError(WavOf(FmtBody(3, 2, 16000, 32), Float32Bytes({0.5f, 0.5f, 0.5f, -inf})), ErrorKind::kBadInput,
              "float sample 1 (0.000 s, channel 2) is -inf");
  std::vector<uint8_t> f64;
  for (double v : {0.5, 1e300}) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    PutU32(f64, static_cast<uint32_t>(bits));
    PutU32(f64, static_cast<uint32_t>(bits >> 32));
  }
  ExpectError(WavOf(FmtBody(3, 1, 16000, 64), f64), ErrorKind::kBadInput, "float sample 1 (0.000 s, channel 1) is 1e+300");
  // Loud but finite is sound: kept as it is.
  EXPECT_EQ(Decode(WavOf(FmtBody(3, 1, 16000, 32), Float32Bytes({3.0f, -9999.0f}))), (std::vector<float>{3.0f, -9999.0f}));
}

TEST(Wav, ExtensiblePcmAndFloat) {
  std::vector<uint8_t> pcm;
  for (int16_t v : {100, -200}) PutU16(pcm, static_cast<uint16_t>(v));
  EXPECT_EQ(Decode(WavOf(FmtBody(0, 1, 16000, 16, /*extensible=*/1), pcm)),
            (std::vector<float>{100.0f / 32768, -200.0f / 32768}));
  std::vector<uint8_t> flt;
  const float v = -0.75f;
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  PutU32(flt, bits);
  EXPECT_EQ(Decode(WavOf(FmtBody(0, 1, 16000, 32, /*extensible=*/3), flt)), (std::vector<float>{-0.75f}));
}

TEST(Wav, StereoAndSixChannelsAreAveraged) {
  const std::vector<float> stereo = Decode(testing::Pcm16Wav({1000, 3000, -32768, 32767}, 2, 44100));
  EXPECT_EQ(stereo, (std::vector<float>{2000.0f / 32768, -0.5f / 32768}));

  std::vector<uint8_t> data;  // two frames of six 24-bit channels
  const int32_t frames[2][6] = {{1, 2, 3, 4, 5, 6}, {-8388608, 8388607, 0, 0, 600, -600}};
  for (const auto& frame : frames)
    for (int32_t v : frame)
      for (int b = 0; b < 3; ++b) data.push_back(static_cast<uint8_t>((static_cast<uint32_t>(v) >> (8 * b)) & 0xFF));
  Result<WavAudio> six = ParseWav(WavOf(FmtBody(1, 6, 48000, 24), data).data(), WavOf(FmtBody(1, 6, 48000, 24), data).size());
  ASSERT_TRUE(six.ok()) << six.status().message();
  EXPECT_EQ(six->channels, 6);
  EXPECT_EQ(six->sample_rate, 48000);
  ASSERT_EQ(six->samples.size(), 2u);
  EXPECT_EQ(six->samples[0], static_cast<float>(21.0 / 8388608.0 / 6));
  EXPECT_EQ(six->samples[1], static_cast<float>((-1.0 / 8388608.0) / 6));
}

TEST(Wav, ChunksInAnyOrderWithOddPadding) {
  std::vector<uint8_t> data;
  PutU16(data, 16384);
  std::vector<uint8_t> chunks;
  PutChunk(chunks, "LIST", {'I', 'N', 'F', 'O', 'x'});  // odd size: one pad byte follows
  PutChunk(chunks, "data", data);                      // data before fmt
  PutChunk(chunks, "fmt ", FmtBody(1, 1, 16000, 16));
  PutChunk(chunks, "junk", {1, 2, 3});
  EXPECT_EQ(Decode(RiffWave(chunks)), (std::vector<float>{0.5f}));
}

TEST(Wav, StreamedDataSizeMeansRestOfFile) {
  std::vector<uint8_t> file = testing::Pcm16Wav({100, 200, 300}, 1, 16000);
  const size_t data_size_at = file.size() - 6 - 4;
  std::vector<uint8_t> unknown = file;
  for (int i = 0; i < 4; ++i) unknown[data_size_at + i] = 0xFF;
  EXPECT_EQ(Decode(unknown).size(), 3u);
  // Size 0 counts as "unknown" only when the RIFF size was never patched either.
  std::vector<uint8_t> zero = file;
  for (int i = 0; i < 4; ++i) zero[data_size_at + i] = zero[4 + i] = 0;
  EXPECT_EQ(Decode(zero).size(), 3u);
  std::vector<uint8_t> empty = file;
  for (int i = 0; i < 4; ++i) empty[data_size_at + i] = 0;
  EXPECT_EQ(Decode(empty).size(), 0u);  // a genuinely empty recording followed by other bytes
}

TEST(Wav, DataLongerThanFileIsATruncatedRecording) {
  std::vector<uint8_t> file = testing::Pcm16Wav({100, 200, 300, 400}, 2, 16000);
  file.resize(file.size() - 3);  // lose the last frame but one byte
  Result<WavAudio> audio = ParseWav(file.data(), file.size());
  ASSERT_TRUE(audio.ok()) << audio.status().message();
  EXPECT_TRUE(audio->truncated);
  EXPECT_EQ(audio->samples, (std::vector<float>{150.0f / 32768}));
}

TEST(Wav, Rf64WithDs64) {
  std::vector<uint8_t> samples;
  for (int16_t v : {8192, -8192}) PutU16(samples, static_cast<uint16_t>(v));
  std::vector<uint8_t> ds64;
  for (uint64_t v : {uint64_t{0}, uint64_t{samples.size()}, uint64_t{2}}) {
    PutU32(ds64, static_cast<uint32_t>(v));
    PutU32(ds64, static_cast<uint32_t>(v >> 32));
  }
  PutU32(ds64, 0);  // table length
  std::vector<uint8_t> chunks;
  PutChunk(chunks, "ds64", ds64);
  PutChunk(chunks, "fmt ", FmtBody(1, 1, 16000, 16));
  testing::PutId(chunks, "data");
  PutU32(chunks, 0xFFFFFFFF);
  chunks.insert(chunks.end(), samples.begin(), samples.end());
  chunks.insert(chunks.end(), {'j', 'u', 'n', 'k'});  // beyond the ds64 size: not samples
  std::vector<uint8_t> file = RiffWave(chunks);
  std::memcpy(file.data(), "RF64", 4);
  EXPECT_EQ(Decode(file), (std::vector<float>{0.25f, -0.25f}));
}

// ------------------------------------------------------------------ malformed input

TEST(WavErrors, NotRiffWave) {
  ExpectError({'h', 'e', 'l', 'l', 'o'}, ErrorKind::kBadInput, "not a RIFF/WAVE file");
  std::vector<uint8_t> avi = testing::Pcm16Wav({1}, 1, 16000);
  std::memcpy(avi.data() + 8, "AVI ", 4);
  ExpectError(avi, ErrorKind::kBadInput, "not a RIFF/WAVE file");
}

TEST(WavErrors, MissingFmt) {
  std::vector<uint8_t> chunks;
  PutChunk(chunks, "data", {0, 0});
  ExpectError(RiffWave(chunks), ErrorKind::kBadInput, "missing fmt chunk");
}

TEST(WavErrors, NoData) {
  std::vector<uint8_t> chunks;
  PutChunk(chunks, "fmt ", FmtBody(1, 1, 16000, 16));
  ExpectError(RiffWave(chunks), ErrorKind::kBadInput, "no data chunk");
}

TEST(WavErrors, UnsupportedEncodingNamesTheTag) {
  ExpectError(WavOf(FmtBody(2, 1, 16000, 4), {0}), ErrorKind::kUnsupported,
              "unsupported WAV encoding (format tag 0x0002, ADPCM)");
  ExpectError(WavOf(FmtBody(0x1234, 1, 16000, 16), {0, 0}), ErrorKind::kUnsupported,
              "unsupported WAV encoding (format tag 0x1234)");
}

TEST(WavErrors, TruncatedFmt) {
  std::vector<uint8_t> short_fmt = FmtBody(1, 1, 16000, 16);
  short_fmt.resize(10);
  ExpectError(WavOf(short_fmt, {0, 0}), ErrorKind::kBadInput, "truncated fmt chunk");
  std::vector<uint8_t> cut = testing::Pcm16Wav({1}, 1, 16000);
  cut.resize(12 + 8 + 12);  // fmt header says 16 bytes, 12 present
  ExpectError(cut, ErrorKind::kBadInput, "truncated fmt chunk");
  std::vector<uint8_t> ext = FmtBody(0, 1, 16000, 16, 1);
  ext.resize(18);
  ExpectError(WavOf(ext, {0, 0}), ErrorKind::kBadInput, "truncated fmt chunk (WAVE_FORMAT_EXTENSIBLE needs 40 bytes");
}

TEST(WavErrors, ZeroChannelsAndSampleRate) {
  ExpectError(WavOf(FmtBody(1, 0, 16000, 16), {0, 0}), ErrorKind::kBadInput, "zero channels");
  ExpectError(WavOf(FmtBody(1, 1, 0, 16), {0, 0}), ErrorKind::kBadInput, "sample rate 0");
}

TEST(WavErrors, SampleRateOutsideTheSupportedRange) {
  for (uint32_t rate : {1u, 100u, 999u, 384001u, 0xFFFFFFFFu}) {
    ExpectError(WavOf(FmtBody(1, 1, rate, 16), {0, 0}), ErrorKind::kBadInput,
                "sample rate " + std::to_string(rate) + " Hz is outside the supported range 1000-384000 Hz");
  }
  EXPECT_EQ(Decode(WavOf(FmtBody(1, 1, 1000, 16), {0, 64})).size(), 1u);
  EXPECT_EQ(Decode(WavOf(FmtBody(1, 1, 384000, 16), {0, 64})).size(), 1u);
}

TEST(WavErrors, UnsupportedBitDepthsAreBadInputNotForFfmpeg) {
  // The reader owns PCM and float WAVs: an impossible depth is malformed (BadInput), not an
  // encoding to hand to ffmpeg (Unsupported), which would decode it as something else.
  ExpectError(WavOf(FmtBody(1, 1, 16000, 12), {0, 0}), ErrorKind::kBadInput, "bits per sample 12 not supported");
  ExpectError(WavOf(FmtBody(1, 1, 16000, 7), {0}), ErrorKind::kBadInput,
              "bits per sample 7 not supported (integer PCM: 8, 16, 24, 32)");
  ExpectError(WavOf(FmtBody(3, 1, 16000, 16), {0, 0}), ErrorKind::kBadInput, "bits per sample 16 not supported");
}

TEST(WavErrors, BlockAlignMismatch) {
  std::vector<uint8_t> fmt = FmtBody(1, 2, 16000, 16);
  fmt[12] = 3;  // block align 3 for 2 x 16 bits
  ExpectError(WavOf(fmt, {0, 0, 0, 0}), ErrorKind::kBadInput, "block align 3 does not match 2 channels of 16 bits");
}

TEST(WavErrors, UnknownExtensibleSubFormat) {
  std::vector<uint8_t> fmt = FmtBody(0, 1, 16000, 16, 1);
  fmt[30] = 0x42;  // corrupt the GUID tail
  ExpectError(WavOf(fmt, {0, 0}), ErrorKind::kUnsupported, "sub-format GUID");
}

TEST(WavErrors, EveryPrefixOfAValidFileIsHandled) {
  // No prefix may crash or over-read (run under ASan in the sanitizer build); each is either
  // a valid (possibly truncated) decode or an error.
  const std::vector<uint8_t> file = testing::Pcm16Wav({1, 2, 3, 4, 5, 6, 7, 8}, 2, 16000);
  for (size_t n = 0; n <= file.size(); ++n) {
    std::vector<uint8_t> prefix(file.begin(), file.begin() + n);  // exact-size heap copy
    Result<WavAudio> audio = ParseWav(prefix.data(), prefix.size());
    if (n < 44) EXPECT_FALSE(audio.ok()) << n;
    else EXPECT_EQ(audio->samples.size(), (n - 44) / 4) << n;
  }
}

TEST(WavFile, MissingFileIsNotFoundNamingPath) {
  Result<WavAudio> audio = ReadWavFile("/nonexistent/dir/x.wav");
  ASSERT_FALSE(audio.ok());
  EXPECT_EQ(audio.status().kind(), ErrorKind::kNotFound);
  EXPECT_NE(audio.status().message().find("/nonexistent/dir/x.wav"), std::string::npos);
}

}  // namespace
}  // namespace wisp
