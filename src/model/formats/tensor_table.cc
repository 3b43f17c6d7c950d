#include "model/formats/tensor_table.h"

#include <cstring>

namespace wisp {

const char* TensorDTypeName(TensorDType dtype) {
  switch (dtype) {
    case TensorDType::kF32: return "f32";
    case TensorDType::kF16: return "f16";
    case TensorDType::kBF16: return "bf16";
    case TensorDType::kGgml: return "ggml";
    case TensorDType::kI8Rows: return "int8";
  }
  return "?";
}

int64_t TensorDTypeBytes(TensorDType dtype, int64_t n) {
  switch (dtype) {
    case TensorDType::kF32: return 4 * n;
    case TensorDType::kF16:
    case TensorDType::kBF16: return 2 * n;
    case TensorDType::kI8Rows: return n;
    case TensorDType::kGgml: return -1;  // depends on the block type: GgmlTensorBytes
  }
  return -1;
}

float BF16ToF32(uint16_t v) {
  const uint32_t bits = static_cast<uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t F32ToBF16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);  // quiet NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

namespace {

float ScalarAt(TensorDType dtype, const uint8_t* p, int64_t i) {
  switch (dtype) {
    case TensorDType::kF16: {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      return F16ToF32(h);
    }
    case TensorDType::kBF16: {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      return BF16ToF32(h);
    }
    default: {
      float f;
      std::memcpy(&f, p + 4 * i, 4);
      return f;
    }
  }
}

}  // namespace

void SourceTensorToF32(const SourceTensor& t, float* out) {
  const int64_t n = t.numel();
  switch (t.dtype) {
    case TensorDType::kF32:
      std::memcpy(out, t.data, static_cast<size_t>(n) * 4);
      return;
    case TensorDType::kF16:
    case TensorDType::kBF16:
      for (int64_t i = 0; i < n; ++i) out[i] = ScalarAt(t.dtype, t.data, i);
      return;
    case TensorDType::kGgml:
      DequantizeRow(t.ggml_type, t.data, out, n);
      return;
    case TensorDType::kI8Rows: {
      const int64_t rows = t.shape.empty() ? 1 : t.shape[0];
      const int64_t cols = rows > 0 ? n / rows : 0;
      for (int64_t r = 0; r < rows; ++r) {
        const float scale = ScalarAt(t.scale_dtype, t.scales, r);
        const int8_t* q = reinterpret_cast<const int8_t*>(t.data) + r * cols;
        for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = static_cast<float>(q[c]) / scale;
      }
      return;
    }
  }
}

}  // namespace wisp
