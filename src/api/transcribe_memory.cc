#include "api/transcribe_memory.h"

#include <algorithm>
#include <atomic>

#include "api/session.h"
#include "audio/audio_loader.h"
#include "audio/input_rules.h"
#include "audio/resampler.h"

namespace wisp {

Result<LogMelSpectrogram> ComputeEngineMelFromMemory(const WhisperEngine& engine, std::span<const uint8_t> audio,
                                                     const MemoryDecodeOptions& decode) {
  return ComputeLogMelFromMemory(audio, engine.mel_filters(), engine.hparams().n_mels, decode);
}

Result<TranscriptionResult> TranscribeMel(const WhisperEngine& engine, const LogMelSpectrogram& mel,
                                          const TranscribeOptions& options, const OpContext& ctx) {
  WISP_RETURN_IF_ERROR(engine.CheckBackend(ctx));
  return Transcribe(engine.model().weights, engine.tokenizer(), ctx, mel, options, &engine.model().metadata);
}

Result<TranscriptionResult> TranscribeFromMemory(const WhisperEngine& engine, std::span<const uint8_t> audio,
                                                 const TranscribeOptions& options, const OpContext& ctx,
                                                 const MemoryDecodeOptions& decode) {
  Result<LogMelSpectrogram> mel = ComputeEngineMelFromMemory(engine, audio, decode);
  if (!mel.ok()) return mel.status();
  return TranscribeMel(engine, *mel, options, ctx);
}

namespace {

// Both passes feed the samples in the same blocks: bounded resampler scratch, and a cancel
// flag that is looked at between blocks of the level scan.
constexpr size_t kBlockSamples = size_t{1} << 16;

bool IsSet(const std::atomic<bool>* cancel) { return cancel != nullptr && cancel->load(std::memory_order_relaxed); }

}  // namespace

Result<TranscriptionResult> TranscribeSamples(const WhisperEngine& engine, std::span<const float> samples,
                                              double sample_rate, const TranscribeOptions& options,
                                              const OpContext& ctx) {
  WISP_RETURN_IF_ERROR(CheckInputSampleRate(sample_rate));
  // The first pass: the 16-kHz stream the session will see (the same resampler, the same
  // blocks), of which only the level and the length are kept.
  auto scan = [&](const SampleSink& sink) -> Status {
    std::unique_ptr<Resampler> resampler;
    if (sample_rate != kSampleRate) {
      Result<std::unique_ptr<Resampler>> created = Resampler::Create(sample_rate);
      if (!created.ok()) return created.status();
      resampler = std::move(*created);
    }
    for (size_t i = 0; i < samples.size(); i += kBlockSamples) {
      if (IsSet(options.cancel)) return Cancelled("transcription cancelled while scanning the audio");
      const size_t n = std::min(kBlockSamples, samples.size() - i);
      if (!resampler) {
        sink(samples.data() + i, n);
      } else {
        WISP_RETURN_IF_ERROR(resampler->Push(samples.data() + i, n, sink));
      }
    }
    return resampler ? resampler->Finish(sink) : Status::Ok();
  };
  Result<MelPass> pass = ComputeLogMelOrLevel(scan, engine.mel_filters(), engine.hparams().n_mels, /*keep_frames=*/0);
  if (!pass.ok()) return pass.status();

  return TranscribeSecondPass(engine, pass->level, sample_rate, options, ctx,
                              [&](const SampleSink& sink, const std::atomic<bool>* stop) -> Status {
                                for (size_t i = 0; i < samples.size() && !IsSet(stop); i += kBlockSamples) {
                                  sink(samples.data() + i, std::min(kBlockSamples, samples.size() - i));
                                }
                                return Status::Ok();
                              });
}

}  // namespace wisp
