// The front door of the audio layer: any supported file (or stdin) to 16-kHz mono float
// samples or straight to the log-mel spectrogram.
//
// WAV files are recognised by their header and read by the built-in reader (memory-mapped,
// decoded in blocks); everything else goes through ffmpeg when wisp is built with it. A RIFF/WAVE
// file is the reader's: only a codec it does not implement (ADPCM, mu-law, ...; wav.h's
// Unsupported) is handed to ffmpeg, while a malformed header (7 bits per sample, a 1-Hz rate)
// is an error naming the file and the problem, never a guess by another decoder.
// Every input passes the rules of input_rules.h (sample rate, finite samples, optional
// maximum duration checked before decoding). A truncated WAV data chunk is decoded as far as
// it goes, with a warning (AudioLoadOptions::on_warning).
// Samples are delivered in chunks, so neither an hour of audio nor its 16-kHz copy is ever held
// in memory by these functions (LoadAudio16k excepted, by definition).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audio/input_rules.h"
#include "audio/mel.h"
#include "audio/resampler.h"
#include "util/status.h"

namespace wisp {

// Decodes `path` ("-" = standard input) to 16-kHz mono, calling sink with successive chunks.
// Errors: NotFound naming a missing path; BadInput for a damaged/unrecognised file;
// Unsupported for a known-but-unsupported encoding or non-WAV input without ffmpeg; BadInput
// "... exceeds the maximum duration of L s" past options.max_duration_seconds.
// Zero samples (an empty recording) is success with no sink call.
Status DecodeAudio(const std::string& path, const SampleSink& sink, const AudioLoadOptions& options = {});

class StdinSpool;

// An input that can be decoded more than once (an exact streaming transcription reads it
// twice: ScanMelLevel, then the windows): a path, or standard input ("-") copied once to a
// private temporary file that is removed with this object.
class ReplayableAudio {
 public:
  // Errors: stdin that cannot be read or spooled (IoError). A path is only opened by Decode.
  static Result<std::unique_ptr<ReplayableAudio>> Open(const std::string& path);
  ~ReplayableAudio();
  // DecodeAudio's contract, each call from the start of the input.
  Status Decode(const SampleSink& sink, const AudioLoadOptions& options) const;
  // The name messages use: the path, or "<stdin>".
  const std::string& display_name() const { return display_name_; }

 private:
  ReplayableAudio();
  std::string path_;
  std::string display_name_;
  std::unique_ptr<StdinSpool> spool_;
};

// The same for a WAV file already in memory (messages do not name a file).
Status DecodeWavTo16k(const uint8_t* data, size_t size, const SampleSink& sink, const AudioLoadOptions& options = {});

// Convenience: the whole file as one vector of 16-kHz mono samples.
Result<std::vector<float>> LoadAudio16k(const std::string& path, const AudioLoadOptions& options = {});

// The log-mel spectrogram of whatever `decode` streams into the sink it is given (librosa's
// filterbank when filters is null): the one place the file and in-memory front doors share.
Result<LogMelSpectrogram> ComputeLogMel(const std::function<Status(const SampleSink&)>& decode, const float* filters,
                                        int n_mels);

// filters when not null, else librosa's Slaney filterbank for n_mels computed into *storage (as
// openai-whisper computes it for a model without its own).
const float* FiltersOrSlaney(const float* filters, int n_mels, std::vector<float>* storage);

// The level (log10 max) of the padded spectrogram and the stream's length in 16-kHz samples.
struct MelLevel {
  float log_max = -10.0f;
  int64_t samples = 0;
};
// One pass over whatever `decode` streams: the whole padded spectrogram when it has at most
// keep_frames frames, else only its level and length, holding no more than a block of frames
// (the first pass of an exact streaming transcription, LogMelBuilder::SetLevel, for inputs
// that can be read twice). keep_frames = 0 only scans.
struct MelPass {
  std::optional<LogMelSpectrogram> mel;
  MelLevel level;
};
Result<MelPass> ComputeLogMelOrLevel(const std::function<Status(const SampleSink&)>& decode, const float* filters,
                                     int n_mels, int64_t keep_frames);

// Streams decode -> mel without holding the samples: the spectrogram transcribe() computes
// (30 s of zero padding included). filters: (n_mels, 201) row-major as stored in the model;
// nullptr computes librosa's Slaney filterbank for n_mels (80 or 128).
Result<LogMelSpectrogram> ComputeLogMelFromFile(const std::string& path, const float* filters, int n_mels,
                                                const AudioLoadOptions& options = {});

}  // namespace wisp
