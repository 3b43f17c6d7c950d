#include "cli/hardware_limits.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WISP_X86 1
#endif

namespace wisp {
namespace {

// Every kernel below runs `iters` rounds of kAcc independent multiply-adds per lane and returns a
// value depending on all of them, so the compiler can neither drop nor merge them. acc * m + a
// with m slightly below 1 converges instead of overflowing.
constexpr int kAcc = 16;

#if WISP_X86
// Through memory rather than _mm512_reduce_add_ps, whose GCC 12 header trips -Wuninitialized.
__attribute__((target("avx512f"))) float Horizontal512(__m512 v) {
  float lanes[16];
  _mm512_storeu_ps(lanes, v);
  float r = 0;
  for (float x : lanes) r += x;
  return r;
}

// The 16 accumulators are spelled out: at -O2 GCC does not unroll a loop over an array of them
// and keeps them in memory, which measures store forwarding instead of the FMA units.
#define WISP_FMA16(FMA)                                                                              \
  a0 = FMA(a0, m, a); a1 = FMA(a1, m, a); a2 = FMA(a2, m, a); a3 = FMA(a3, m, a);                \
  a4 = FMA(a4, m, a); a5 = FMA(a5, m, a); a6 = FMA(a6, m, a); a7 = FMA(a7, m, a);                \
  a8 = FMA(a8, m, a); a9 = FMA(a9, m, a); a10 = FMA(a10, m, a); a11 = FMA(a11, m, a);            \
  a12 = FMA(a12, m, a); a13 = FMA(a13, m, a); a14 = FMA(a14, m, a); a15 = FMA(a15, m, a);
#define WISP_SUM16(ADD)                                                                              \
  ADD(ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7))),                          \
      ADD(ADD(ADD(a8, a9), ADD(a10, a11)), ADD(ADD(a12, a13), ADD(a14, a15))))

__attribute__((target("avx512f"))) float FmaLoopAvx512(int64_t iters) {
  static_assert(kAcc == 16);
  __m512 a0 = _mm512_set1_ps(1.00f), a1 = _mm512_set1_ps(1.01f), a2 = _mm512_set1_ps(1.02f),
         a3 = _mm512_set1_ps(1.03f), a4 = _mm512_set1_ps(1.04f), a5 = _mm512_set1_ps(1.05f),
         a6 = _mm512_set1_ps(1.06f), a7 = _mm512_set1_ps(1.07f), a8 = _mm512_set1_ps(1.08f),
         a9 = _mm512_set1_ps(1.09f), a10 = _mm512_set1_ps(1.10f), a11 = _mm512_set1_ps(1.11f),
         a12 = _mm512_set1_ps(1.12f), a13 = _mm512_set1_ps(1.13f), a14 = _mm512_set1_ps(1.14f),
         a15 = _mm512_set1_ps(1.15f);
  const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-6f);
  for (int64_t i = 0; i < iters; ++i) {
    WISP_FMA16(_mm512_fmadd_ps)
  }
  return Horizontal512(WISP_SUM16(_mm512_add_ps));
}

__attribute__((target("avx2,fma"))) float FmaLoopAvx2(int64_t iters) {
  __m256 a0 = _mm256_set1_ps(1.00f), a1 = _mm256_set1_ps(1.01f), a2 = _mm256_set1_ps(1.02f),
         a3 = _mm256_set1_ps(1.03f), a4 = _mm256_set1_ps(1.04f), a5 = _mm256_set1_ps(1.05f),
         a6 = _mm256_set1_ps(1.06f), a7 = _mm256_set1_ps(1.07f), a8 = _mm256_set1_ps(1.08f),
         a9 = _mm256_set1_ps(1.09f), a10 = _mm256_set1_ps(1.10f), a11 = _mm256_set1_ps(1.11f),
         a12 = _mm256_set1_ps(1.12f), a13 = _mm256_set1_ps(1.13f), a14 = _mm256_set1_ps(1.14f),
         a15 = _mm256_set1_ps(1.15f);
  const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-6f);
  for (int64_t i = 0; i < iters; ++i) {
    WISP_FMA16(_mm256_fmadd_ps)
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, WISP_SUM16(_mm256_add_ps));
  float r = 0;
  for (float v : lanes) r += v;
  return r;
}

// Four accumulators in registers (spelled out for the same reason as above) hide the add latency.
__attribute__((target("avx512f"))) float SumAvx512(const float* p, int64_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (int64_t i = 0; i + 64 <= n; i += 64) {
    s0 = _mm512_add_ps(s0, _mm512_loadu_ps(p + i));
    s1 = _mm512_add_ps(s1, _mm512_loadu_ps(p + i + 16));
    s2 = _mm512_add_ps(s2, _mm512_loadu_ps(p + i + 32));
    s3 = _mm512_add_ps(s3, _mm512_loadu_ps(p + i + 48));
  }
  return Horizontal512(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

__attribute__((target("avx2"))) float SumAvx2(const float* p, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (int64_t i = 0; i + 32 <= n; i += 32) {
    s0 = _mm256_add_ps(s0, _mm256_loadu_ps(p + i));
    s1 = _mm256_add_ps(s1, _mm256_loadu_ps(p + i + 8));
    s2 = _mm256_add_ps(s2, _mm256_loadu_ps(p + i + 16));
    s3 = _mm256_add_ps(s3, _mm256_loadu_ps(p + i + 24));
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  float r = 0;
  for (float v : lanes) r += v;
  return r;
}
#endif

float FmaLoopScalar(int64_t iters) {
  float acc[kAcc];
  for (int j = 0; j < kAcc; ++j) acc[j] = 1.0f + 0.01f * j;
  for (int64_t i = 0; i < iters; ++i) {
    for (int j = 0; j < kAcc; ++j) acc[j] = acc[j] * 0.999999f + 1e-6f;
  }
  float r = 0;
  for (float v : acc) r += v;
  return r;
}

float SumScalar(const float* p, int64_t n) {
  float acc[8] = {};
  for (int64_t i = 0; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += p[i + j];
  }
  float r = 0;
  for (float v : acc) r += v;
  return r;
}

enum class Isa { kAvx512, kAvx2, kScalar };

Isa DetectIsa() {
#if WISP_X86
  if (__builtin_cpu_supports("avx512f")) return Isa::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::kAvx2;
#endif
  return Isa::kScalar;
}

int LanesOf(Isa isa) { return isa == Isa::kAvx512 ? 16 : isa == Isa::kAvx2 ? 8 : 1; }

float FmaLoop(Isa isa, int64_t iters) {
#if WISP_X86
  if (isa == Isa::kAvx512) return FmaLoopAvx512(iters);
  if (isa == Isa::kAvx2) return FmaLoopAvx2(iters);
#endif
  return FmaLoopScalar(iters);
}

float Sum(Isa isa, const float* p, int64_t n) {
#if WISP_X86
  if (isa == Isa::kAvx512) return SumAvx512(p, n);
  if (isa == Isa::kAvx2) return SumAvx2(p, n);
#endif
  return SumScalar(p, n);
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Runs fn(thread index) once on every thread of the pool (or once inline).
template <typename Fn>
void OnEveryThread(ThreadPool* pool, int threads, Fn&& fn) {
  if (pool == nullptr || threads == 1) {
    fn(0);
    return;
  }
  pool->ParallelFor(threads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) fn(static_cast<int>(t));
  });
}

std::atomic<float> g_sink{0};  // keeps results alive

}  // namespace

FmaPeak MeasureFmaPeak(ThreadPool* pool, double seconds) {
  const Isa isa = DetectIsa();
  FmaPeak peak;
  peak.isa = isa == Isa::kAvx512 ? "avx512f" : isa == Isa::kAvx2 ? "avx2+fma" : "scalar";
  peak.threads = pool ? pool->num_threads() : 1;
  const double flops_per_iter = 2.0 * kAcc * LanesOf(isa);
  // Calibrate on one thread: iterations for `seconds`.
  int64_t iters = 1 << 16;
  for (;;) {
    const auto t0 = std::chrono::steady_clock::now();
    g_sink = g_sink + FmaLoop(isa, iters);
    const double s = Seconds(t0);
    if (s > 0.02) {
      iters = static_cast<int64_t>(iters * seconds / s) + 1;
      break;
    }
    iters *= 4;
  }
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<float> out(peak.threads);
    const auto t0 = std::chrono::steady_clock::now();
    OnEveryThread(pool, peak.threads, [&](int t) { out[t] = FmaLoop(isa, iters); });
    const double s = Seconds(t0);
    for (float v : out) g_sink = g_sink + v;
    peak.gflops = std::max(peak.gflops, flops_per_iter * iters * peak.threads / s / 1e9);
  }
  return peak;
}

double MeasureReadBandwidthGBs(ThreadPool* pool, int64_t bytes, int reps) {
  const Isa isa = DetectIsa();
  const int threads = pool ? pool->num_threads() : 1;
  const int64_t n = (bytes / 4096) * 4096 / static_cast<int64_t>(sizeof(float));
  std::unique_ptr<float, void (*)(void*)> owner(static_cast<float*>(std::aligned_alloc(64, n * sizeof(float))),
                                                std::free);
  float* buf = owner.get();
  if (buf == nullptr) return 0;
  // Touch every page (in parallel, so first-touch places pages near the threads that read them).
  const int64_t chunk = n / threads / 1024 * 1024;
  OnEveryThread(pool, threads, [&](int t) {
    const int64_t b = t * chunk, e = t + 1 == threads ? n : b + chunk;
    for (int64_t i = b; i < e; ++i) buf[i] = 1.0f;
  });
  double best = 0;
  for (int rep = 0; rep < reps; ++rep) {
    std::vector<float> out(threads);
    const auto t0 = std::chrono::steady_clock::now();
    OnEveryThread(pool, threads, [&](int t) {
      const int64_t b = t * chunk, e = t + 1 == threads ? n : b + chunk;
      out[t] = Sum(isa, buf + b, e - b);
    });
    const double s = Seconds(t0);
    for (float v : out) g_sink = g_sink + v;
    best = std::max(best, n * sizeof(float) / s / 1e9);
  }
  return best;
}

double EncoderWindowFlops(const HParams& hp) {
  const double d = hp.n_audio_state, ctx = hp.n_audio_ctx, frames = 2.0 * hp.n_audio_ctx;
  const double conv1 = 2 * frames * d * (hp.n_mels * 3.0);
  const double conv2 = 2 * ctx * d * (d * 3.0);
  const double qkvo = 4 * (2 * ctx * d * d);
  const double mlp = 2 * (2 * ctx * d * (4 * d));
  const double attn = 2 * (2 * ctx * ctx * d);  // QK^T and PV over all heads
  return conv1 + conv2 + hp.n_audio_layer * (qkvo + mlp + attn);
}

double DecoderCallFlops(const HParams& hp, int n_tokens, int n_past, bool all_logits) {
  const double d = hp.n_text_state, n = n_tokens;
  // Keys seen by the queries of this call: sum over i of (n_past + i + 1).
  const double keys = n * n_past + n * (n + 1) / 2;
  const double self_proj = 4 * (2 * n * d * d);
  const double self_attn = 2 * (2 * keys * d);
  const double cross_proj = 2 * (2 * n * d * d);  // query and out; K/V are CrossKvFlops
  const double cross_attn = 2 * (2 * n * hp.n_audio_ctx * d);
  const double mlp = 2 * (2 * n * d * (4 * d));
  const double logits = 2 * (all_logits ? n : 1) * d * hp.n_vocab;
  return hp.n_text_layer * (self_proj + self_attn + cross_proj + cross_attn + mlp) + logits;
}

double CrossKvFlops(const HParams& hp) {
  const double d = hp.n_text_state;
  return hp.n_text_layer * 2 * (2.0 * hp.n_audio_ctx * d * d);
}

double StaticDecoderFlops(const HParams& hp, int n_tokens, bool all_logits, bool with_cross_kv) {
  return DecoderCallFlops(hp, n_tokens, 0, all_logits) + (with_cross_kv ? CrossKvFlops(hp) : 0.0);
}

DecodeStepBytes DecodeStepReadBytes(const HParams& hp, int n_past, double matrix_bytes_per_weight,
                                    int cross_kv_bytes_per_value) {
  const int64_t d = hp.n_text_state, f = sizeof(float);
  // Per layer: self q,k,v,out (4 d^2) + cross q,out (2 d^2) + mlp (8 d^2) as matrices; biases
  // (self q,v,out, cross q,out, mlp 4d + d) and three LayerNorms (6 d) in f32.
  const int64_t matrices = hp.n_text_layer * 14 * d * d + int64_t{hp.n_vocab} * d;
  const int64_t vectors = hp.n_text_layer * (10 * d + 6 * d) + 2 * d /* ln */ + d /* position */;
  DecodeStepBytes b;
  b.weights = static_cast<int64_t>(matrices * matrix_bytes_per_weight) + f * vectors;
  b.kv_cache = hp.n_text_layer * (f * 2 * (int64_t{n_past} + 1) * d +
                                  int64_t{cross_kv_bytes_per_value} * 2 * int64_t{hp.n_audio_ctx} * d);
  return b;
}

}  // namespace wisp
