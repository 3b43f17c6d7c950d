// The encoder's self-attention op alone (1500 queries x 1500 keys, 6 heads of 64: whisper tiny's
// shape), one thread, with each product precision of fast::Attention: f32, bf16 (vdpbf16ps) and
// int8 (VNNI). GFLOP/s counts the two products only (4 * n_q * n_kv * width); the softmax, the
// packing of K and V and the rounding of the operands are inside the time. Not run by CI.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "ops/ops_fast.h"

namespace {

void BM_EncoderAttention(benchmark::State& state) {
  const auto products = static_cast<wisp::fast::AttentionProducts>(state.range(0));
  constexpr int64_t kN = 1500, kHeads = 6, kHeadDim = 64, kWidth = kHeads * kHeadDim;
  std::vector<float> q(kN * kWidth), k(kN * kWidth), v(kN * kWidth), out(kN * kWidth);
  std::mt19937 rng(3);
  // Scores of a trained encoder span a few units: keep q.k / 8 in that range.
  std::normal_distribution<float> d(0.f, 1.f);
  for (auto* x : {&q, &k, &v}) {
    for (auto& e : *x) e = d(rng);
  }
  for (auto _ : state) {
    wisp::fast::Attention(nullptr, q.data(), kWidth, kN, k.data(), kWidth, v.data(), kWidth, kN, kHeads, kHeadDim,
                          /*causal=*/false, 0, out.data(), products);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(4.0 * kN * kN * kWidth, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
  static const char* kNames[] = {"f32", "bf16", "int8"};
  state.SetLabel(kNames[state.range(0)]);
}

BENCHMARK(BM_EncoderAttention)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
