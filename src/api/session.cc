#include "api/session.h"

#include <cstdio>

#include "audio/input_rules.h"

namespace wisp {

Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::Start(const WhisperEngine& engine, const TranscribeOptions& options,
                                                const OpContext& ctx, const SessionConfig& config) {
  WISP_RETURN_IF_ERROR(engine.CheckBackend(ctx));
  WISP_RETURN_IF_ERROR(CheckInputSampleRate(config.sample_rate));
  std::unique_ptr<Session> session(new Session());
  if (config.sample_rate != kSampleRate) {
    Result<std::unique_ptr<Resampler>> resampler = Resampler::Create(config.sample_rate);
    if (!resampler.ok()) return resampler.status();
    session->resampler_ = std::move(*resampler);
  }
  const int n_mels = engine.hparams().n_mels;
  std::vector<float> slaney;
  const float* filters = FiltersOrSlaney(engine.mel_filters(), n_mels, &slaney);
  session->mel_ = std::make_unique<LogMelBuilder>(filters, n_mels);  // copies the filters
  if (config.level) session->mel_->SetLevel(*config.level);
  // transcribe()'s content_frames = mel.shape[-1] - N_FRAMES = (samples + N_SAMPLES) // hop - N_FRAMES.
  const int64_t content_frames =
      config.total_samples_16k >= 0 ? (config.total_samples_16k + kWindowSamples) / kHopLength - kWindowFrames : -1;
  Result<std::unique_ptr<TranscriptionRun>> run = TranscriptionRun::Start(
      engine.model().weights, engine.tokenizer(), ctx, options, &engine.model().metadata, content_frames);
  if (!run.ok()) return run.status();
  session->run_ = std::move(*run);
  session->cancel_ = options.cancel;
  return session;
}

double Session::seconds_pushed() const { return static_cast<double>(mel_->samples_pushed()) / kSampleRate; }

Status Session::Consume(const float* samples16k, size_t n) {
  mel_->Push(samples16k, n);
  LogMelSpectrogram& mel = mel_->spectrogram();
  WISP_RETURN_IF_ERROR(run_->Advance(mel, /*ended=*/false));
  mel.ReleaseBefore(run_->first_needed_frame());
  return Status::Ok();
}

Status Session::Push(const float* samples, size_t n) {
  if (!error_.ok()) return error_;
  if (finished_) return InvalidArgument("Push after Finish: the session has ended");
  if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) {
    error_ = Cancelled("transcription cancelled after " + std::to_string(seconds_pushed()) + " s of audio");
    return error_;
  }
  for (size_t i = 0; i < n; ++i) {
    if (!FloatSampleOk(samples[i])) {
      char where[64];
      std::snprintf(where, sizeof where, " at sample %lld", static_cast<long long>(samples_in_ + i));
      error_ = BadInput("audio sample " + DescribeFloatSample(samples[i]) + where + ": samples must be finite and within +-" +
                        DescribeFloatSample(kMaxFloatSampleMagnitude));
      return error_;
    }
  }
  samples_in_ += static_cast<int64_t>(n);
  if (resampler_) {
    Status consumed;
    error_ = resampler_->Push(samples, n, [&](const float* p, size_t m) {
      if (consumed.ok()) consumed = Consume(p, m);
    });
    if (error_.ok()) error_ = consumed;
  } else {
    error_ = Consume(samples, n);
  }
  return error_;
}

Result<TranscriptionResult> Session::Finish() {
  if (!error_.ok()) return error_;
  if (finished_) return InvalidArgument("Finish called twice");
  finished_ = true;
  if (resampler_) {
    Status consumed;
    error_ = resampler_->Finish([&](const float* p, size_t m) {
      if (consumed.ok()) consumed = Consume(p, m);
    });
    if (error_.ok()) error_ = consumed;
    if (!error_.ok()) return error_;
  }
  mel_->End();
  error_ = run_->Advance(mel_->spectrogram(), /*ended=*/true);
  if (!error_.ok()) return error_;
  return run_->Finish();
}

Result<TranscriptionResult> TranscribeSecondPass(
    const WhisperEngine& engine, const MelLevel& level, double sample_rate, const TranscribeOptions& options,
    const OpContext& ctx, const std::function<Status(const SampleSink&, const std::atomic<bool>* stop)>& decode) {
  SessionConfig config;
  config.sample_rate = sample_rate;
  config.level = level.log_max;
  config.total_samples_16k = level.samples;
  Result<std::unique_ptr<Session>> session = Session::Start(engine, options, ctx, config);
  if (!session.ok()) return session.status();
  // A failed window stops the audio at its next block.
  std::atomic<bool> stop{false};
  Status pushed;
  const Status decoded = decode(
      [&](const float* p, size_t n) {
        if (!pushed.ok()) return;
        pushed = (*session)->Push(p, n);
        if (!pushed.ok()) stop.store(true);
      },
      &stop);
  if (!pushed.ok()) return pushed;
  if (!decoded.ok()) return decoded;
  return (*session)->Finish();
}

}  // namespace wisp
