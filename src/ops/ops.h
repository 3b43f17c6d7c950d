// The op layer: one entry point per op, agnostic of the model. Each entry point times itself
// through the context's profiler and dispatches to the backend's implementation, so a fast
// implementation can take over any op without the model code changing.
// Activations are f32, row-major; a "matrix" (rows, cols) is contiguous unless a stride is given.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/compute_type.h"
#include "ops/profiler.h"
#include "util/huge_page_allocator.h"
#include "util/thread_pool.h"

namespace wisp {

enum class Backend { kReference, kFast };

// Everything an op needs besides its operands; passed explicitly, never global.
struct OpContext {
  ThreadPool* pool = nullptr;      // may be null: single-threaded
  Profiler* profiler = nullptr;    // null: not profiling
  Backend backend = Backend::kFast;
  // Attention's two products (QK^T and PV) in bf16 when kBf16 and the CPU has AVX512_BF16 (or Arm
  // BF16), else
  // f32; the model sets it from the weights' compute type (Linear follows its weight's panels).
  ComputeType compute = ComputeType::kF32;
};

// A weight in the fast backend's GEMM panel layout: f32 panels, or f16 panels for weights the
// model file stores in f16 (exact, half the bytes). Empty: the fast path reads W unpacked.
struct PackedWeightView {
  const float* f32 = nullptr;
  const uint16_t* f16 = nullptr;
  const uint8_t* q8_0 = nullptr;  // ggml q8_0 blocks in panels (weights stored as q8_0)
  // q8_0 weights in the integer-product panels: LinearOp quantizes x to int8 per 32-block and
  // multiplies in integers (VNNI), ~3x the f32 rate, with the drift stated in gemm_q8_int.h.
  const uint8_t* q8_0_int = nullptr;
  // q4_1 / q5_1 weights (w = q * d + m) in integer-product panels with mins (same int8 path).
  const uint8_t* q8_min_int = nullptr;
  // bf16 panels (kernels/gemm_bf16.h) of any stored type: LinearOp rounds x to bf16 and multiplies
  // on vdpbf16ps with f32 accumulation (compute type bf16).
  const uint16_t* bf16 = nullptr;
};

// y(M, N) = x(M, K) · W(N, K)^T + bias(N). W is a Linear layer's weight (PyTorch layout).
// bias may be null. ldy is the row stride of y (>= N), so results can land in a wider buffer.
// packed_w: W as PackLinearWeight made it (optional; the fast backend's way to read W).
void LinearOp(const OpContext& ctx, const float* x, int64_t M, int64_t K, const float* W, int64_t N,
              const float* bias, float* y, int64_t ldy, PackedWeightView packed_w = {});

// A wide projection screened in integers: the vocabulary projection, whose 51,864 outputs per
// decoding step make it the step's largest read (40 MB of bf16 for tiny). Its consumers need the
// largest outputs exactly (argmax, the timestamp rule's comparisons, sampling's likely tokens) and
// the others only as small terms of the log-softmax's sum. So ScreenedLinearOp first computes every
// output from W quantized per 32-block to int8 (half of bf16's bytes), then computes again, from
// the exact panels and bit for bit as LinearOp would, every panel of 32 outputs holding one within
// `margin` of the row's largest screened output, the margin widened on a flat row (where the
// outputs below it could weigh more than the largest). Not a proof: the screen's error per output
// is ~0.1 on tiny.en's logits, 0.44 at most over the golden files' first windows
// (tests/real_vocab_screen_test.cc); a proven bound (the quantization error times |x|_1) is ~8
// there, which would recompute nearly every panel. The drift is measured like any compute type's
// (real_weights_test).
struct ProjectionScreen {
  PanelVector<uint8_t> panels;  // W in integer-product panels (kernels::PackRowsQ8Int's quantization)
  int64_t rows = 0, cols = 0;
  bool empty() const { return panels.empty(); }
};
// W (N, K) as a screen, from f32 rows or (W null) a model file's f16 bytes (any alignment),
// converted a slice at a time. Empty when K is not a multiple of 32 or the CPU has no fast integer
// products (Q8IntegerProductsAvailable).
ProjectionScreen BuildProjectionScreen(const float* W, const uint8_t* W_half, int64_t N, int64_t K);

// y (M, N) = x W^T (no bias), with row stride ldy, screened by `screen` where it applies: the
// fast backend, bf16 exact panels, M a few decoding rows; otherwise exactly LinearOp (screen null
// or empty too). Returns how many of the M * N outputs were computed exactly.
int64_t ScreenedLinearOp(const OpContext& ctx, const float* x, int64_t M, int64_t K, const float* W, int64_t N,
                         float* y, int64_t ldy, PackedWeightView exact, const ProjectionScreen* screen, float margin);

// Row n of a packed (N, K) weight as K floats (embedding lookups from the packed token
// embedding when the model keeps no f32 copy).
void UnpackWeightRow(PackedWeightView packed_w, int64_t K, int64_t n, float* out);

// W (N, K) in the fast backend's GEMM panel layout, for LinearOp's packed_w. Done once per
// weight at model load, never per call. The f16 form rounds W to half precision.
PanelVector<float> PackLinearWeight(const float* W, int64_t N, int64_t K);
PanelVector<uint16_t> PackLinearWeightF16(const float* W, int64_t N, int64_t K);
// The same from W stored in half precision (a model file's f16 bytes, any alignment): no rounding,
// no f32 copy.
PanelVector<uint16_t> PackLinearWeightHalf(const uint8_t* W, int64_t N, int64_t K);
// From ggml q8_0 blocks (N rows of K/32 blocks of 34 bytes); K a multiple of 32.
PanelVector<uint8_t> PackLinearWeightQ8_0(const uint8_t* blocks, int64_t N, int64_t K);
// The integer-product panels (PackedWeightView::q8_0_int), if this CPU has a fast integer
// dot-product instruction (AVX-512 VNNI; Arm sdot or usmmla); empty otherwise (use
// PackLinearWeightQ8_0).
bool Q8IntegerProductsAvailable();
PanelVector<uint8_t> PackLinearWeightQ8_0Int(const uint8_t* blocks, int64_t N, int64_t K);
// From blocks of 40 bytes (f32 d, f32 m, 32 int8 q: w = q * d + m), as model/ggml_types makes
// them of q4_1 / q5_1; empty without a fast integer path.
PanelVector<uint8_t> PackLinearWeightQ8MinInt(const uint8_t* blocks, int64_t N, int64_t K);
// bf16 panels (PackedWeightView::bf16) from f32, or from a model file's f16 bytes; empty when the
// CPU has no AVX512_BF16 nor Arm BF16 (the portable bf16 kernel is a test oracle, slower than f32).
bool Bf16ProductsAvailable();
PanelVector<uint16_t> PackLinearWeightBf16(const float* W, int64_t N, int64_t K);
PanelVector<uint16_t> PackLinearWeightHalfBf16(const uint8_t* W, int64_t N, int64_t K);

// In place over rows of width n: y = (x - mean) / sqrt(var + eps) * gamma + beta (eps 1e-5).
void LayerNorm(const OpContext& ctx, const float* x, int64_t rows, int64_t n, const float* gamma,
               const float* beta, float* y);

// In place, exact erf form: 0.5 x (1 + erf(x / sqrt 2)), as torch.nn.GELU() computes it.
void Gelu(const OpContext& ctx, float* x, int64_t n);

// y += x over n elements (residual connections).
void AddInPlace(const OpContext& ctx, float* y, const float* x, int64_t n);

// Conv1d with kernel 3, padding 1, optional stride 2 (Whisper's stem), then bias.
// x element (channel c, time t) is x[c * cs + t * ts]: (cs, ts) = (t_in, 1) for PyTorch's
// channel-major input, (1, c_in) for time-major activations. W: (c_out, c_in, 3).
// y: (t_out, c_out) time-major. t_out = (t_in + 2 - 3) / stride + 1.
// packed_w: W viewed as (c_out, 3 c_in) and packed by PackLinearWeight (optional).
void Conv1dK3(const OpContext& ctx, const float* x, int64_t c_in, int64_t t_in, int64_t cs, int64_t ts,
              const float* W, const float* bias, int64_t c_out, int stride, float* y,
              PackedWeightView packed_w = {});

// Multi-head scaled dot-product attention for one sequence.
// q: (n_q, H*dh) with row stride ldq; k, v: (n_kv, H*dh) with row strides ldk, ldv.
// out: (n_q, H*dh), contiguous. causal: query i (at absolute position q_offset + i) sees keys
// 0..q_offset+i. Scores are scaled by 1/sqrt(dh) (Whisper scales q and k by dh^-1/4 each; the
// product is the same up to rounding).
void Attention(const OpContext& ctx, const float* q, int64_t ldq, int64_t n_q, const float* k, int64_t ldk,
               const float* v, int64_t ldv, int64_t n_kv, int n_heads, int64_t head_dim, bool causal,
               int64_t q_offset, float* out);

// One decoding step of n_rows sequences (beam search's hypotheses) whose self-attention keys
// and values begin with a common prefix: row i's single query (row i of q, stride ldq) attends to
// prefix_k/prefix_v's n_prefix rows followed by its own row_k[i]/row_v[i]'s n_suffix rows (all
// with row stride ld, n_heads * head_dim wide), every one of them visible; out row i (stride
// ldo). Per row the result is Attention's with n_q = 1 over the rows laid end to end (causal,
// q_offset = n_prefix + n_suffix - 1), bit for bit on both backends. The fast one reads each
// head's prefix once for all rows, where separate calls would each stream their own copy.
void AttentionSharedPrefix(const OpContext& ctx, const float* q, int64_t ldq, int64_t n_rows, const float* prefix_k,
                           const float* prefix_v, int64_t n_prefix, const float* const* row_k,
                           const float* const* row_v, int64_t n_suffix, int64_t ld, int n_heads, int64_t head_dim,
                           float* out, int64_t ldo);

// The pre-softmax scores of one head, (q_h s)(k_h s)^T with s = head_dim^-1/4, scaled before the
// product as openai-whisper's qkv_attention does: q (n_q, H*dh) row stride ldq, k (n_kv, H*dh) row
// stride ldk, out (n_q, n_kv) contiguous. Word timestamps need these matrices for a few heads;
// the fused Attention never forms them, so only that opt-in path pays for this.
void AttentionScores(const OpContext& ctx, const float* q, int64_t ldq, int64_t n_q, const float* k, int64_t ldk,
                     int64_t n_kv, int head, int64_t head_dim, float* out);

// Keys and values prepared once for many attention calls over them: the decoder's cross-
// attention attends to the same audio K/V at every step of a window. The fast backend packs
// K^T and V of each head into GEMM panels here; the reference backend keeps the pointers.
// k and v must outlive the prepared object.
struct PreparedKv {
  const float* k = nullptr;
  const float* v = nullptr;
  int64_t ldk = 0, ldv = 0, n_kv = 0, head_dim = 0;
  int n_heads = 0;
  std::vector<float> kt_panels, v_panels;  // fast backend only
  std::vector<uint16_t> kt_bf16, v_bf16;    // or bf16 panels (ctx.compute bf16 when prepared)
};
void PrepareKv(const OpContext& ctx, const float* k, int64_t ldk, const float* v, int64_t ldv, int64_t n_kv,
               int n_heads, int64_t head_dim, PreparedKv* out);

// Non-causal attention of q (n_q, H*dh) over prepared keys/values; same result as Attention.
void AttentionPrepared(const OpContext& ctx, const float* q, int64_t ldq, int64_t n_q, const PreparedKv& kv,
                       float* out);

}  // namespace wisp
