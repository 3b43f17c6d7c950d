// wisp_benchmarks: Google Benchmark versions of `wisp bench`'s figures on a random-weight
// tiny.en (f32, written once into a temp dir from the shared for-tests-ggml-tiny.en.bin header,
// or from $WISP_BENCH_HEADER). Each benchmark takes the thread count as its argument and reports
// GFLOP/s (encoder, static decoder call) or the bytes a decode step reads per second.
//   build/bin/wisp_benchmarks --benchmark_filter=Encoder --benchmark_repetitions=5
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cli/hardware_limits.h"
#include "model/decoder.h"
#include "model/encoder.h"
#include "model/ggml_loader.h"
#include "model/ggml_writer.h"
#include "util/thread_pool.h"

namespace wisp {
namespace {

// The model shared by every benchmark, created on first use and removed at exit.
class BenchModel {
 public:
  static const LoadedModel& Get() {
    static BenchModel instance;
    return *instance.model_;
  }

 private:
  BenchModel() {
    const char* env = std::getenv("WISP_BENCH_HEADER");
    const std::string header = env ? env : std::string(WISP_SHARED_DATA_DIR) + "/for-tests-ggml-tiny.en.bin";
    char dir[] = "/tmp/wisp_benchmarks_XXXXXX";
    if (mkdtemp(dir) == nullptr) Die("cannot create a temp dir");
    dir_ = dir;
    const std::string path = dir_ + "/ggml-random-tiny.en-f32.bin";
    RandomModelOptions options;
    options.type = GgmlType::kF32;
    const Status written = WriteRandomGgmlModel(header, path, options);
    if (!written.ok()) Die(written.message());
    Result<std::unique_ptr<LoadedModel>> loaded = LoadGgmlModel(path);
    if (!loaded.ok()) Die(loaded.status().message());
    model_ = std::move(*loaded);
  }
  ~BenchModel() { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  [[noreturn]] static void Die(const std::string& message) {
    std::fprintf(stderr, "wisp_benchmarks: %s\n", message.c_str());
    std::exit(2);
  }
  std::string dir_;
  std::unique_ptr<LoadedModel> model_;
};

std::vector<float> Pattern(size_t n) {
  std::vector<float> v(n);
  uint32_t seed = 12345;
  for (float& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = (seed >> 8) * (2.0f / 16777216.0f) - 1.0f;
  }
  return v;
}

// range(0): threads; range(1): 1 to attach a Profiler (its cost when on; off is the null check
// every op makes anyway).
void BM_EncoderWindow(benchmark::State& state) {
  const ModelWeights& w = BenchModel::Get().weights;
  const HParams& hp = w.hparams;
  ThreadPool pool(static_cast<int>(state.range(0)));
  Profiler profiler;
  OpContext ctx{&pool, state.range(1) ? &profiler : nullptr, Backend::kFast};
  const std::vector<float> mel = Pattern(static_cast<size_t>(hp.n_mels) * 2 * hp.n_audio_ctx);
  std::vector<float> out(static_cast<size_t>(hp.n_audio_ctx) * hp.n_audio_state);
  EncoderScratch scratch;
  for (auto _ : state) {
    RunEncoder(w, ctx, mel.data(), &scratch, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["FLOP"] = benchmark::Counter(EncoderWindowFlops(hp), benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::OneK::kIs1000);
}

// One static call: SetAudioFeatures (cross K/V) + 128 tokens with every logit, as the seed
// report's decoder. The cross K/V share is the separate BM_CrossKv.
void BM_DecoderStatic128(benchmark::State& state) {
  const ModelWeights& w = BenchModel::Get().weights;
  const HParams& hp = w.hparams;
  ThreadPool pool(static_cast<int>(state.range(0)));
  OpContext ctx{&pool, nullptr, Backend::kFast};
  const std::vector<float> features = Pattern(static_cast<size_t>(hp.n_audio_ctx) * hp.n_text_state);
  std::vector<int32_t> tokens(128);
  for (int i = 0; i < 128; ++i) tokens[i] = (i * 7919) % 50000;
  std::vector<float> logits(static_cast<size_t>(128) * hp.n_vocab);
  DecoderState s;
  InitDecoderState(hp, &s);
  for (auto _ : state) {
    SetAudioFeatures(w, ctx, features.data(), &s);
    RunDecoder(w, ctx, &s, tokens.data(), 128, /*all_logits=*/true, logits.data());
    benchmark::DoNotOptimize(logits.data());
  }
  state.counters["FLOP"] = benchmark::Counter(DecoderCallFlops(hp, 128, 0, true) + CrossKvFlops(hp),
                                              benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::OneK::kIs1000);
}

void BM_CrossKv(benchmark::State& state) {
  const ModelWeights& w = BenchModel::Get().weights;
  const HParams& hp = w.hparams;
  ThreadPool pool(static_cast<int>(state.range(0)));
  OpContext ctx{&pool, nullptr, Backend::kFast};
  const std::vector<float> features = Pattern(static_cast<size_t>(hp.n_audio_ctx) * hp.n_text_state);
  DecoderState s;
  InitDecoderState(hp, &s);
  for (auto _ : state) SetAudioFeatures(w, ctx, features.data(), &s);
  state.counters["FLOP"] = benchmark::Counter(CrossKvFlops(hp), benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::OneK::kIs1000);
}

// One token with the KV cache at position 64; "bytes" is what the step must read (weights as f32,
// token embedding, KV caches), so its rate is the effective bandwidth.
void BM_DecodeStep64(benchmark::State& state) {
  const ModelWeights& w = BenchModel::Get().weights;
  const HParams& hp = w.hparams;
  ThreadPool pool(static_cast<int>(state.range(0)));
  OpContext ctx{&pool, nullptr, Backend::kFast};
  const std::vector<float> features = Pattern(static_cast<size_t>(hp.n_audio_ctx) * hp.n_text_state);
  std::vector<float> logits(hp.n_vocab);
  DecoderState s;
  InitDecoderState(hp, &s);
  SetAudioFeatures(w, ctx, features.data(), &s);
  const int32_t token = 440;
  for (auto _ : state) {
    s.n_past = 64;
    RunDecoder(w, ctx, &s, &token, 1, /*all_logits=*/false, logits.data());
    benchmark::DoNotOptimize(logits.data());
  }
  state.SetBytesProcessed(state.iterations() * DecodeStepReadBytes(hp, 64).total());
}

// The profiler's own cost per op call, on the cheapest op (a 16-float add): range(0) 0 = off (the
// null check), 1 = on, 2 = on and keeping trace events. Multiply by the op calls of a window
// (54 for tiny's encoder) or a decode step (~71) to get its share.
void BM_ProfilerPerOp(benchmark::State& state) {
  float y[16] = {}, x[16] = {};
  Profiler profiler;
  profiler.set_keep_events(state.range(0) == 2);
  OpContext ctx{nullptr, state.range(0) ? &profiler : nullptr, Backend::kFast};
  for (auto _ : state) {
    AddInPlace(ctx, y, x, 16);
    benchmark::DoNotOptimize(y);
  }
}

BENCHMARK(BM_ProfilerPerOp)->Arg(0)->Arg(1)->Arg(2);
BENCHMARK(BM_EncoderWindow)->ArgsProduct({{1, 2}, {0, 1}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DecoderStatic128)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CrossKv)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DecodeStep64)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace wisp

BENCHMARK_MAIN();
