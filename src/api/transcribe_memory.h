// Transcription of audio already in memory (an upload the server received, a buffer an
// application holds): the same steps as WhisperEngine::TranscribeFile — mel with the model's
// filters, then the transcription loop — with the audio decoded from the bytes
// (audio/memory_audio.h) instead of a path. A free function over the engine's public accessors,
// so it shares the engine's immutable weights exactly as TranscribeFile does: any number of
// threads may call it on one engine at once, each with its own OpContext.
#pragma once
#include <cstdint>
#include <span>

#include "api/engine.h"
#include "audio/memory_audio.h"
#include "pipeline/transcribe.h"
#include "util/status.h"

namespace wisp {

// The log-mel spectrogram the engine's model takes, from audio bytes of any format the audio
// layer reads. Errors name decode.name (BadInput / Unsupported / kIo at the deadline).
Result<LogMelSpectrogram> ComputeEngineMelFromMemory(const WhisperEngine& engine, std::span<const uint8_t> audio,
                                                     const MemoryDecodeOptions& decode = {});

// Transcribes a spectrogram from ComputeEngineMelFromMemory (split from decoding so a front
// end can report audio errors before it commits to a response, e.g. before streaming).
// Refuses the reference backend on an engine loaded without f32 weights, as TranscribeFile does.
Result<TranscriptionResult> TranscribeMel(const WhisperEngine& engine, const LogMelSpectrogram& mel,
                                          const TranscribeOptions& options, const OpContext& ctx);

// Both steps: the result equals TranscribeFile's on the same bytes stored in a file.
Result<TranscriptionResult> TranscribeFromMemory(const WhisperEngine& engine, std::span<const uint8_t> audio,
                                                 const TranscribeOptions& options, const OpContext& ctx,
                                                 const MemoryDecodeOptions& decode = {});

// Mono float samples held in memory at any rate (an application's buffer, a NumPy array):
// resampled to 16 kHz as the audio layer resamples files, scanned once for the spectrogram's
// level and length, then streamed through a Session (session.h) that knows both — so the result
// is exactly TranscribeFile's on the same samples, and only the windows in flight are held as
// spectrogram (a copy of the whole mel would be half the samples' size again). options.cancel
// also stops the level scan. Errors: a sample rate outside input_rules.h's range, a sample that
// is not finite or absurdly large (BadInput naming it), the Session's refusals, cancellation.
Result<TranscriptionResult> TranscribeSamples(const WhisperEngine& engine, std::span<const float> samples,
                                              double sample_rate, const TranscribeOptions& options,
                                              const OpContext& ctx);

}  // namespace wisp
