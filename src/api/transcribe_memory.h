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

}  // namespace wisp
