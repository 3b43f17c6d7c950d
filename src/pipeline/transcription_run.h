// transcribe()'s window loop as an object that decodes windows as the spectrogram's frames
// arrive, so that a stream (a file read block by block, audio pushed by an application) is
// transcribed with flat memory: the caller feeds a growing LogMelSpectrogram, calls Advance
// after each push, and may release every frame before first_needed_frame().
//
// Given the whole spectrogram at once (Advance(mel, /*ended=*/true)) it is exactly Transcribe().
// Streamed, it is exactly Transcribe() too when the stream's length and level are known up
// front (a file read twice: audio_loader.h's ScanMelLevel); otherwise a window is decoded as
// soon as its 30 s are complete, and the spectrogram's level is the max seen so far (mel.h).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "audio/mel.h"
#include "model/formats/tensor_table.h"
#include "model/weights.h"
#include "ops/ops.h"
#include "pipeline/decoding.h"
#include "pipeline/tokenizer.h"
#include "pipeline/transcribe.h"
#include "pipeline/transcribe_options.h"
#include "pipeline/word_timestamps.h"
#include "util/status.h"

namespace wisp {

class TranscriptionRun {
 public:
  // Validates the options against the model (TranscribeOptions::ValidateForModel, PlanDecoding)
  // before any encoder pass. content_frames: the stream's final content_frames when known in
  // advance (progress, clip ends, exactness), else -1. weights, tokenizer and metadata must
  // outlive the run; options are copied.
  static Result<std::unique_ptr<TranscriptionRun>> Start(const ModelWeights& weights, const Tokenizer& tokenizer,
                                                         const OpContext& ctx, const TranscribeOptions& options,
                                                         const ModelMetadata* metadata, int64_t content_frames = -1);
  ~TranscriptionRun();

  // Decodes every window of mel whose frames are all there; ended: the spectrogram is finished
  // (LogMelBuilder::End / Finish), so every remaining window is decoded. Errors: a spectrogram
  // whose n_mels differs from the model's, cancellation, decoding errors.
  Status Advance(const LogMelSpectrogram& mel, bool ended);

  // Frames before this are never read again.
  int64_t first_needed_frame() const;
  // False once every window is decoded (after Advance(mel, true)).
  bool done() const { return done_; }
  // Segments decoded so far.
  const TranscriptionResult& partial() const { return out_; }

  // The result, with the official text of all tokens; call after Advance(mel, true).
  TranscriptionResult Finish();

 private:
  TranscriptionRun(const ModelWeights& weights, const Tokenizer& tokenizer, const OpContext& ctx,
                   const TranscribeOptions& options, const ModelMetadata* metadata);
  Status ResolveLanguage(const LogMelSpectrogram& mel);
  // One pass of the official loop body at state_.seek over frames [seek, seek + segment_size).
  // content_frames: the audio's, or a huge value while a stream's length is unknown.
  Status DecodeWindow(const LogMelSpectrogram& mel, int64_t segment_size, int64_t content_frames);

  const ModelWeights& weights_;
  const Tokenizer& tokenizer_;
  OpContext ctx_;
  TranscribeOptions options_;
  const ModelMetadata* metadata_;
  DecodingOptions decode_options_;
  std::unique_ptr<WindowDecoder> decoder_;
  std::vector<float> window_;
  AlignmentModel alignment_model_;
  WordTimestampOptions word_options_;
  double last_speech_timestamp_ = 0.0;
  std::vector<int> initial_prompt_tokens_;
  TranscribeState state_;
  int64_t known_content_frames_ = -1;
  bool language_resolved_ = false;
  bool windows_done_ = false;  // every clip decoded: the rest of the stream is not needed
  bool done_ = false;
  TranscriptionResult out_;
};

}  // namespace wisp
