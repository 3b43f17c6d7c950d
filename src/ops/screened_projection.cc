// The screened projection (ops.h, ScreenedLinearOp): an int8 pass over every output, then the
// exact product again on the panels that hold the row's largest. The int8 pass is the integer
// GEMM of kernels/gemm_q8_int.h (W quantized per 32-block at load, x per 32-block per call); the
// exact pass is GemmBf16 on the same panels LinearOp reads, so a recomputed output has LinearOp's
// bits.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "kernels/gemm_bf16.h"
#include "kernels/gemm_q8_int.h"
#include "kernels/vector_math.h"
#include "ops/ops.h"
#include "ops/ops_fast.h"

namespace wisp {
namespace {

const kernels::Isa kIsa = kernels::DetectIsa();
const kernels::Q8IntIsa kQ8Isa = kernels::DetectQ8IntIsa();
const kernels::Bf16Isa kBf16Isa = kernels::DetectBf16Isa();

constexpr int64_t kPanel = kernels::kQ8IntPanelWidth;
static_assert(kernels::kQ8IntPanelWidth == kernels::kBf16PanelWidth, "one panel of outputs in both layouts");
// Rows up to which screening pays: decoding steps (one row per hypothesis). A prompt's rows with
// every row's logits make the product compute-bound, where one exact pass beats two.
constexpr int64_t kMaxScreenedRows = 16;
// The softmax mass a row's screened (inexact) outputs may hold, and the margin at which widening
// stops (51,864 outputs 30 below the maximum hold < 1e-8 of it). On tiny.en's golden files (313
// steps): tail mass 1 (the margin alone) recomputes 0.8 % of the logits, the argmax's
// log-probability off by <= 7.8e-3; 0.1: 4.5 %, 5.7e-3; 0.05: 9.5 %, 2.5e-3; 0.01: 27 %, 4e-4.
// bf16's own log-probabilities are up to 5e-2 from f32's on the same steps.
constexpr double kTailMass = 1.0;
constexpr int kBins = 15;  // widening stops 30 below the maximum

struct Buffers {
  std::vector<int8_t> qx;
  std::vector<float> sx;
  std::vector<int32_t> cx;
  std::vector<uint16_t> xb;
  std::vector<uint8_t> marked;
  std::vector<int64_t> ranges;
};

}  // namespace

ProjectionScreen BuildProjectionScreen(const float* W, const uint8_t* W_half, int64_t N, int64_t K) {
  ProjectionScreen s;
  if (N <= 0 || K <= 0 || K % 32 != 0 || kQ8Isa == kernels::Q8IntIsa::kGeneric ||
      (W == nullptr && W_half == nullptr)) {
    return s;
  }
  const int64_t nb = K / 32, slice = 32 * kPanel;  // rows per slice: whole panels
  s.rows = N;
  s.cols = K;
  s.panels = PanelVector<uint8_t>(kernels::PackedSizeQ8Int(K, N));
  std::vector<float> rows(W == nullptr ? static_cast<size_t>(slice * K) : 0);
  std::vector<int8_t> q(static_cast<size_t>(slice * K));
  std::vector<float> scale(static_cast<size_t>(slice * nb));
  for (int64_t r0 = 0; r0 < N; r0 += slice) {
    const int64_t n = std::min(slice, N - r0);
    if (W == nullptr) kernels::WidenHalfRows(kBf16Isa, W_half + 2 * r0 * K, K, n, K, rows.data());
    kernels::PackRowsQ8Int(kQ8Isa, W != nullptr ? W + r0 * K : rows.data(), K, n, K,
                           s.panels.data() + r0 / kPanel * nb * kernels::Q8IntBlockBytes(false), q.data(),
                           scale.data());
  }
  return s;
}

int64_t ScreenedLinearOp(const OpContext& ctx, const float* x, int64_t M, int64_t K, const float* W, int64_t N,
                         float* y, int64_t ldy, PackedWeightView exact, const ProjectionScreen* screen, float margin) {
  bool screened = ctx.backend == Backend::kFast && screen != nullptr && !screen->empty() && screen->rows == N &&
                  screen->cols == K && exact.bf16 != nullptr && M <= kMaxScreenedRows &&
                  kBf16Isa != kernels::Bf16Isa::kGeneric;
  // Non-finite activations (a broken model or input): the exact product, which carries them as
  // IEEE arithmetic does; the int8 quantization would not.
  for (int64_t i = 0; screened && i < M * K; ++i) screened = std::isfinite(x[i]);
  if (!screened) {
    LinearOp(ctx, x, M, K, W, N, nullptr, y, ldy, exact);
    return M * N;
  }
  OpScope scope(ctx.profiler, "linear_screened", true);
  const int64_t nb = K / 32, n_panels = (N + kPanel - 1) / kPanel;
  // The calling thread's buffers, kept between calls (a decoding step makes one). Bound to
  // references here: inside the lambdas below, which the pool's threads run, the names would mean
  // those threads' own (empty) copies.
  static thread_local Buffers buffers;
  std::vector<int8_t>& qx = buffers.qx;
  std::vector<float>& sx = buffers.sx;
  std::vector<int32_t>& cx = buffers.cx;
  std::vector<uint16_t>& xb = buffers.xb;
  std::vector<uint8_t>& marked = buffers.marked;
  std::vector<int64_t>& ranges = buffers.ranges;
  qx.resize(static_cast<size_t>(M * K));
  sx.resize(static_cast<size_t>(M * nb));
  cx.resize(static_cast<size_t>(M * nb));
  kernels::QuantizeRowsQ8(kQ8Isa, x, K, M, K, qx.data(), sx.data(), cx.data());
  fast::ForRange(ctx.pool, N, kPanel, [&](int64_t n0, int64_t n1) {
    kernels::GemmQ8Int(kQ8Isa, qx.data(), sx.data(), cx.data(), K, screen->panels.data(), N, nullptr, y, ldy, 0, M,
                       n0, n1);
  });

  // The panels holding an output within margin of its row's largest screened one, the margin
  // widened (by 2 at a time) until the outputs left below it weigh at most kTailMass of the
  // maximum's weight in the softmax (bounded per bin of 2). Their screening errors (<= ~0.5) move a
  // log-softmax by the weight they hold times e^error - 1 at most, so a flat row (a window's first
  // tokens, many timestamps alike) is computed more exactly than a peaked one. (x is finite, so a
  // NaN or infinite output can only come of a huge product: it is recomputed, as the maximum's
  // comparisons with it fail.)
  marked.assign(static_cast<size_t>(n_panels), 0);
  for (int64_t m = 0; m < M; ++m) {
    const float* row = y + m * ldy;
    const float max_value = kernels::MaxValue(kIsa, row, N);
    float threshold = -std::numeric_limits<float>::infinity();
    if (max_value > -std::numeric_limits<float>::infinity() && max_value < std::numeric_limits<float>::infinity()) {
      // Outputs by distance below the maximum in bins of 2 (the last: 2 * kBins and beyond, or NaN).
      // An output in bin b weighs at most e^-2b of the maximum's weight in the softmax, and the
      // maximum weighs 1: the tail below a width is bounded without an exp per output.
      int64_t count[kBins + 1] = {};
      for (int64_t n = 0; n < N; ++n) {
        const float distance = max_value - row[n];
        ++count[distance < 2.0f * kBins ? static_cast<int>(distance * 0.5f) : kBins];
      }
      double tail_at[kBins + 1];  // bound on the weight at 2 * b and below, from the far end inwards
      tail_at[kBins] = static_cast<double>(count[kBins]) * std::exp(-2.0 * kBins);
      for (int b = kBins - 1; b >= 0; --b) {
        tail_at[b] = tail_at[b + 1] + static_cast<double>(count[b]) * std::exp(-2.0 * b);
      }
      int width_bins = static_cast<int>(margin * 0.5f);
      while (width_bins < kBins && tail_at[width_bins] > kTailMass) ++width_bins;
      threshold = max_value - 2.0f * static_cast<float>(width_bins);
    }
    for (int64_t p = 0; p < n_panels; ++p) {
      const float* panel = row + p * kPanel;
      const int64_t width = std::min(kPanel, N - p * kPanel);
      bool near = false;
      for (int64_t j = 0; j < width; ++j) near |= !(panel[j] < threshold);
      marked[static_cast<size_t>(p)] |= near;
    }
  }
  // Runs of marked panels as [begin, end) column ranges, then the exact product on them.
  ranges.clear();
  int64_t columns = 0;
  for (int64_t p = 0; p < n_panels; ++p) {
    if (!marked[static_cast<size_t>(p)]) continue;
    const int64_t begin = p * kPanel, end = std::min(N, begin + kPanel);
    columns += end - begin;
    if (!ranges.empty() && ranges.back() == begin) {
      ranges.back() = end;
    } else {
      ranges.push_back(begin);
      ranges.push_back(end);
    }
  }
  const int64_t ldx = kernels::Bf16EvenK(K), n_ranges = static_cast<int64_t>(ranges.size() / 2);
  xb.resize(static_cast<size_t>(M * ldx));
  kernels::ConvertRowsBf16(kBf16Isa, x, K, M, K, xb.data(), ldx);
  // A few panels are microseconds of work: threads only for a wide recomputation.
  fast::ForRange(columns > 64 * kPanel ? ctx.pool : nullptr, n_ranges, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      kernels::GemmBf16(kBf16Isa, xb.data(), ldx, exact.bf16, K, K, N, nullptr, y, ldy, 0, M, ranges[2 * i],
                        ranges[2 * i + 1], false);
    }
  });
  return M * columns;
}

}  // namespace wisp
