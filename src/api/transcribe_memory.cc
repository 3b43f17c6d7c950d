#include "api/transcribe_memory.h"

namespace wisp {

Result<LogMelSpectrogram> ComputeEngineMelFromMemory(const WhisperEngine& engine, std::span<const uint8_t> audio,
                                                     const MemoryDecodeOptions& decode) {
  return ComputeLogMelFromMemory(audio, engine.mel_filters(), engine.hparams().n_mels, decode);
}

Result<TranscriptionResult> TranscribeMel(const WhisperEngine& engine, const LogMelSpectrogram& mel,
                                          const TranscribeOptions& options, const OpContext& ctx) {
  if (ctx.backend == Backend::kReference && !engine.model().weights.f32_matrices) {
    return InvalidArgument("the reference backend needs the f32 weights, and this model was loaded with the fast "
                           "backend's packed weights only (load it for the reference backend)");
  }
  return Transcribe(engine.model().weights, engine.tokenizer(), ctx, mel, options, &engine.model().metadata);
}

Result<TranscriptionResult> TranscribeFromMemory(const WhisperEngine& engine, std::span<const uint8_t> audio,
                                                 const TranscribeOptions& options, const OpContext& ctx,
                                                 const MemoryDecodeOptions& decode) {
  Result<LogMelSpectrogram> mel = ComputeEngineMelFromMemory(engine, audio, decode);
  if (!mel.ok()) return mel.status();
  return TranscribeMel(engine, *mel, options, ctx);
}

}  // namespace wisp
