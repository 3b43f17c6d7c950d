// A transcription fed with audio as it arrives — a microphone, a network stream, a file read
// block by block — with memory that stays flat however long the audio is: samples become
// log-mel frames at once (audio/mel.h), each 30-s window is decoded as soon as its frames are
// complete (pipeline/transcription_run.h), and consumed frames are released.
//
//   auto session = Session::Start(engine, options, ctx);      // options.on_segment sees segments
//   session->Push(samples, n);  ...                            // as their windows are decoded
//   Result<TranscriptionResult> result = session->Finish();
//
// Exactness: the official spectrogram is scaled by its maximum over the whole audio, which a
// live stream cannot know before its end. When the caller knows the stream's level and length
// in advance (SessionConfig; WhisperEngine::TranscribeFile scans a file once for them), the
// result is exactly the official. Otherwise each window is scaled by the maximum seen so far,
// which differs only where a later part of the stream is louder than everything before it.
// One session per stream, used from one thread at a time (Cancel excepted: any thread, via
// TranscribeOptions::cancel). The engine is shared, immutable.
#pragma once
#include <cstddef>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "api/engine.h"
#include "audio/audio_loader.h"
#include "audio/mel.h"
#include "audio/resampler.h"
#include "pipeline/transcribe.h"
#include "pipeline/transcription_run.h"
#include "util/status.h"

namespace wisp {

struct SessionConfig {
  // Rate of the pushed samples; anything else than 16000 is resampled (libsoxr) to 16 kHz.
  double sample_rate = kSampleRate;
  // Known in advance (e.g. from audio_loader.h's ScanMelLevel over the same input): the
  // spectrogram's level (log10 max) and the stream's length in 16-kHz samples. With both, the
  // session is exactly Transcribe() on the whole spectrogram.
  std::optional<float> level;
  int64_t total_samples_16k = -1;
};

class Session {
 public:
  // Errors: the reference backend on an engine without f32 weights, a sample rate outside
  // input_rules.h's range, and TranscriptionRun::Start's refusals of the options.
  static Result<std::unique_ptr<Session>> Start(const WhisperEngine& engine, const TranscribeOptions& options,
                                                const OpContext& ctx, const SessionConfig& config = {});
  ~Session();

  // Appends mono float samples (nominal range [-1, 1]) and decodes every window now complete.
  // Errors: BadInput naming the first non-finite or absurd sample (the session is then
  // unusable), cancellation, decoding errors; after an error every call returns it again.
  Status Push(const float* samples, size_t n);
  // Ends the stream: decodes the remaining windows and returns the result.
  Result<TranscriptionResult> Finish();

  // Segments decoded so far; audio pushed so far, in seconds at 16 kHz.
  const TranscriptionResult& partial() const { return run_->partial(); }
  double seconds_pushed() const;

 private:
  Session() = default;
  Status Consume(const float* samples16k, size_t n);

  std::unique_ptr<TranscriptionRun> run_;
  std::unique_ptr<Resampler> resampler_;  // null at 16 kHz
  std::unique_ptr<LogMelBuilder> mel_;
  const std::atomic<bool>* cancel_ = nullptr;
  int64_t samples_in_ = 0;  // input samples seen (for messages)
  Status error_;
  bool finished_ = false;
};

// The second pass of an exact two-pass transcription (WhisperEngine::TranscribeFile,
// TranscribeSamples): a Session that knows the level and length the first pass found, fed by
// decode (samples at sample_rate) until decode ends or a window fails — decode must stop at its
// next block once *stop is set. Errors: decode's, the session's.
Result<TranscriptionResult> TranscribeSecondPass(
    const WhisperEngine& engine, const MelLevel& level, double sample_rate, const TranscribeOptions& options,
    const OpContext& ctx, const std::function<Status(const SampleSink&, const std::atomic<bool>* stop)>& decode);

}  // namespace wisp
