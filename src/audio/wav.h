// WAV reader: RIFF/WAVE (and RF64) files held in memory, integer PCM 8/16/24/32-bit, IEEE float
// 32/64-bit, WAVE_FORMAT_EXTENSIBLE, any channel count (mixed to mono by averaging).
//
// Every malformed input is a Status naming the problem; the parser never reads outside the
// buffer and its time is bounded by the buffer size. The input rules of audio/input_rules.h
// (sample rate, finite float samples) are enforced here. Error kinds: Unsupported only for an
// encoding the reader does not implement (ADPCM, mu-law, an unknown format tag or extensible
// sub-format): the front door hands those, and only those, to ffmpeg. Every other problem
// (7-bit PCM, a 1-Hz rate, a bad block align, ...) is BadInput: the file claims to be a WAV
// of a kind this reader knows, so a guess by another decoder would only invent audio.
// Decisions on damaged-but-usable files:
//  * a data chunk claiming more bytes than the file holds is a truncated recording (a recorder
//    that died before patching the header): the bytes present are used (whole frames only),
//    `truncated` is set, and the front door (audio_loader.h) emits a warning saying so;
//  * data size 0xFFFFFFFF, or 0 when the RIFF size is also 0/0xFFFFFFFF (a streamed header that
//    was never patched), means "the rest of the file";
//  * chunks may come in any order; odd-sized chunks are followed by one pad byte.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "util/status.h"

namespace wisp {

enum class WavSampleFormat { kUint8, kInt16, kInt24, kInt32, kFloat32, kFloat64 };

// Where the samples are and how to read them; offsets are into the buffer that was parsed.
struct WavLayout {
  WavSampleFormat format = WavSampleFormat::kInt16;
  int channels = 0;
  int sample_rate = 0;
  int bytes_per_sample = 0;   // per channel
  size_t data_offset = 0;     // first byte of the first frame
  uint64_t frames = 0;        // whole frames available in the buffer
  bool truncated = false;     // the data chunk claimed more than the buffer holds, or a partial frame
  uint64_t data_bytes_claimed = 0;  // the data chunk's size field (the ds64 size for RF64)
  uint64_t data_bytes_present = 0;  // the bytes of it the buffer holds
};

// True when the buffer starts like a RIFF/WAVE or RF64/WAVE file (used to pick the decoder).
bool LooksLikeWav(const uint8_t* data, size_t size);

// Validates the header and locates the samples.
Result<WavLayout> ParseWavLayout(const uint8_t* data, size_t size);

// Converts frames [first_frame, first_frame + count) to mono float: integers are divided by
// 2^(bits-1) (8-bit is unsigned, centred on 128) into [-1, 1); float samples are kept as they
// are. Channels are averaged. A float sample that is NaN, infinite or beyond
// +-kMaxFloatSampleMagnitude is BadInput naming the first such sample ("float sample 50000
// (3.125 s, channel 1) is NaN: ..."); mono_out is then still fully written (bad samples as 0).
// The caller keeps first_frame + count <= layout.frames.
Status DecodeWavFrames(const WavLayout& layout, const uint8_t* data, uint64_t first_frame, size_t count,
                       float* mono_out);

// A whole file decoded to mono at its own sample rate.
struct WavAudio {
  int sample_rate = 0;
  int channels = 0;
  bool truncated = false;
  std::vector<float> samples;
};
Result<WavAudio> ParseWav(const uint8_t* data, size_t size);
Result<WavAudio> ReadWavFile(const std::string& path);

}  // namespace wisp
