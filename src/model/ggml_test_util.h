// Test-only helpers shared by the quantization tests (ggml_types_test.cc, ggml_loader_test.cc).
#pragma once
#include <algorithm>
#include <cmath>

#include "model/ggml_types.h"

namespace wisp {

// Worst-case dequantization error of one 32-value block x of a quantized type: half a step (a
// full step where 4/5-bit symmetric formats clamp the value opposite the extreme), plus the f16
// rounding of d and m. 0 for types that are not block-quantized.
inline double BlockErrorBound(GgmlType type, const float* x) {
  double amax = 0, min = x[0], max = x[0];
  for (int j = 0; j < 32; ++j) {
    amax = std::max(amax, std::fabs(static_cast<double>(x[j])));
    min = std::min(min, static_cast<double>(x[j]));
    max = std::max(max, static_cast<double>(x[j]));
  }
  const double f16 = 1.0 / 1024, f16_abs = 0x1p-24;  // f16 rounding of d and m: relative, or absolute when subnormal
  double d = 0, step = 0.5, q_max = 0, m_error = 0;
  switch (type) {
    case GgmlType::kQ4_0: d = amax / 8, step = 1.0, q_max = 8; break;
    case GgmlType::kQ5_0: d = amax / 16, step = 1.0, q_max = 16; break;
    case GgmlType::kQ8_0: d = amax / 127, q_max = 127; break;
    case GgmlType::kQ4_1: d = (max - min) / 15, q_max = 15, m_error = std::fabs(min) * f16 + f16_abs; break;
    case GgmlType::kQ5_1: d = (max - min) / 31, q_max = 31, m_error = std::fabs(min) * f16 + f16_abs; break;
    default: return 0;
  }
  return step * d + q_max * (d * f16 + f16_abs) + m_error;
}

}  // namespace wisp
