// wisp_beam_benchmarks: what a beam-search step costs next to a greedy one. One decoding step of
// N rows (RunDecoderBatch, each Linear one (N x d) product) against one single-row step
// (RunDecoder, n_tokens = 1), on a random-weight tiny.en with the self-attention caches at
// position 64. A step is bandwidth-bound (it streams every weight for a few rows), so a 5-row
// step should cost little more than a 1-row one.
//   build/bin/wisp_beam_benchmarks --benchmark_repetitions=5
// Arguments: threads, rows (0 = RunDecoder itself), matrix type (0 f32, 1 f16, 2 q8_0).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/decoder.h"
#include "model/decoder_batch.h"
#include "model/ggml_loader.h"
#include "model/ggml_writer.h"
#include "util/thread_pool.h"

namespace wisp {
namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "wisp_beam_benchmarks: %s\n", message.c_str());
  std::exit(2);
}

// The random tiny.en of each type, built on first use, loaded as the CLI loads (packed only).
const ModelWeights& Model(int type_arg) {
  static std::map<int, std::unique_ptr<LoadedModel>> models;
  std::unique_ptr<LoadedModel>& m = models[type_arg];
  if (m) return m->weights;
  const char* env = std::getenv("WISP_BENCH_HEADER");
  const std::string header_path = env ? env : std::string(WISP_SHARED_DATA_DIR) + "/for-tests-ggml-tiny.en.bin";
  Result<GgmlHeader> header = ReadGgmlHeader(header_path);
  if (!header.ok()) Die(header.status().message());
  RandomModelOptions options;
  options.type = type_arg == 0 ? GgmlType::kF32 : type_arg == 1 ? GgmlType::kF16 : GgmlType::kQ8_0;
  Result<std::vector<uint8_t>> bytes = BuildRandomGgmlModel(*header, options);
  if (!bytes.ok()) Die(bytes.status().message());
  char path[] = "/tmp/wisp_beam_benchmarks_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) Die("cannot create a temp file");
  const bool written = write(fd, bytes->data(), bytes->size()) == static_cast<ssize_t>(bytes->size());
  close(fd);
  if (!written) Die("cannot write the model");
  Result<std::unique_ptr<LoadedModel>> loaded = LoadGgmlModel(path, LoadOptions{.keep_f32_matrices = false});
  std::remove(path);
  if (!loaded.ok()) Die(loaded.status().message());
  m = std::move(*loaded);
  return m->weights;
}

std::vector<float> Pattern(size_t n) {
  std::vector<float> v(n);
  uint32_t seed = 12345;
  for (float& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = (seed >> 8) * (2.0f / 16777216.0f) - 1.0f;
  }
  return v;
}

void BM_DecodeStepRows(benchmark::State& state) {
  const int rows = static_cast<int>(state.range(1));
  const ModelWeights& w = Model(static_cast<int>(state.range(2)));
  const HParams& hp = w.hparams;
  ThreadPool pool(static_cast<int>(state.range(0)));
  OpContext ctx{&pool, nullptr, Backend::kFast};
  const std::vector<float> features = Pattern(static_cast<size_t>(hp.n_audio_ctx) * hp.n_text_state);
  DecoderState single;
  SetAudioFeatures(w, ctx, features.data(), &single);
  // A 64-token prefix in the cache, as BM_DecodeStep64 in model_benchmarks.cc.
  std::vector<int32_t> prefix(64);
  for (int i = 0; i < 64; ++i) prefix[i] = (i * 7919) % 50000;
  std::vector<float> logits(static_cast<size_t>(std::max(rows, 1)) * hp.n_vocab);
  RunDecoder(w, ctx, &single, prefix.data(), 64, false, logits.data());
  std::vector<int32_t> tokens(std::max(rows, 1));
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = 440 + static_cast<int32_t>(i);
  if (rows == 0) {
    for (auto _ : state) {
      single.n_past = 64;
      RunDecoder(w, ctx, &single, tokens.data(), 1, false, logits.data());
      benchmark::DoNotOptimize(logits.data());
    }
    return;
  }
  DecoderBatchState batch;
  ForkDecoderBatch(hp, single, rows, &batch);
  for (auto _ : state) {
    batch.n_past = 64;
    RunDecoderBatch(w, ctx, &batch, tokens.data(), logits.data());
    benchmark::DoNotOptimize(logits.data());
  }
  state.counters["rows"] = rows;
}

BENCHMARK(BM_DecodeStepRows)
    ->ArgNames({"threads", "rows", "type"})
    ->ArgsProduct({{1}, {0, 1, 2, 5}, {0, 1, 2}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace wisp

BENCHMARK_MAIN();
