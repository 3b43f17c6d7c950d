// The two ceilings `wisp bench` compares every figure against, measured in the same run (the
// machine is shared and throttles, so a datasheet peak would flatter or insult the kernels):
// the FMA throughput of a register-only loop and the read bandwidth of a streaming sum over a
// buffer far larger than any cache. Also the work model of Whisper's three hot calls (FLOPs of
// an encoder window, a static decoder call, bytes a decode step must read), which turns
// milliseconds into GFLOP/s and into a bandwidth bound.
#pragma once
#include <cstdint>
#include <string>

#include "model/weights.h"
#include "util/thread_pool.h"

namespace wisp {

struct FmaPeak {
  double gflops = 0;   // single-precision FLOP/s (an FMA counts 2) / 1e9
  std::string isa;     // "avx512f", "avx2+fma" or "scalar"
  int threads = 1;
};

// Runs a loop of independent FMAs (16 vector accumulators, no memory traffic) for about
// `seconds` on every thread of `pool` (null: the calling thread only) and returns the best of
// three timings. Uses AVX-512 when the CPU and OS support it, else AVX2+FMA, else scalar code.
FmaPeak MeasureFmaPeak(ThreadPool* pool, double seconds = 0.2);

// Sums `bytes` of floats (rounded down to a multiple of 4 KiB) with vector loads, split across
// the threads of `pool` (null: one thread). Returns the best of `reps` passes in GB/s (1e9 B/s).
// The buffer is allocated and touched once per call.
double MeasureReadBandwidthGBs(ThreadPool* pool, int64_t bytes = int64_t{1} << 30, int reps = 3);

// FLOPs (multiply and add counted separately) of RunEncoder on one 30-s window: conv1, conv2, and
// per layer the Q/K/V/out and MLP GEMMs plus attention's QK^T and PV (softmax, LayerNorm, GELU and
// adds are O(n d) and left out; they are < 1 % at every model size).
double EncoderWindowFlops(const HParams& hp);

// FLOPs of one decoder call on n_tokens tokens starting at position n_past, with logits for
// every token (all_logits) or the last only; the causal self-attention is counted exactly
// (query i sees n_past + i + 1 keys). Excludes the cross-attention K/V projections, which
// SetAudioFeatures computes once per window: see CrossKvFlops.
double DecoderCallFlops(const HParams& hp, int n_tokens, int n_past, bool all_logits);
// The cross-attention K and V projections of every layer over the n_audio_ctx audio features.
double CrossKvFlops(const HParams& hp);
// A static decoder call as engines time it: n_tokens from position 0, logits for every row
// (all_logits: openai-whisper, ONNX and ExecuTorch graphs) or the last row only (what
// whisper_decode and CTranslate2's prompt do), with or without the cross-attention K/V (some
// engines make them in the decoder call, whisper.cpp in whisper_encode). For tiny, projecting
// all 128 rows is 5.1 of the 12 GFLOP of the all-logits call with K/V; the last row alone 0.04.
double StaticDecoderFlops(const HParams& hp, int n_tokens, bool all_logits, bool with_cross_kv);

// Bytes a one-token decode step at position n_past must read from memory at the least.
// matrix_bytes_per_weight: how the fast backend stores the matrices it streams (4 f32 panels,
// 2 f16 panels, 34/32 q8_0 panels); norms, biases and the self-attention cache are f32, the
// cross-attention K/V panels cross_kv_bytes_per_value (4, or 2 under compute bf16).
struct DecodeStepBytes {
  int64_t weights = 0;   // every decoder matrix a step uses + the token embedding (logits)
  int64_t kv_cache = 0;  // self-attention K/V up to n_past + 1 and the cross-attention K/V
  int64_t total() const { return weights + kv_cache; }
};
DecodeStepBytes DecodeStepReadBytes(const HParams& hp, int n_past, double matrix_bytes_per_weight = 4.0,
                                    int cross_kv_bytes_per_value = 4);

}  // namespace wisp
