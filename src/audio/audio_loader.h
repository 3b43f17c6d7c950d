// The front door of the audio layer: any supported file (or stdin) to 16-kHz mono float
// samples or straight to the log-mel spectrogram.
//
// WAV files are recognised by their header and read by the built-in reader (memory-mapped,
// decoded in blocks); everything else goes through ffmpeg when wisp is built with it. WAV
// encodings the built-in reader does not handle (ADPCM, mu-law, ...) also fall back to ffmpeg.
// Samples are delivered in chunks, so neither an hour of audio nor its 16-kHz copy is ever held
// in memory by these functions (LoadAudio16k excepted, by definition).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "audio/mel.h"
#include "audio/resampler.h"
#include "util/status.h"

namespace wisp {

// Decodes `path` ("-" = standard input) to 16-kHz mono, calling sink with successive chunks.
// Errors: NotFound naming a missing path; BadInput for a damaged/unrecognised file;
// Unsupported for a known-but-unsupported encoding or non-WAV input without ffmpeg.
// Zero samples (an empty recording) is success with no sink call.
Status DecodeAudio(const std::string& path, const SampleSink& sink);

// The same for a WAV file already in memory.
Status DecodeWavTo16k(const uint8_t* data, size_t size, const SampleSink& sink);

// Convenience: the whole file as one vector of 16-kHz mono samples.
Result<std::vector<float>> LoadAudio16k(const std::string& path);

// Streams decode -> mel without holding the samples: the spectrogram transcribe() computes
// (30 s of zero padding included). filters: (n_mels, 201) row-major as stored in the model;
// nullptr computes librosa's Slaney filterbank for n_mels (80 or 128).
Result<LogMelSpectrogram> ComputeLogMelFromFile(const std::string& path, const float* filters, int n_mels);

}  // namespace wisp
