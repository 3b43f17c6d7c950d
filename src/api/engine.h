// One loaded Whisper model ready to transcribe files: the ggml weights, mel filters and the
// tokenizer, all immutable after Load, so any number of threads may call TranscribeFile on one
// engine at once (each call brings its own OpContext / ThreadPool and per-stream state).
// Shared by the C API (wisp.h) and the `wisp` command line.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "audio/input_rules.h"
#include "model/formats/checkpoint_reader.h"
#include "model/ggml_loader.h"
#include "ops/ops.h"
#include "pipeline/tokenizer.h"
#include "pipeline/transcribe.h"
#include "util/status.h"

namespace wisp {

// The tiktoken ranks file a model's vocabulary comes from: multilingual.tiktoken for
// multilingual models, gpt2.tiktoken for English-only ones (as openai-whisper's get_encoding).
const char* TiktokenFileNameFor(const HParams& hparams);

// Where a tiktoken file is looked for when none is given, in order: the model's directory,
// then $WISP_ASSETS, then the model cache that `wisp models download` fills ($WISP_MODELS_DIR,
// else $XDG_CACHE_HOME/wisp, else ~/.cache/wisp). The first existing file wins.
std::vector<std::string> TiktokenSearchPaths(const std::string& model_path, const HParams& hparams);

class WhisperEngine {
 public:
  // Loads the ggml model at model_path. tokenizer_file: a tiktoken ranks file; empty searches
  // TiktokenSearchPaths and, when none exists, uses the vocabulary embedded in the model file
  // (exact for ASCII text; see Tokenizer::FromGgmlVocab for what differs otherwise).
  // Errors name the file: NotFound/BadInput for the model, BadInput for the tokenizer.
  // load_options.keep_f32_matrices = false keeps one copy of the weights (the fast backend's
  // panels); TranscribeFile then refuses the reference backend with an error saying so.
  static Result<std::unique_ptr<WhisperEngine>> Load(const std::string& model_path,
                                                     const std::string& tokenizer_file,
                                                     const LoadOptions& load_options = {});

  // Decodes audio_path (any format the audio layer reads; "-" is stdin, spooled to a private
  // temporary file) with memory bounded however long it is: up to 10 minutes, one pass keeps
  // the spectrogram (<= 31 MB); longer audio is read twice, streaming: a first pass for the
  // spectrogram's level and length (audio_loader.h's ComputeLogMelOrLevel), then a Session
  // (session.h) fed block by block, which decodes each window as its frames arrive and releases
  // them. Either way the result is exactly the official transcribe()'s. options.cancel also
  // stops the audio passes.
  // audio: the audio layer's rules (max_duration_seconds, where repair warnings go).
  Result<TranscriptionResult> TranscribeFile(const std::string& audio_path,
                                             const TranscribeOptions& options,
                                             const OpContext& ctx,
                                             const AudioLoadOptions& audio = {}) const;

  const LoadedModel& model() const { return *model_; }
  // InvalidArgument when ctx asks for the reference backend and the model was loaded without
  // its f32 weights: the one check every transcription entry point makes.
  Status CheckBackend(const OpContext& ctx) const;
  // The model's (n_mels, 201) mel filters, or nullptr when it carries none of its size: the audio
  // layer then computes librosa's, as openai-whisper does for n_mels.
  const float* mel_filters() const;
  const HParams& hparams() const { return model_->weights.hparams; }
  const Tokenizer& tokenizer() const { return tokenizer_; }
  // A sentence saying which tokenizer is in use ("tiktoken file /x/gpt2.tiktoken" or
  // "the vocabulary embedded in the model file (...)"), for --verbose.
  const std::string& tokenizer_source() const { return tokenizer_source_; }
  // True when no tiktoken file was found and the model's own vocab is used (whose lost tokens
  // make non-ASCII text decode differently from openai-whisper); front ends warn about it.
  bool tokenizer_is_ggml_fallback() const { return ggml_fallback_; }

 private:
  WhisperEngine(std::unique_ptr<LoadedModel> model, Tokenizer tokenizer, std::string source, bool ggml_fallback)
      : model_(std::move(model)),
        tokenizer_(std::move(tokenizer)),
        tokenizer_source_(std::move(source)),
        ggml_fallback_(ggml_fallback) {}

  std::unique_ptr<LoadedModel> model_;
  Tokenizer tokenizer_;
  std::string tokenizer_source_;
  bool ggml_fallback_ = false;
};

}  // namespace wisp
