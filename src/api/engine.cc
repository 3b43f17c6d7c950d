#include "api/engine.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>

#include "api/session.h"
#include "audio/audio_loader.h"
#include "util/cache_dir.h"

namespace wisp {
namespace {

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

const char* TiktokenFileNameFor(const HParams& hparams) {
  return hparams.multilingual() ? "multilingual.tiktoken" : "gpt2.tiktoken";
}

std::vector<std::string> TiktokenSearchPaths(const std::string& model_path, const HParams& hparams) {
  const std::string name = TiktokenFileNameFor(hparams);
  std::vector<std::string> paths = {DirectoryOf(model_path) + "/" + name};
  const char* assets = std::getenv("WISP_ASSETS");
  if (assets != nullptr && *assets != '\0') paths.push_back(std::string(assets) + "/" + name);
  // Where `wisp models download` puts them.
  if (Result<std::string> cache = ModelsCacheDir(); cache.ok()) {
    const std::string path = *cache + "/" + name;
    if (std::find(paths.begin(), paths.end(), path) == paths.end()) paths.push_back(path);
  }
  return paths;
}

Result<std::unique_ptr<WhisperEngine>> WhisperEngine::Load(const std::string& model_path,
                                                           const std::string& tokenizer_file,
                                                           const LoadOptions& load_options) {
  Result<std::unique_ptr<LoadedModel>> loaded = LoadModel(model_path, load_options);
  if (!loaded.ok()) return loaded.status();
  std::unique_ptr<LoadedModel> model = std::move(*loaded);
  const HParams& hparams = model->weights.hparams;
  // A vocabulary the checkpoint holds exactly (CTranslate2, Hugging Face) is the model's own, and
  // wins over any tiktoken file unless one is named explicitly.
  if (tokenizer_file.empty() && !model->metadata.ordinary_tokens.empty()) {
    Result<Tokenizer> tokenizer =
        Tokenizer::FromOrdinaryTokens(std::move(model->metadata.ordinary_tokens), hparams.n_vocab);
    if (!tokenizer.ok()) return BadInput("vocabulary of " + model_path + ": " + tokenizer.status().message());
    model->metadata.ordinary_tokens.clear();
    std::string source = "the " + model->metadata.format + " vocabulary of " + model_path;
    return std::unique_ptr<WhisperEngine>(
        new WhisperEngine(std::move(model), std::move(*tokenizer), source, false));
  }

  std::string tiktoken_path = tokenizer_file;
  if (tiktoken_path.empty()) {
    for (const std::string& candidate : TiktokenSearchPaths(model_path, hparams)) {
      if (IsRegularFile(candidate)) {
        tiktoken_path = candidate;
        break;
      }
    }
  }
  if (!tiktoken_path.empty()) {
    Result<Tokenizer> tokenizer = Tokenizer::FromTiktokenFile(tiktoken_path, hparams.n_vocab);
    if (!tokenizer.ok()) {
      return Status(tokenizer.status().kind() == ErrorKind::kNotFound ? ErrorKind::kNotFound : ErrorKind::kBadInput,
                    "tokenizer file " + tiktoken_path + ": " + tokenizer.status().message());
    }
    return std::unique_ptr<WhisperEngine>(new WhisperEngine(std::move(model), std::move(*tokenizer),
                                                            "tiktoken file " + tiktoken_path, false));
  }
  if (model->vocab.empty()) {
    std::string searched;
    for (const std::string& p : TiktokenSearchPaths(model_path, hparams)) searched += (searched.empty() ? "" : ", ") + p;
    return NotFound(model_path + ": this " + model->metadata.format + " checkpoint holds no vocabulary, and no " +
                    TiktokenFileNameFor(hparams) + " was found (looked in " + searched +
                    "): pass --tokenizer-file, or put openai-whisper's " + TiktokenFileNameFor(hparams) +
                    " there (`wisp models download tiny.en` fetches it)");
  }
  Result<Tokenizer> tokenizer = Tokenizer::FromGgmlVocab(model->vocab, hparams.n_vocab);
  if (!tokenizer.ok()) {
    return BadInput("vocabulary of " + model_path + ": " + tokenizer.status().message());
  }
  std::string source = "the vocabulary embedded in " + model_path + " (no " + TiktokenFileNameFor(hparams) +
                       " found next to the model, in $WISP_ASSETS or in the model cache; " +
                       std::to_string(tokenizer->lost_tokens()) +
                       " non-UTF-8 tokens are lost there, so non-ASCII text may decode differently "
                       "than with the tiktoken file)";
  return std::unique_ptr<WhisperEngine>(
      new WhisperEngine(std::move(model), std::move(*tokenizer), source, true));
}

Result<TranscriptionResult> WhisperEngine::TranscribeFile(const std::string& audio_path,
                                                          const TranscribeOptions& options,
                                                          const OpContext& ctx,
                                                          const AudioLoadOptions& audio) const {
  WISP_RETURN_IF_ERROR(CheckBackend(ctx));
  Result<std::unique_ptr<ReplayableAudio>> input = ReplayableAudio::Open(audio_path);
  if (!input.ok()) return input.status();
  // Name the file unless the audio layer already did.
  auto named = [&](const Status& st) {
    const std::string& m = st.message();
    return Status(st.kind(), m.find((*input)->display_name()) == std::string::npos && m.find(audio_path) == std::string::npos
                                 ? audio_path + ": " + m
                                 : m);
  };
  AudioLoadOptions scan_options = audio;
  if (scan_options.cancel == nullptr) scan_options.cancel = options.cancel;
  auto decode = [&](const SampleSink& sink) { return (*input)->Decode(sink, scan_options); };
  // A short spectrogram is kept whole in one pass, as transcribe() computes it; a longer one
  // leaves only its level and length, and a second pass streams the windows.
  Result<MelPass> pass =
      ComputeLogMelOrLevel(decode, mel_filters(), hparams().n_mels, audio.max_spectrogram_frames_in_memory);
  if (!pass.ok()) return named(pass.status());
  if (pass->mel) return Transcribe(model_->weights, tokenizer_, ctx, *pass->mel, options, &model_->metadata);

  Result<TranscriptionResult> streamed = TranscribeSecondPass(
      *this, pass->level, kSampleRate, options, ctx, [&](const SampleSink& sink, const std::atomic<bool>* stop) {
        AudioLoadOptions second_pass = scan_options;
        second_pass.cancel = stop;
        const Status st = (*input)->Decode(sink, second_pass);
        return st.ok() ? st : named(st);  // audio errors name the file; the session's carry their own words
      });
  return streamed;
}

Status WhisperEngine::CheckBackend(const OpContext& ctx) const {
  if (ctx.backend == Backend::kReference && !model_->weights.f32_matrices) {
    return InvalidArgument("the reference backend needs the f32 weights, and this model was loaded with the fast "
                           "backend's packed weights only (load it for the reference backend)");
  }
  return Status::Ok();
}

const float* WhisperEngine::mel_filters() const {
  const MelFilters& filters = model_->mel_filters;
  return filters.n_mels == hparams().n_mels && !filters.data.empty() ? filters.data.data() : nullptr;
}

}  // namespace wisp
