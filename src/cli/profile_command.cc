// wisp profile: one transcription with the op profiler attached, reported per section
// (encoder, decoder) as the seed report's per-op table, with wall times and calls, and
// optionally as a Chrome trace. The pipeline only switches sections (WindowDecoder), so what is
// profiled is exactly what `wisp transcribe` runs.
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "api/engine.h"
#include "cli/cli_args.h"
#include "cli/commands.h"
#include "ops/profile_report.h"
#include "ops/profiler.h"
#include "pipeline/output_writers.h"
#include "util/thread_pool.h"

namespace wisp {
namespace {

constexpr const char* kCommand = "wisp profile";

const std::vector<OptionSpec>& ProfileOptionSpecs() {
  static const std::vector<OptionSpec> specs = {
      {"model", 'm', "MODEL", "ggml model file"},
      {"threads", 't', "N", "worker threads (default: the physical cores, " +
                                std::to_string(ThreadPool::DefaultThreadCount()) + " here)"},
      {"backend", 0, "NAME", "fast (default: SIMD kernels) or reference (plain loops)"},
      {"q8-exact", 0, "", "q8_0 models: exact products on the dequantized weights instead of int8 products"},
      {"compute", 0, "TYPE", kComputeFlagHelp},
      {"language", 'l', "LANG", "spoken language code (default: en for .en models, else detected)"},
      {"no-fallback", 0, "", "one greedy pass at temperature 0 per window, without the temperature fallback"},
      {"trace", 0, "FILE", "also write every op call as Chrome trace JSON (chrome://tracing, Perfetto)"},
      {"quiet", 'q', "", "do not print the transcript after the tables"},
  };
  return specs;
}

std::string ProfileHelp() {
  return "usage: wisp profile -m MODEL [options] AUDIO\n"
         "\n"
         "Transcribes AUDIO once, as `wisp transcribe` does, timing every op call, and prints for the\n"
         "encoder and the decoder (which includes the cross-attention K/V of each window) a table\n"
         "Op Name | Total Time (ms) | Share (%) | Calls | Fast path | Fast path (%), the section's\n"
         "wall time, its number of calls and the time per call; then the transcript.\n"
         "\n"
         "options:\n" +
         FormatOptionsHelp(ProfileOptionSpecs()) +
         "\n"
         "example:\n"
         "  wisp profile -m ggml-tiny.en.bin --threads 2 --trace trace.json jfk.wav\n"
         "\n"
         "exit codes: 0 success, 1 usage error, 2 unreadable model or audio\n";
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Wall time of each section: the op events form runs of one section each; a run lasts from the
// start of its first op to the end of its last, so the code between ops (embedding lookups,
// logit filters, sampling) counts towards the section it sits in.
std::map<std::string, double> SectionWallMs(const Profiler& profiler) {
  std::map<std::string, double> wall;
  const auto& events = profiler.events();
  size_t i = 0;
  while (i < events.size()) {
    size_t j = i;
    double end = events[i].second.start_us + events[i].second.dur_us;
    while (j + 1 < events.size() && events[j + 1].first == events[i].first) {
      ++j;
      end = std::max(end, events[j].second.start_us + events[j].second.dur_us);
    }
    wall[events[i].first] += (end - events[i].second.start_us) / 1000.0;
    i = j + 1;
  }
  return wall;
}

}  // namespace

int RunProfileCommand(const std::vector<std::string>& argv) {
  Result<ParsedArgs> args = ParseArgs(argv, ProfileOptionSpecs(), kCommand);
  if (!args.ok()) return ReportError(kCommand, args.status().message(), kExitUsage);
  if (args->Has("help")) {
    std::fputs(ProfileHelp().c_str(), stdout);
    return kExitOk;
  }
  const std::string usage_hint = " (see `wisp profile --help`)";
  const std::string model_path = args->Get("model");
  if (model_path.empty()) return ReportError(kCommand, "missing -m/--model MODEL" + usage_hint, kExitUsage);
  if (args->positional.size() != 1) {
    return ReportError(kCommand, "expected exactly one AUDIO file" + usage_hint, kExitUsage);
  }
  const std::string audio = args->positional[0];
  int threads = ThreadPool::DefaultThreadCount();
  if (args->Has("threads")) {
    Result<int> t = ParseIntFlag("--threads", args->Get("threads"), 1, 1024);
    if (!t.ok()) return ReportError(kCommand, t.status().message() + usage_hint, kExitUsage);
    threads = *t;
  }
  const std::string backend_name = args->Get("backend", "fast");
  if (backend_name != "fast" && backend_name != "reference") {
    return ReportError(kCommand, "--backend: expected fast or reference, got '" + backend_name + "'" + usage_hint,
                       kExitUsage);
  }
  Result<ComputeType> compute = ParseComputeFlag(*args);
  if (!compute.ok()) return ReportError(kCommand, compute.status().message() + usage_hint, kExitUsage);
  if (!FileExists(model_path)) {
    return ReportError(kCommand, "model '" + model_path + "' not found", kExitBadInput);
  }

  const auto load_start = std::chrono::steady_clock::now();
  const LoadOptions load_options{.keep_f32_matrices = backend_name == "reference",
                                 .q8_0_int8_activations = !args->Has("q8-exact"),
                                 .compute = *compute};
  Result<std::unique_ptr<WhisperEngine>> engine = WhisperEngine::Load(model_path, "", load_options);
  if (!engine.ok()) return ReportError(kCommand, engine.status().message(), kExitBadInput);
  const double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
  const HParams& hp = (*engine)->hparams();

  TranscribeOptions options;
  const std::string language = args->Get("language");
  if (!hp.multilingual()) {
    options.language = "en";
  } else {
    if (!language.empty() && (*engine)->tokenizer().LanguageToken(language) < 0) {
      return ReportError(kCommand, "--language: unknown language code '" + language + "'", kExitUsage);
    }
    options.language = language;
  }
  if (args->Has("no-fallback")) options.temperatures = {0.0};

  Profiler profiler;
  profiler.set_keep_events(true);  // section wall times come from the events, and --trace needs them
  ThreadPool pool(threads);
  OpContext ctx;
  ctx.pool = &pool;
  ctx.profiler = &profiler;
  ctx.backend = backend_name == "fast" ? Backend::kFast : Backend::kReference;

  const auto start = std::chrono::steady_clock::now();
  Result<TranscriptionResult> result = (*engine)->TranscribeFile(audio, options, ctx);
  const double total_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!result.ok()) return ReportError(kCommand, result.status().message(), kExitBadInput);

  // Calls as the pipeline marked them (Profiler::BeginCall): RunEncoder calls and decoder
  // forward passes.
  const int64_t encoder_calls = profiler.calls("encoder");
  const int64_t decoder_calls = profiler.calls("decoder");
  int64_t tokens = 0;
  for (const Segment& s : result->segments) tokens += static_cast<int64_t>(s.tokens.size());
  const std::map<std::string, double> wall = SectionWallMs(profiler);
  auto wall_of = [&](const char* s) { auto it = wall.find(s); return it == wall.end() ? 0.0 : it->second; };

  std::ostringstream out;
  out << "# wisp profile: " << model_path << " (" << hp.n_audio_layer << "+" << hp.n_text_layer
      << " layers, width " << hp.n_audio_state << "), backend " << backend_name << ", " << threads
      << " thread(s)\n\n";
  char line[256];
  out << "## encoder\n\n";
  WriteProfileTable(profiler, "encoder", out);
  std::snprintf(line, sizeof line, "\nencoder: wall %.3f ms, %lld call(s) (30-s windows), %.3f ms per call\n\n",
                wall_of("encoder"), static_cast<long long>(encoder_calls),
                encoder_calls > 0 ? wall_of("encoder") / encoder_calls : 0.0);
  out << line;
  out << "## decoder\n\n";
  WriteProfileTable(profiler, "decoder", out);
  std::snprintf(line, sizeof line,
                "\ndecoder: wall %.3f ms, %lld call(s) (forward passes; %lld tokens in the segments), "
                "%.3f ms per call\n\n",
                wall_of("decoder"), static_cast<long long>(decoder_calls), static_cast<long long>(tokens),
                decoder_calls > 0 ? wall_of("decoder") / decoder_calls : 0.0);
  out << line;
  std::snprintf(line, sizeof line, "model load %.1f ms; transcription wall %.3f ms (audio decoding and mel included)\n",
                load_ms, total_ms);
  out << line;
  std::fputs(out.str().c_str(), stdout);

  const std::string trace = args->Get("trace");
  if (!trace.empty()) {
    std::ofstream f(trace, std::ios::binary);
    WriteChromeTrace(profiler, f);
    f.close();
    if (!f) return ReportError(kCommand, "--trace: cannot write '" + trace + "'", kExitBadInput);
    std::fprintf(stderr, "%s: wrote %zu op events to %s\n", kCommand, profiler.events().size(), trace.c_str());
  }
  if (!args->Has("quiet")) {
    std::fputs("\n", stdout);
    std::fputs(RenderTxt(*result).c_str(), stdout);
  }
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace wisp
