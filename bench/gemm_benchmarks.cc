// The packed GEMM kernels alone on the encoder's and the static decoder call's shapes, one
// thread: f32 panels (GemmPacked) against bf16 panels on vdpbf16ps (GemmBf16, including the
// per-call rounding of A) and q8_0 integer panels on VNNI (GemmQ8Int, including the per-call
// quantization of A). GFLOP/s counters (2·M·K·N per call). Not run by CI.
#include <benchmark/benchmark.h>

#include <array>
#include <random>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"
#include "kernels/gemm_packed.h"
#include "kernels/gemm_q8_int.h"

namespace {

using namespace wisp::kernels;

// {M, K, N}: encoder q/k/v/out, MLP up, MLP down, attention QK^T and PV (one head), conv1 and
// conv2 as GEMMs over im2col rows, the 128-row vocabulary projection.
constexpr std::array<std::array<int, 3>, 8> kShapes = {{{1500, 384, 384},
                                                        {1500, 384, 1536},
                                                        {1500, 1536, 384},
                                                        {1500, 64, 1500},
                                                        {1500, 1500, 64},
                                                        {3000, 240, 384},
                                                        {1500, 1152, 384},
                                                        {128, 384, 51864}}};

struct Operands {
  std::vector<float> A, W, C;
  Operands(int M, int K, int N) : A(size_t(M) * K), W(size_t(N) * K), C(size_t(M) * N) {
    std::mt19937 rng(1);
    std::normal_distribution<float> d(0.f, 1.f);
    for (auto& v : A) v = d(rng);
    for (auto& v : W) v = d(rng);
  }
};

void SetCounters(benchmark::State& state, int M, int K, int N) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * M * K * N, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  state.SetLabel(std::to_string(M) + "x" + std::to_string(K) + "x" + std::to_string(N));
}

void BM_GemmF32(benchmark::State& state) {
  const auto [M, K, N] = kShapes[state.range(0)];
  const Isa isa = DetectIsa();
  Operands op(M, K, N);
  std::vector<float> packed(PackedSize(isa, K, N));
  PackTransposed(isa, op.W.data(), K, N, K, packed.data());
  for (auto _ : state) {
    GemmPacked(isa, op.A.data(), K, packed.data(), K, K, N, nullptr, op.C.data(), N, 0, M, 0, N, false);
    benchmark::DoNotOptimize(op.C.data());
  }
  SetCounters(state, M, K, N);
}

void BM_GemmBf16(benchmark::State& state) {
  const auto [M, K, N] = kShapes[state.range(0)];
  const Bf16Isa isa = DetectBf16Isa();
  if (isa == Bf16Isa::kGeneric) return state.SkipWithError("no AVX512_BF16 on this CPU");
  Operands op(M, K, N);
  const int64_t lda = Bf16EvenK(K);
  std::vector<uint16_t> packed(PackedSizeBf16(K, N)), a16(size_t(M) * lda);
  PackTransposedBf16(isa, op.W.data(), K, N, K, packed.data());
  for (auto _ : state) {
    ConvertRowsBf16(isa, op.A.data(), K, M, K, a16.data(), lda);  // once per op input, as LinearOp does
    GemmBf16(isa, a16.data(), lda, packed.data(), K, K, N, nullptr, op.C.data(), N, 0, M, 0, N, false);
    benchmark::DoNotOptimize(op.C.data());
  }
  SetCounters(state, M, K, N);
}

void BM_GemmQ8Int(benchmark::State& state) {
  const auto [M, K, N] = kShapes[state.range(0)];
  const Q8IntIsa isa = DetectQ8IntIsa();
  if (isa == Q8IntIsa::kGeneric) return state.SkipWithError("no integer-product ISA on this CPU");
  if (K % 32 != 0) return state.SkipWithError("K is not a multiple of 32");
  Operands op(M, K, N);
  const int64_t nb = K / 32;
  std::vector<uint8_t> packed(PackedSizeQ8Int(K, N));
  std::vector<int8_t> qw(size_t(N) * K), qa(size_t(M) * K);
  std::vector<float> sw(size_t(N) * nb), sa(size_t(M) * nb);
  std::vector<int32_t> ca(size_t(M) * nb);
  PackRowsQ8Int(isa, op.W.data(), K, N, K, packed.data(), qw.data(), sw.data());
  for (auto _ : state) {
    QuantizeRowsQ8(isa, op.A.data(), K, M, K, qa.data(), sa.data(), ca.data());  // once per op input
    GemmQ8Int(isa, qa.data(), sa.data(), ca.data(), K, packed.data(), N, nullptr, op.C.data(), N, 0, M, 0, N);
    benchmark::DoNotOptimize(op.C.data());
  }
  SetCounters(state, M, K, N);
}

BENCHMARK(BM_GemmF32)->DenseRange(0, kShapes.size() - 1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GemmBf16)->DenseRange(0, kShapes.size() - 1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GemmQ8Int)->DenseRange(0, kShapes.size() - 1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
