#include "audio/wav.h"

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "audio/input_rules.h"
#include "util/mapped_file.h"

namespace wisp {
namespace {

constexpr uint16_t kFormatPcm = 0x0001;
constexpr uint16_t kFormatIeeeFloat = 0x0003;
constexpr uint16_t kFormatExtensible = 0xFFFE;
constexpr uint32_t kSizeUnknown = 0xFFFFFFFFu;
// KSDATAFORMAT_SUBTYPE_{PCM,IEEE_FLOAT} are {tag}-0000-0010-8000-00AA00389B71.
constexpr uint8_t kSubFormatGuidTail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                            0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

uint16_t ReadU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t ReadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t ReadU64(const uint8_t* p) { return ReadU32(p) | (static_cast<uint64_t>(ReadU32(p + 4)) << 32); }
bool IdIs(const uint8_t* p, const char* id) { return std::memcmp(p, id, 4) == 0; }

std::string Hex4(uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04X", v);
  return buf;
}

// Names of the encodings people actually meet in .wav files, for the error message.
const char* FormatTagName(uint16_t tag) {
  switch (tag) {
    case 0x0002: return "ADPCM";
    case 0x0006: return "A-law";
    case 0x0007: return "mu-law";
    case 0x0011: return "IMA ADPCM";
    case 0x0031: return "GSM 6.10";
    case 0x0050: return "MPEG";
    case 0x0055: return "MPEG Layer 3";
    case 0x0161: return "Windows Media Audio";
    case 0x2000: return "AC-3";
    default: return nullptr;
  }
}

Status UnsupportedTag(uint16_t tag) {
  const char* name = FormatTagName(tag);
  return Unsupported("unsupported WAV encoding (format tag " + Hex4(tag) + (name ? std::string(", ") + name : "") + ")");
}

// Reads the fmt chunk body (size >= 16 checked by the caller) into `layout`.
Status ParseFmt(const uint8_t* body, uint32_t size, WavLayout* layout) {
  uint16_t tag = ReadU16(body);
  const uint16_t channels = ReadU16(body + 2);
  const uint32_t rate = ReadU32(body + 4);
  const uint16_t block_align = ReadU16(body + 12);
  const uint16_t bits = ReadU16(body + 14);
  if (tag == kFormatExtensible) {
    if (size < 40)
      return BadInput("truncated fmt chunk (WAVE_FORMAT_EXTENSIBLE needs 40 bytes, has " + std::to_string(size) + ")");
    if (std::memcmp(body + 26, kSubFormatGuidTail, sizeof kSubFormatGuidTail) != 0)
      return Unsupported("unsupported WAVE_FORMAT_EXTENSIBLE sub-format GUID");
    tag = ReadU16(body + 24);
  }
  if (tag != kFormatPcm && tag != kFormatIeeeFloat) return UnsupportedTag(tag);
  if (channels == 0) return BadInput("zero channels");
  // From here on the file is PCM or float, which this reader owns: every problem is BadInput
  // (see wav.h), never Unsupported, so that ffmpeg is not asked to guess.
  WISP_RETURN_IF_ERROR(CheckInputSampleRate(rate));
  if (tag == kFormatPcm) {
    switch (bits) {
      case 8: layout->format = WavSampleFormat::kUint8; break;
      case 16: layout->format = WavSampleFormat::kInt16; break;
      case 24: layout->format = WavSampleFormat::kInt24; break;
      case 32: layout->format = WavSampleFormat::kInt32; break;
      default:
        return BadInput("bits per sample " + std::to_string(bits) + " not supported (integer PCM: 8, 16, 24, 32)");
    }
  } else {
    switch (bits) {
      case 32: layout->format = WavSampleFormat::kFloat32; break;
      case 64: layout->format = WavSampleFormat::kFloat64; break;
      default:
        return BadInput("bits per sample " + std::to_string(bits) + " not supported (IEEE float: 32, 64)");
    }
  }
  layout->channels = channels;
  layout->sample_rate = static_cast<int>(rate);
  layout->bytes_per_sample = bits / 8;
  const uint32_t expected_align = static_cast<uint32_t>(channels) * layout->bytes_per_sample;
  if (block_align != expected_align)
    return BadInput("block align " + std::to_string(block_align) + " does not match " + std::to_string(channels) +
                    " channels of " + std::to_string(bits) + " bits");
  return Status::Ok();
}

constexpr bool IsFloat(WavSampleFormat f) { return f == WavSampleFormat::kFloat32 || f == WavSampleFormat::kFloat64; }

// A float sample as stored (double holds both widths exactly).
template <WavSampleFormat F>
inline double RawFloatAt(const uint8_t* p) {
  if constexpr (F == WavSampleFormat::kFloat32) return std::bit_cast<float>(ReadU32(p));
  else return std::bit_cast<double>(ReadU64(p));
}

// One sample converted to float, per encoding. A float sample outside the input rules
// (input_rules.h) sets *bad and reads as 0, so the output stays defined while the caller
// reports the error.
template <WavSampleFormat F>
inline float SampleAt(const uint8_t* p, [[maybe_unused]] bool* bad) {
  if constexpr (F == WavSampleFormat::kUint8) {
    return static_cast<float>(static_cast<int>(p[0]) - 128) * (1.0f / 128.0f);
  } else if constexpr (F == WavSampleFormat::kInt16) {
    return static_cast<float>(static_cast<int16_t>(ReadU16(p))) * (1.0f / 32768.0f);
  } else if constexpr (F == WavSampleFormat::kInt24) {
    // Shift into the top of an int32 and back down to sign-extend.
    const int32_t v = static_cast<int32_t>((static_cast<uint32_t>(p[0]) << 8) | (static_cast<uint32_t>(p[1]) << 16) |
                                           (static_cast<uint32_t>(p[2]) << 24)) >> 8;
    return static_cast<float>(v) * (1.0f / 8388608.0f);
  } else if constexpr (F == WavSampleFormat::kInt32) {
    return static_cast<float>(static_cast<int32_t>(ReadU32(p))) * (1.0f / 2147483648.0f);
  } else {
    // Range-checked before narrowing: a double beyond float's range has no defined conversion.
    const double v = RawFloatAt<F>(p);
    if (FloatSampleOk(v)) return static_cast<float>(v);
    *bad = true;
    return 0.0f;
  }
}

// Returns true when some sample was bad (float formats only).
template <WavSampleFormat F>
bool DecodeFrames(const uint8_t* p, int channels, int bytes_per_sample, size_t count, float* out) {
  bool bad = false;
  if (channels == 1) {
    for (size_t i = 0; i < count; ++i, p += bytes_per_sample) out[i] = SampleAt<F>(p, &bad);
    return bad;
  }
  for (size_t i = 0; i < count; ++i) {
    double sum = 0.0;
    for (int c = 0; c < channels; ++c, p += bytes_per_sample) sum += SampleAt<F>(p, &bad);
    out[i] = static_cast<float>(sum / channels);
  }
  return bad;
}

// The error for the first bad float sample in frames [first_frame, first_frame + count) (the
// slow path, taken only once DecodeFrames has seen one).
template <WavSampleFormat F>
Status FirstBadFloatSample(const WavLayout& layout, const uint8_t* p, uint64_t first_frame, size_t count) {
  if constexpr (IsFloat(F)) {
    for (size_t i = 0; i < count; ++i) {
      for (int c = 0; c < layout.channels; ++c, p += layout.bytes_per_sample) {
        const double v = RawFloatAt<F>(p);
        if (FloatSampleOk(v)) continue;
        const uint64_t frame = first_frame + i;
        char at[96];
        std::snprintf(at, sizeof at, "float sample %llu (%.3f s, channel %d) is ",
                      static_cast<unsigned long long>(frame), static_cast<double>(frame) / layout.sample_rate, c + 1);
        char bound[32];
        std::snprintf(bound, sizeof bound, "%g", kMaxFloatSampleMagnitude);
        return BadInput(at + DescribeFloatSample(v) + ": WAV float samples must be finite and within +-" + bound +
                        " (full scale is +-1)");
      }
    }
  }
  return BadInput("bad float sample");  // not reached: DecodeFrames saw one
}

template <WavSampleFormat F>
Status DecodeChecked(const WavLayout& layout, const uint8_t* p, uint64_t first_frame, size_t count, float* out) {
  if (!DecodeFrames<F>(p, layout.channels, layout.bytes_per_sample, count, out)) return Status::Ok();
  return FirstBadFloatSample<F>(layout, p, first_frame, count);
}

}  // namespace

bool LooksLikeWav(const uint8_t* data, size_t size) {
  return size >= 12 && (IdIs(data, "RIFF") || IdIs(data, "RF64")) && IdIs(data + 8, "WAVE");
}

Result<WavLayout> ParseWavLayout(const uint8_t* data, size_t size) {
  if (!LooksLikeWav(data, size)) return BadInput("not a RIFF/WAVE file");
  const bool rf64 = IdIs(data, "RF64");
  const uint32_t riff_size = ReadU32(data + 4);
  const bool streamed_header = riff_size == 0 || riff_size == kSizeUnknown;

  WavLayout layout;
  bool have_fmt = false, have_data = false, data_to_end = false;
  uint64_t data_claim = 0;    // bytes the data chunk says it has
  uint64_t ds64_data = 0;     // RF64: the real data size
  bool have_ds64 = false;
  uint64_t pos = 12;
  while (pos + 8 <= size) {
    const uint8_t* header = data + pos;
    const uint32_t chunk_size = ReadU32(header + 4);
    const uint64_t body = pos + 8;
    const uint64_t available = size - body;
    if (IdIs(header, "fmt ")) {
      if (chunk_size < 16 || chunk_size > available)
        return BadInput("truncated fmt chunk (" + std::to_string(chunk_size) + " bytes claimed, " +
                        std::to_string(available) + " present, at least 16 needed)");
      WISP_RETURN_IF_ERROR(ParseFmt(data + body, chunk_size, &layout));
      have_fmt = true;
    } else if (IdIs(header, "ds64")) {
      if (chunk_size < 24 || chunk_size > available) return BadInput("truncated ds64 chunk");
      ds64_data = ReadU64(data + body + 8);
      have_ds64 = true;
    } else if (IdIs(header, "data") && !have_data) {
      have_data = true;
      layout.data_offset = static_cast<size_t>(body);
      data_claim = chunk_size;
      if (rf64 && chunk_size == kSizeUnknown && have_ds64) data_claim = ds64_data;
      else if (chunk_size == kSizeUnknown || (chunk_size == 0 && streamed_header)) data_to_end = true;
      // Nothing can be found after data that runs to (or past) the end of the file.
      if (data_to_end || data_claim >= available) break;
      pos = body + data_claim + (data_claim & 1);
      continue;
    }
    pos = body + chunk_size + (chunk_size & 1);  // odd-sized chunks carry one pad byte
  }
  if (!have_fmt) return BadInput("missing fmt chunk");
  if (!have_data) return BadInput("no data chunk");

  const uint64_t available = size - layout.data_offset;
  uint64_t data_bytes = data_to_end ? available : data_claim;
  layout.data_bytes_claimed = data_bytes;
  if (data_bytes > available) {
    layout.truncated = true;
    data_bytes = available;
  }
  const uint64_t frame_bytes = static_cast<uint64_t>(layout.channels) * layout.bytes_per_sample;
  layout.data_bytes_present = data_bytes;
  layout.frames = data_bytes / frame_bytes;
  if (data_bytes % frame_bytes != 0) layout.truncated = true;  // a partial last frame is dropped
  return layout;
}

Status DecodeWavFrames(const WavLayout& layout, const uint8_t* data, uint64_t first_frame, size_t count,
                       float* mono_out) {
  const size_t frame_bytes = static_cast<size_t>(layout.channels) * layout.bytes_per_sample;
  const uint8_t* p = data + layout.data_offset + first_frame * frame_bytes;
  const uint64_t f = first_frame;
  switch (layout.format) {
    case WavSampleFormat::kUint8: return DecodeChecked<WavSampleFormat::kUint8>(layout, p, f, count, mono_out);
    case WavSampleFormat::kInt16: return DecodeChecked<WavSampleFormat::kInt16>(layout, p, f, count, mono_out);
    case WavSampleFormat::kInt24: return DecodeChecked<WavSampleFormat::kInt24>(layout, p, f, count, mono_out);
    case WavSampleFormat::kInt32: return DecodeChecked<WavSampleFormat::kInt32>(layout, p, f, count, mono_out);
    case WavSampleFormat::kFloat32: return DecodeChecked<WavSampleFormat::kFloat32>(layout, p, f, count, mono_out);
    case WavSampleFormat::kFloat64: return DecodeChecked<WavSampleFormat::kFloat64>(layout, p, f, count, mono_out);
  }
  return InvalidArgument("unknown WAV sample format");
}

Result<WavAudio> ParseWav(const uint8_t* data, size_t size) {
  Result<WavLayout> layout = ParseWavLayout(data, size);
  if (!layout.ok()) return layout.status();
  WavAudio audio;
  audio.sample_rate = layout->sample_rate;
  audio.channels = layout->channels;
  audio.truncated = layout->truncated;
  audio.samples.resize(layout->frames);
  WISP_RETURN_IF_ERROR(DecodeWavFrames(*layout, data, 0, audio.samples.size(), audio.samples.data()));
  return audio;
}

Result<WavAudio> ReadWavFile(const std::string& path) {
  Result<std::unique_ptr<MappedFile>> file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  Result<WavAudio> audio = ParseWav((*file)->data(), (*file)->size());
  if (!audio.ok()) return Status(audio.status().kind(), "'" + path + "': " + audio.status().message());
  return audio;
}

}  // namespace wisp
