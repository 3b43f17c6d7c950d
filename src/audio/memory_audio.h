// Audio that is already in memory (an HTTP upload, a buffer from an application) to 16-kHz mono
// samples or straight to the log-mel spectrogram, never through a temporary file: WAV by the
// built-in reader (DecodeWavTo16k), every other container ffmpeg reads through a custom
// AVIOContext over the bytes. The samples equal what DecodeAudio gives for the same bytes in a
// file, so a server's result equals the command line's.
#pragma once
#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include "audio/mel.h"
#include "audio/resampler.h"
#include "util/status.h"

namespace wisp {

struct MemoryDecodeOptions {
  // Stands for the bytes in messages ("cannot read 'upload.mp3' as audio: ...").
  std::string name = "audio";
  // Decoding through ffmpeg stops at this time (its reads fail) and the call returns an error of
  // kind kIo saying so; the built-in WAV reader is fast enough to need no such bound.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// Decodes data to 16-kHz mono, calling sink with successive chunks. Errors as DecodeAudio's:
// BadInput for empty, damaged or unrecognised bytes; Unsupported for a known-but-unsupported
// encoding or non-WAV bytes in a build without ffmpeg; kIo when the deadline passed.
Status DecodeAudioFromMemory(std::span<const uint8_t> data, const SampleSink& sink,
                             const MemoryDecodeOptions& options = {});

// Streams decode -> mel as ComputeLogMelFromFile does (30 s of zero padding included).
// filters: (n_mels, 201) row-major as stored in the model; nullptr computes librosa's.
Result<LogMelSpectrogram> ComputeLogMelFromMemory(std::span<const uint8_t> data, const float* filters, int n_mels,
                                                  const MemoryDecodeOptions& options = {});

}  // namespace wisp
