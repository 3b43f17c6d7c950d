#include "ops/ops_fast.h"

#include <functional>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"
#include "kernels/gemm_packed.h"
#include "kernels/gemm_q8.h"
#include "kernels/gemm_q8_int.h"
#include "kernels/vector_math.h"

namespace wisp::fast {
namespace {

const kernels::Isa kIsa = kernels::DetectIsa();
const kernels::Q8IntIsa kQ8IntIsa = kernels::DetectQ8IntIsa();
const kernels::Bf16Isa kBf16Isa = kernels::DetectBf16Isa();

}  // namespace

void ForRange(ThreadPool* pool, int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (pool == nullptr) {
    fn(0, n);
  } else {
    pool->ParallelFor(n, grain, fn);
  }
}

void Linear(ThreadPool* pool, const float* x, int64_t M, int64_t K, const float* W, int64_t N, const float* bias,
            float* y, int64_t ldy, PackedWeightView packed_w) {
  // Split the output columns: every thread streams a disjoint part of W (the large operand in
  // decoding), reading all of x, which is small or cache-resident.
  if (packed_w.bf16 != nullptr) {
    // x rounded to bf16 once (rows split across threads), then every thread multiplies all of it
    // by its columns' panels. The buffer is the calling thread's, kept between calls: the
    // encoder's largest (1500 x 1536) would otherwise be 4.6 MB of fresh pages per call.
    static thread_local std::vector<uint16_t> xb;
    const int64_t ldx = kernels::Bf16EvenK(K);
    if (xb.size() < static_cast<size_t>(M * ldx)) xb.resize(static_cast<size_t>(M * ldx));
    uint16_t* xr = xb.data();
    ForRange(pool, M, 32, [&](int64_t m0, int64_t m1) {
      kernels::ConvertRowsBf16(kBf16Isa, x + m0 * K, K, m1 - m0, K, xr + m0 * ldx, ldx);
    });
    ForRange(pool, N, kernels::kBf16PanelWidth, [&](int64_t n0, int64_t n1) {
      kernels::GemmBf16(kBf16Isa, xr, ldx, packed_w.bf16, K, K, N, bias, y, ldy, 0, M, n0, n1, false);
    });
    return;
  }
  if (packed_w.q8_0_int != nullptr || packed_w.q8_min_int != nullptr) {
    // x is quantized once (rows split across threads), then every thread multiplies all of it
    // by its columns' panels.
    const bool with_mins = packed_w.q8_0_int == nullptr;
    const uint8_t* panels = with_mins ? packed_w.q8_min_int : packed_w.q8_0_int;
    const int64_t nb = K / 32;
    std::vector<int8_t> qx(static_cast<size_t>(M * K));
    std::vector<float> sx(static_cast<size_t>(M * nb));
    std::vector<int32_t> cx(static_cast<size_t>(M * nb));
    // Grain 32: a decoding step's few rows are quantized on the calling thread.
    ForRange(pool, M, 32, [&](int64_t m0, int64_t m1) {
      kernels::QuantizeRowsQ8(kQ8IntIsa, x + m0 * K, K, m1 - m0, K, qx.data() + m0 * K, sx.data() + m0 * nb,
                              cx.data() + m0 * nb);
    });
    ForRange(pool, N, kernels::kQ8IntPanelWidth, [&](int64_t n0, int64_t n1) {
      kernels::GemmQ8Int(kQ8IntIsa, qx.data(), sx.data(), cx.data(), K, panels, N, bias, y, ldy, 0, M, n0, n1,
                         with_mins);
    });
    return;
  }
  if (packed_w.q8_0 != nullptr) {
    ForRange(pool, N, kernels::PanelWidth(kIsa), [&](int64_t n0, int64_t n1) {
      kernels::GemmPackedQ8(kIsa, x, K, packed_w.q8_0, K, N, bias, y, ldy, 0, M, n0, n1);
    });
    return;
  }
  if (packed_w.f16 != nullptr) {
    ForRange(pool, N, kernels::PanelWidth(kIsa), [&](int64_t n0, int64_t n1) {
      kernels::GemmPackedF16(kIsa, x, K, packed_w.f16, K, K, N, bias, y, ldy, 0, M, n0, n1, false);
    });
    return;
  }
  if (packed_w.f32 != nullptr) {
    ForRange(pool, N, kernels::PanelWidth(kIsa), [&](int64_t n0, int64_t n1) {
      kernels::GemmPacked(kIsa, x, K, packed_w.f32, K, K, N, bias, y, ldy, 0, M, n0, n1, false);
    });
    return;
  }
  ForRange(pool, N, 16, [&](int64_t n0, int64_t n1) {
    kernels::GemmNT(kIsa, x, K, W, K, bias, y, ldy, 0, M, n0, n1, K);
  });
}

void UnpackWeightRow(PackedWeightView packed_w, int64_t K, int64_t n, float* out) {
  if (packed_w.bf16 != nullptr) return kernels::UnpackColumnBf16(packed_w.bf16, K, n, out);
  if (packed_w.q8_0_int != nullptr) return kernels::UnpackColumnQ8Int(packed_w.q8_0_int, K, n, out);
  if (packed_w.q8_min_int != nullptr) return kernels::UnpackColumnQ8Int(packed_w.q8_min_int, K, n, out, true);
  if (packed_w.q8_0 != nullptr) return kernels::UnpackColumnQ8(kIsa, packed_w.q8_0, K, n, out);
  if (packed_w.f16 != nullptr) return kernels::UnpackColumnF16(kIsa, packed_w.f16, K, n, out);
  kernels::UnpackColumn(kIsa, packed_w.f32, K, n, out);
}

PanelVector<uint8_t> PackLinearWeightQ8_0(const uint8_t* blocks, int64_t N, int64_t K) {
  PanelVector<uint8_t> packed(kernels::PackedSizeQ8(kIsa, K, N));
  kernels::PackQ8_0(kIsa, blocks, N, K, packed.data());
  return packed;
}

bool Q8IntegerProductsAvailable() { return kQ8IntIsa != kernels::Q8IntIsa::kGeneric; }

PanelVector<uint8_t> PackLinearWeightQ8_0Int(const uint8_t* blocks, int64_t N, int64_t K) {
  if (!Q8IntegerProductsAvailable()) return {};
  PanelVector<uint8_t> packed(kernels::PackedSizeQ8Int(K, N));
  kernels::PackQ8_0Int(blocks, N, K, packed.data());
  return packed;
}

PanelVector<uint8_t> PackLinearWeightQ8MinInt(const uint8_t* blocks, int64_t N, int64_t K) {
  if (!Q8IntegerProductsAvailable()) return {};
  PanelVector<uint8_t> packed(kernels::PackedSizeQ8Int(K, N, /*with_mins=*/true));
  kernels::PackQ8MinInt(blocks, N, K, packed.data());
  return packed;
}

bool Bf16ProductsAvailable() { return kBf16Isa != kernels::Bf16Isa::kGeneric; }

PanelVector<uint16_t> PackLinearWeightBf16(const float* W, int64_t N, int64_t K) {
  if (!Bf16ProductsAvailable()) return {};
  PanelVector<uint16_t> packed(kernels::PackedSizeBf16(K, N));
  kernels::PackTransposedBf16(kBf16Isa, W, K, N, K, packed.data());
  return packed;
}

PanelVector<uint16_t> PackLinearWeightHalfBf16(const uint8_t* W, int64_t N, int64_t K) {
  if (!Bf16ProductsAvailable()) return {};
  PanelVector<uint16_t> packed(kernels::PackedSizeBf16(K, N));
  kernels::PackTransposedHalfBf16(kBf16Isa, W, K, N, K, packed.data());
  return packed;
}

PanelVector<uint16_t> PackLinearWeightF16(const float* W, int64_t N, int64_t K) {
  PanelVector<uint16_t> packed(kernels::PackedSize(kIsa, K, N));
  kernels::PackTransposedF16(kIsa, W, K, N, K, packed.data());
  return packed;
}

PanelVector<uint16_t> PackLinearWeightHalf(const uint8_t* W, int64_t N, int64_t K) {
  PanelVector<uint16_t> packed(kernels::PackedSize(kIsa, K, N));
  kernels::PackTransposedHalf(kIsa, W, K, N, K, packed.data());
  return packed;
}

PanelVector<float> PackLinearWeight(const float* W, int64_t N, int64_t K) {
  PanelVector<float> packed(kernels::PackedSize(kIsa, K, N));
  kernels::PackTransposed(kIsa, W, K, N, K, packed.data());
  return packed;
}

void LayerNorm(ThreadPool* pool, const float* x, int64_t rows, int64_t n, const float* gamma, const float* beta,
               float* y) {
  // Vectorised rows in f32, as torch computes them (kernels::LayerNormRow: corrected two-pass
  // mean and variance); the scalar double-precision loops took 10x as long.
  ForRange(pool, rows, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) kernels::LayerNormRow(kIsa, x + r * n, n, gamma, beta, 1e-5f, y + r * n);
  });
}

void Gelu(ThreadPool* pool, float* x, int64_t n) {
  ForRange(pool, n, 4096, [&](int64_t b, int64_t e) { kernels::GeluErf(kIsa, x + b, e - b); });
}

void AddInPlace(ThreadPool* pool, float* y, const float* x, int64_t n) {
  ForRange(pool, n, 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] += x[i];
  });
}

void Conv1dK3(ThreadPool* pool, const float* x, int64_t c_in, int64_t t_in, int64_t cs, int64_t ts, const float* W,
              const float* bias, int64_t c_out, int stride, float* y, PackedWeightView packed_w) {
  // im2col: row t holds the 3-tap input patch of every channel in W's (c_in, 3) order, so the
  // convolution becomes an NT GEMM against W viewed as (c_out, 3 c_in). Threads split the time
  // axis, and each builds and multiplies blocks of kRows rows at a time: the block (conv2:
  // 96 x 1152 floats, 442 KB) stays in L2 between being written and being read, where the whole
  // im2col matrix (6.9 MB) made a round trip through L3 or memory.
  const int64_t t_out = (t_in + 2 - 3) / stride + 1;
  const int64_t K = 3 * c_in;
  constexpr int64_t kRows = 96;  // a multiple of every ISA's GEMM row block (12, 6, 4)
  ForRange(pool, t_out, kRows, [&](int64_t t0, int64_t t1) {
    std::vector<float> cols(static_cast<size_t>(std::min(kRows, t1 - t0) * K));
    for (int64_t b = t0; b < t1; b += kRows) {
      const int64_t e = std::min(t1, b + kRows);
      for (int64_t t = b; t < e; ++t) {
        float* row = cols.data() + (t - b) * K;
        for (int j = 0; j < 3; ++j) {  // one tap at a time: no bounds test per element
          const int64_t ti = t * stride + j - 1;
          if (ti >= 0 && ti < t_in) {
            const float* src = x + ti * ts;
            for (int64_t c = 0; c < c_in; ++c) row[3 * c + j] = src[c * cs];
          } else {
            for (int64_t c = 0; c < c_in; ++c) row[3 * c + j] = 0.0f;  // zero padding
          }
        }
      }
      Linear(nullptr, cols.data(), e - b, K, W, c_out, bias, y + b * c_out, c_out, packed_w);
    }
  });
}

}  // namespace wisp::fast
