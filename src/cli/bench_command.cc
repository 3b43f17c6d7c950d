// wisp bench: the figures kernel work is judged by — model load, one encoder window, a static
// decoder call (128 tokens over 1x1500xd audio features, the ExecuTorch seed report's shape),
// one decode step at position 64 — each the median of K repetitions after warm-up, set against
// the FMA peak and read bandwidth measured in the same run (cli/hardware_limits.h).
// The static call is timed twice: with all 128 rows projected onto the vocabulary (the seed's
// shape; openai-whisper, ONNX and ExecuTorch graphs do the same) and with the last row only
// (what whisper_decode and CTranslate2's prompt pass compute), so that tools/peers compares
// each engine with the same work.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "audio/audio_loader.h"
#include "audio/mel.h"
#include "cli/cli_args.h"
#include "cli/commands.h"
#include "cli/hardware_limits.h"
#include "model/decoder.h"
#include "model/encoder.h"
#include "model/formats/checkpoint_reader.h"
#include "model/ggml_loader.h"
#include "model/ggml_types.h"
#include "model/ggml_writer.h"
#include "pipeline/tokenizer.h"
#include "pipeline/transcribe.h"
#include "pipeline/transcribe_options.h"
#include "util/thread_pool.h"

namespace wisp {
namespace {

constexpr const char* kCommand = "wisp bench";
constexpr int kStaticTokens = 128;  // the seed report's static decoder call
constexpr int kStepPosition = 64;   // KV-cache position of the single-token decode step

const std::vector<OptionSpec>& BenchOptionSpecs() {
  static const std::vector<OptionSpec> specs = {
      {"model", 'm', "MODEL", "ggml model file to measure"},
      {"random", 0, "NAME", "instead of -m: a random-weight model of this shape (tiny.en, tiny, base, base.en), "
                            "written to a temp dir, header from " WISP_SHARED_DATA_DIR "/for-tests-ggml-NAME.bin"},
      {"header", 0, "PATH", "with --random: take hparams, filters and vocab from this ggml file instead"},
      {"type", 0, "TYPE", "with --random: type of the big matrices, f32, f16 (default) or q8_0"},
      {"threads", 't', "N", "worker threads (default: the physical cores, " +
                                std::to_string(ThreadPool::DefaultThreadCount()) + " here)"},
      {"backend", 0, "NAME", "fast (default: SIMD kernels) or reference (plain loops)"},
      {"q8-exact", 0, "", "q8_0 models: exact products on the dequantized weights instead of int8 products"},
      {"compute", 0, "TYPE", kComputeFlagHelp},
      {"reps", 'r', "K", "repetitions per figure; the median is reported (default 5)"},
      {"warmup", 0, "N", "untimed runs before the repetitions (default 1)"},
      {"bandwidth-mb", 0, "MB", "size of the read-bandwidth buffer (default 1024; must exceed the caches)"},
      {"only", 0, "LIST", "comma-separated subset of load,encoder,decoder,step,e2e,limits (default all; e2e "
                          "needs --audio)"},
      {"audio", 0, "FILE", "e2e: transcribe this audio, repeated to --e2e-seconds, once (temperature 0)"},
      {"e2e-seconds", 0, "S", "e2e: length of the repeated audio (default 600: a 10-minute file)"},
      {"audio-seconds", 0, "S", "encoder, decoder, step: a window holding S seconds of audio, encoded on "
                                "transcribe --short-audio's context (default 30: the full window)"},
  };
  return specs;
}

std::string BenchHelp() {
  return "usage: wisp bench (-m MODEL | --random NAME) [options]\n"
         "\n"
         "Measures, as the median of K repetitions after warm-up, and prints as a markdown table:\n"
         "  load      LoadModel: sniffing the format, mapping, validation, packing the matrices once\n"
         "  encoder   RunEncoder on one 30-s window (or --audio-seconds' context): ms, GFLOP/s, % of the\n"
         "            measured FMA peak\n"
         "  decoder   one static RunDecoder call on 128 tokens after SetAudioFeatures on 1x1500xd\n"
         "            features (cross-attention K/V, reported separately), timed twice: with all\n"
         "            128 rows of logits and with the last row's only; each with K/V excluded and\n"
         "            included\n"
         "  step      one RunDecoder call on 1 token with the KV cache at position 64: ms per token,\n"
         "            bytes it must read, and the bound those bytes set at the measured bandwidth\n"
         "  e2e       with --audio FILE: log-mel + transcribe() of FILE repeated to --e2e-seconds\n"
         "            (10 minutes), once, in memory: ms, real-time factor, windows and tokens\n"
         "  limits    FMA-loop GFLOP/s and read bandwidth over a 1 GB buffer, on 1 and N threads\n"
         "and the peak RSS. FLOP counts follow from the hparams (cli/hardware_limits.h).\n"
         "\n"
         "options:\n" +
         FormatOptionsHelp(BenchOptionSpecs()) +
         "\n"
         "examples:\n"
         "  wisp bench --random tiny.en --type f32 --threads 2\n"
         "  wisp bench -m ggml-base.bin --backend reference --reps 1 --only encoder,step\n"
         "\n"
         "exit codes: 0 success, 1 usage error, 2 unreadable model or header\n";
}

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Median of `reps` timings of fn after `warmup` untimed calls.
double MedianMs(int warmup, int reps, const std::function<void()>& fn) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(MsSince(t0));
  }
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  return n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

struct Request {
  std::string model, random, header, type = "f16";
  int threads = 1, reps = 5, warmup = 1, bandwidth_mb = 1024;
  std::string audio;
  int e2e_seconds = 600;
  int audio_seconds = 30;
  Backend backend = Backend::kFast;
  bool q8_exact = false;
  ComputeType compute = ComputeType::kAuto;
  std::set<std::string> only;
  bool Wants(const std::string& what) const { return only.empty() || only.count(what) > 0; }
};

Result<Request> BuildRequest(const ParsedArgs& args) {
  Request r;
  r.model = args.Get("model");
  r.random = args.Get("random");
  if (r.model.empty() == r.random.empty()) return InvalidArgument("give exactly one of -m MODEL and --random NAME");
  r.header = args.Get("header");
  if (!r.random.empty() && r.header.empty()) {
    r.header = std::string(WISP_SHARED_DATA_DIR) + "/for-tests-ggml-" + r.random + ".bin";
  }
  r.type = args.Get("type", "f16");
  if (r.type != "f32" && r.type != "f16" && r.type != "q8_0") {
    return InvalidArgument("--type: expected f32, f16 or q8_0, got '" + r.type + "'");
  }
  if (!r.model.empty() && (args.Has("type") || args.Has("header"))) {
    return InvalidArgument("--type and --header only apply to --random");
  }
  r.threads = ThreadPool::DefaultThreadCount();
  if (args.Has("threads")) {
    Result<int> t = ParseIntFlag("--threads", args.Get("threads"), 1, 1024);
    if (!t.ok()) return t.status();
    r.threads = *t;
  }
  if (args.Has("reps")) {
    Result<int> k = ParseIntFlag("--reps", args.Get("reps"), 1, 1000);
    if (!k.ok()) return k.status();
    r.reps = *k;
  }
  if (args.Has("warmup")) {
    Result<int> w = ParseIntFlag("--warmup", args.Get("warmup"), 0, 100);
    if (!w.ok()) return w.status();
    r.warmup = *w;
  }
  if (args.Has("bandwidth-mb")) {
    Result<int> mb = ParseIntFlag("--bandwidth-mb", args.Get("bandwidth-mb"), 16, 65536);
    if (!mb.ok()) return mb.status();
    r.bandwidth_mb = *mb;
  }
  r.q8_exact = args.Has("q8-exact");
  Result<ComputeType> compute = ParseComputeFlag(args);
  if (!compute.ok()) return compute.status();
  r.compute = *compute;
  const std::string backend = args.Get("backend", "fast");
  if (backend == "reference") {
    r.backend = Backend::kReference;
  } else if (backend != "fast") {
    return InvalidArgument("--backend: expected fast or reference, got '" + backend + "'");
  }
  std::stringstream only(args.Get("only"));
  for (std::string item; std::getline(only, item, ',');) {
    if (item.empty()) continue;
    if (item != "load" && item != "encoder" && item != "decoder" && item != "step" && item != "e2e" &&
        item != "limits") {
      return InvalidArgument("--only: unknown figure '" + item + "' (load, encoder, decoder, step, e2e, limits)");
    }
    r.only.insert(item);
  }
  r.audio = args.Get("audio");
  if (r.only.count("e2e") != 0 && r.audio.empty()) return InvalidArgument("--only e2e needs --audio FILE");
  if (args.Has("audio-seconds")) {
    Result<int> s = ParseIntFlag("--audio-seconds", args.Get("audio-seconds"), 1, 30);
    if (!s.ok()) return s.status();
    r.audio_seconds = *s;
  }
  if (args.Has("e2e-seconds")) {
    Result<int> s = ParseIntFlag("--e2e-seconds", args.Get("e2e-seconds"), 1, 24 * 3600);
    if (!s.ok()) return s.status();
    r.e2e_seconds = *s;
  }
  return r;
}

struct EndToEnd {
  double ms = 0;
  size_t segments = 0, tokens = 0;
};

// The audio file repeated to `seconds`, then what `wisp transcribe` does after decoding the file:
// the streamed log-mel and transcribe() at temperature 0. Text is irrelevant here, so the
// model's own vocabulary serves as tokenizer.
Result<EndToEnd> RunEndToEnd(const LoadedModel& model, const OpContext& ctx, const std::string& audio, int seconds) {
  Result<std::vector<float>> clip = LoadAudio16k(audio);
  if (!clip.ok()) return clip.status();
  if (clip->empty()) return BadInput("--audio " + audio + ": no samples");
  Result<Tokenizer> tok = Tokenizer::FromGgmlVocab(model.vocab, model.weights.hparams.n_vocab);
  if (!tok.ok()) return tok.status();
  TranscribeOptions options;
  options.language = "en";
  options.temperatures = {0.0};  // one greedy pass, no fallback
  const auto t0 = std::chrono::steady_clock::now();
  // Pushed a second at a time, as `wisp transcribe` streams a decoded file.
  LogMelBuilder builder(model.mel_filters.data.data(), model.mel_filters.n_mels);
  std::vector<float> chunk(16000);
  for (size_t done = 0, total = static_cast<size_t>(seconds) * 16000; done < total; done += chunk.size()) {
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = (*clip)[(done + i) % clip->size()];
    builder.Push(chunk.data(), std::min(chunk.size(), total - done));
  }
  const LogMelSpectrogram mel = builder.Finish();
  Result<TranscriptionResult> result = Transcribe(model.weights, *tok, ctx, mel, options, &model.metadata);
  if (!result.ok()) return result.status();
  EndToEnd e2e;
  e2e.ms = MsSince(t0);
  e2e.segments = result->segments.size();
  for (const Segment& s : result->segments) e2e.tokens += s.tokens.size();
  return e2e;
}

// A temp dir removed on scope exit.
struct TempDir {
  std::string path;
  ~TempDir() {
    if (!path.empty()) std::system(("rm -rf '" + path + "'").c_str());
  }
};

}  // namespace

int RunBenchCommand(const std::vector<std::string>& argv) {
  Result<ParsedArgs> args = ParseArgs(argv, BenchOptionSpecs(), kCommand);
  if (!args.ok()) return ReportError(kCommand, args.status().message(), kExitUsage);
  if (args->Has("help")) {
    std::fputs(BenchHelp().c_str(), stdout);
    return kExitOk;
  }
  Result<Request> request = BuildRequest(*args);
  if (!request.ok()) return ReportError(kCommand, request.status().message() + " (see `wisp bench --help`)", kExitUsage);
  const Request& r = *request;

  TempDir temp;
  std::string model_path = r.model;
  if (!r.random.empty()) {
    char dir[] = "/tmp/wisp_bench_XXXXXX";
    if (mkdtemp(dir) == nullptr) return ReportError(kCommand, "cannot create a temp dir", kExitBadInput);
    temp.path = dir;
    model_path = temp.path + "/ggml-random-" + r.random + "-" + r.type + ".bin";
    RandomModelOptions options;
    options.type = *ParseGgmlTypeName(r.type);
    const auto t0 = std::chrono::steady_clock::now();
    const Status written = WriteRandomGgmlModel(r.header, model_path, options);
    if (!written.ok()) return ReportError(kCommand, "--random: " + written.message(), kExitBadInput);
    std::fprintf(stderr, "%s: wrote random %s (%s) in %.1f s\n", kCommand, r.random.c_str(), r.type.c_str(),
                 MsSince(t0) / 1000);
  }

  const std::string load_before = ReadFirstLine("/proc/loadavg");
  ThreadPool pool(r.threads);
  OpContext ctx;
  ctx.pool = &pool;
  ctx.backend = r.backend;

  const LoadOptions load_options{.keep_f32_matrices = r.backend == Backend::kReference,
                                 .q8_0_int8_activations = !r.q8_exact,
                                 .compute = r.compute};
  std::unique_ptr<LoadedModel> model;
  double load_ms = MedianMs(r.Wants("load") ? r.warmup : 0, r.Wants("load") ? r.reps : 1, [&] {
    model.reset();
    Result<std::unique_ptr<LoadedModel>> loaded = LoadModel(model_path, load_options);
    if (loaded.ok()) model = std::move(*loaded);
  });
  if (!model) {
    Result<std::unique_ptr<LoadedModel>> loaded = LoadModel(model_path, load_options);
    return ReportError(kCommand, loaded.ok() ? "load failed" : loaded.status().message(), kExitBadInput);
  }
  const ModelWeights& w = model->weights;
  // How the fast backend holds the matrices (the token embedding is representative: every
  // matrix of a file shares its type); the reference backend reads f32 everywhere.
  const Tensor& emb = w.token_embedding;
  const bool fast = r.backend == Backend::kFast;
  const bool q8 = emb.packed_q8_0 != nullptr || emb.packed_q8_0_int != nullptr;
  const char* matrix_type = !fast                     ? "f32"
                            : emb.packed_bf16         ? "bf16 (bf16 products, attention too)"
                            : emb.packed_q8_0_int     ? "q8_0 (int8 products)"
                            : q8                      ? "q8_0"
                            : emb.packed_f16          ? "f16"
                                                      : "f32";
  // Panels hold an f32 scale per 32 weights: 36 bytes a block (the file's blocks are 34).
  const double matrix_bytes = !fast ? 4.0 : q8 ? 36.0 / 32.0 : emb.packed_f16 || emb.packed_bf16 ? 2.0 : 4.0;
  const HParams& hp = w.hparams;
  const int64_t d = hp.n_audio_state;
  // The audio context of a window holding --audio-seconds of audio under --short-audio's default
  // rule; the flop counts follow it (short_hp: the same model with that context).
  const AudioContext audio_ctx = ShortAudioContext(int64_t{r.audio_seconds} * kSampleRate / kHopLength,
                                                   hp.n_audio_ctx, ShortAudioRule{});
  const int n_ctx = audio_ctx.total();
  HParams short_hp = hp;
  short_hp.n_audio_ctx = n_ctx;

  // Deterministic inputs: a log-mel-like window in [-1, 1], features of unit scale, token ids.
  std::vector<float> mel(static_cast<size_t>(hp.n_mels) * 2 * hp.n_audio_ctx);
  uint32_t seed = 12345;
  auto next = [&] { seed = seed * 1664525u + 1013904223u; return (seed >> 8) * (2.0f / 16777216.0f) - 1.0f; };
  for (float& v : mel) v = next();
  std::vector<float> features(static_cast<size_t>(hp.n_audio_ctx) * d);
  EncoderScratch encoder_scratch;
  double encoder_ms = 0;
  if (r.Wants("encoder")) {
    encoder_ms = MedianMs(r.warmup, r.reps, [&] {
      RunEncoder(w, ctx, mel.data(), &encoder_scratch, features.data(), audio_ctx.head, audio_ctx.tail);
    });
  } else {
    for (float& v : features) v = next();
  }

  DecoderState state;
  InitDecoderState(hp, &state);
  std::vector<int32_t> tokens(kStaticTokens);
  for (int i = 0; i < kStaticTokens; ++i) tokens[i] = (i * 7919) % 50000;
  std::vector<float> logits(static_cast<size_t>(kStaticTokens) * hp.n_vocab);
  double kv_ms = 0, dec_ms = 0, dec_last_ms = 0, step_ms = 0;
  if (r.Wants("decoder") || r.Wants("step")) {
    kv_ms = MedianMs(r.Wants("decoder") ? r.warmup : 0, r.Wants("decoder") ? r.reps : 1,
                     [&] { SetAudioFeatures(w, ctx, features.data(), &state, n_ctx); });
  }
  if (r.Wants("decoder")) {
    dec_ms = MedianMs(r.warmup, r.reps, [&] {
      state.n_past = 0;
      RunDecoder(w, ctx, &state, tokens.data(), kStaticTokens, /*all_logits=*/true, logits.data());
    });
    // The same call with only the last row projected onto the vocabulary (the decode loop's
    // prompt pass): 127 rows of the logits GEMM fewer.
    dec_last_ms = MedianMs(r.warmup, r.reps, [&] {
      state.n_past = 0;
      RunDecoder(w, ctx, &state, tokens.data(), kStaticTokens, /*all_logits=*/false, logits.data());
    });
  }
  if (r.Wants("step")) {
    step_ms = MedianMs(r.warmup, r.reps, [&] {
      state.n_past = kStepPosition;
      RunDecoder(w, ctx, &state, tokens.data(), 1, /*all_logits=*/false, logits.data());
    });
  }

  // Peak RSS of the model work (before e2e, whose audio and transcript add to it).
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  EndToEnd e2e;
  if (!r.audio.empty() && r.Wants("e2e")) {
    Result<EndToEnd> run = RunEndToEnd(*model, ctx, r.audio, r.e2e_seconds);
    if (!run.ok()) return ReportError(kCommand, run.status().message(), kExitBadInput);
    e2e = *run;
  }

  // Peak RSS with the end-to-end run, read before the limits allocate their 1 GB buffer.
  rusage usage_e2e{};
  getrusage(RUSAGE_SELF, &usage_e2e);
  // Hardware limits last, so that their buffer does not count in the peak RSS.
  FmaPeak fma1, fman;
  double bw1 = 0, bwn = 0;
  if (r.Wants("limits") || r.Wants("encoder") || r.Wants("decoder") || r.Wants("step")) {
    fma1 = MeasureFmaPeak(nullptr);
    fman = r.threads > 1 ? MeasureFmaPeak(&pool) : fma1;
    const int64_t bw_bytes = int64_t{r.bandwidth_mb} << 20;
    bw1 = MeasureReadBandwidthGBs(nullptr, bw_bytes);
    bwn = r.threads > 1 ? MeasureReadBandwidthGBs(&pool, bw_bytes) : bw1;
  }
  const double peak = fman.gflops, bandwidth = bwn;
  const std::string load_after = ReadFirstLine("/proc/loadavg");

  std::ostringstream table;
  auto row = [&](const std::string& what, double ms, const std::string& work, const std::string& rate,
                 const std::string& share) {
    table << "| " << what << " | " << Fmt("%.3f", ms) << " | " << work << " | " << rate << " | " << share << " |\n";
  };
  auto flops_row = [&](const std::string& what, double ms, double flops) {
    const double gflops = flops / (ms * 1e-3) / 1e9;
    row(what, ms, Fmt("%.2f GFLOP", flops / 1e9), Fmt("%.1f GFLOP/s", gflops),
        peak > 0 ? Fmt("%.1f %% of FMA peak", 100.0 * gflops / peak) : "");
  };
  table << "| Figure | Median (ms) | Work | Rate | % of limit |\n|---|---:|---|---:|---:|\n";
  if (r.Wants("load")) {
    row("load (" + model->metadata.format + ")", load_ms,
        Fmt("%.1f MB f32 in place, ", model->stats.bytes_in_place / 1e6) +
            Fmt("%.1f MB copied/converted", model->stats.bytes_copied / 1e6),
        "", "");
  }
  const std::string window = n_ctx == hp.n_audio_ctx ? "one 30-s window" : Fmt("%.0f positions", n_ctx);
  if (r.Wants("encoder")) flops_row("encoder, " + window, encoder_ms, EncoderWindowFlops(short_hp));
  if (r.Wants("decoder")) {
    flops_row(Fmt("decoder: cross-attention K/V (SetAudioFeatures, 1x%.0fxd)", n_ctx), kv_ms, CrossKvFlops(short_hp));
    // "included" rows add the K/V median to the call's median (they are timed apart).
    flops_row("decoder: static call, 128 tokens, all logits, cross K/V excluded", dec_ms,
              StaticDecoderFlops(short_hp, kStaticTokens, /*all_logits=*/true, /*with_cross_kv=*/false));
    flops_row("decoder: static call, 128 tokens, all logits, cross K/V included", dec_ms + kv_ms,
              StaticDecoderFlops(short_hp, kStaticTokens, /*all_logits=*/true, /*with_cross_kv=*/true));
    flops_row("decoder: static call, 128 tokens, last logits, cross K/V excluded", dec_last_ms,
              StaticDecoderFlops(short_hp, kStaticTokens, /*all_logits=*/false, /*with_cross_kv=*/false));
    flops_row("decoder: static call, 128 tokens, last logits, cross K/V included", dec_last_ms + kv_ms,
              StaticDecoderFlops(short_hp, kStaticTokens, /*all_logits=*/false, /*with_cross_kv=*/true));
  }
  std::string step_note;
  if (r.Wants("step")) {
    // Compute bf16 packs the cross-attention K/V in bf16, and int8 where the stored type allows
    // (model/transformer_block.h CrossKvContextOf).
    const bool kv_bf16 = fast && (w.compute == ComputeType::kBf16 || w.cross_kv_bf16);
    const DecodeStepBytes bytes = DecodeStepReadBytes(short_hp, kStepPosition, matrix_bytes, kv_bf16 ? 2 : 4);
    const double bound_ms = bandwidth > 0 ? bytes.total() / (bandwidth * 1e9) * 1e3 : 0;
    row("decode step at position 64 (per token)", step_ms,
        Fmt("%.1f MB read", bytes.total() / 1e6) + Fmt(" (%.1f weights", bytes.weights / 1e6) +
            Fmt(" + %.1f KV)", bytes.kv_cache / 1e6),
        Fmt("%.1f GB/s", bytes.total() / (step_ms * 1e-3) / 1e9),
        bandwidth > 0 ? Fmt("%.1f %% of bandwidth", 100.0 * bound_ms / step_ms) : "");
    step_note = "decode step bandwidth bound: " + Fmt("%.1f MB", bytes.total() / 1e6) + " / " +
                Fmt("%.1f GB/s", bandwidth) + " = " + Fmt("%.3f ms", bound_ms) + "; measured / bound = " +
                Fmt("%.2f", bound_ms > 0 ? step_ms / bound_ms : 0.0) + "\n";
  }

  if (e2e.ms > 0) {
    row("end to end, " + std::to_string(r.e2e_seconds) + "-s file (log-mel + transcribe, temperature 0, once)", e2e.ms,
        Fmt("%.0f segments, ", static_cast<double>(e2e.segments)) + Fmt("%.0f tokens", static_cast<double>(e2e.tokens)),
        Fmt("RTF %.4f", e2e.ms / 1000.0 / r.e2e_seconds), "");
  }

  std::printf("# wisp bench: %s\n\n", r.random.empty() ? model_path.c_str() : ("random " + r.random + " " + r.type).c_str());
  std::printf("- model: %d+%d layers, width %lld, n_vocab %d, ftype %d (matrices executed as %s)\n",
              hp.n_audio_layer, hp.n_text_layer, static_cast<long long>(d), hp.n_vocab, hp.ftype, matrix_type);
  std::printf("- backend %s, %d thread(s), median of %d rep(s) after %d warm-up\n",
              r.backend == Backend::kFast ? "fast" : "reference", r.threads, r.reps, r.warmup);
  std::printf("- compute %s (asked: %s)%s%s\n", ComputeTypeName(w.compute), ComputeTypeName(r.compute),
              model->compute_note.empty() ? "" : ": ", model->compute_note.c_str());
  std::printf("- CPU: %s, %ld online CPUs\n", CpuModel().c_str(), sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("- load average (/proc/loadavg) before: %s; after: %s\n", load_before.c_str(), load_after.c_str());
  if (fma1.gflops > 0) {
    std::printf("- FMA peak (%s loop, 16 accumulators): %.1f GFLOP/s on 1 thread", fma1.isa.c_str(), fma1.gflops);
    if (r.threads > 1) std::printf(", %.1f GFLOP/s on %d threads", fman.gflops, fman.threads);
    std::printf("\n- read bandwidth (sum over %d MB): %.1f GB/s on 1 thread", r.bandwidth_mb, bw1);
    if (r.threads > 1) std::printf(", %.1f GB/s on %d threads", bwn, r.threads);
    std::printf("\n- %% of limit: against the %d-thread figures\n", r.threads);
  }
  std::printf("\n%s\n", table.str().c_str());
  if (!step_note.empty()) std::printf("%s", step_note.c_str());
  std::printf("peak RSS (ru_maxrss, read before the bandwidth buffer is allocated): %.1f MB\n", usage.ru_maxrss / 1024.0);
  if (e2e.ms > 0) std::printf("peak RSS including the end-to-end run: %.1f MB\n", usage_e2e.ru_maxrss / 1024.0);
  return kExitOk;
}

}  // namespace wisp
