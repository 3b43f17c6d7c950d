// Block layouts (ggml-common.h, quantization version 2), 32 elements per block:
//   q4_0: f16 d, u8 qs[16]                  x = (nibble - 8) * d
//   q4_1: f16 d, f16 m, u8 qs[16]           x = nibble * d + m
//   q5_0: f16 d, u32 qh, u8 qs[16]          x = ((nibble | high_bit << 4) - 16) * d
//   q5_1: f16 d, f16 m, u32 qh, u8 qs[16]   x = (nibble | high_bit << 4) * d + m
//   q8_0: f16 d, i8 qs[32]                  x = q * d
// Element j < 16 lives in the low nibble of qs[j], element j + 16 in its high nibble; the fifth
// bit of element j is bit j of qh. This file is compiled with -ffp-contract=off (loader.cmake) so
// the quantizers round exactly like ggml's scalar reference on every target.
#include "model/ggml_types.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <vector>

namespace wisp {
namespace {

uint16_t LoadU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t LoadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
void StoreU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
void StoreU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float BitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

float F16ToF32Slow(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t mant = h & 0x3ff;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24 is exact in f32.
    const float mag = static_cast<float>(mant) * 0x1p-24f;
    return sign ? -mag : mag;
  }
  if (exp == 31) return BitsFloat(sign | 0x7f800000 | (mant << 13));  // inf / nan
  return BitsFloat(sign | ((exp + 112) << 23) | (mant << 13));
}

// 64 K entries (256 KB): dequantizing a large f16 model is then one load per element.
const float* F16Table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (uint32_t i = 0; i < 65536; ++i) t[i] = F16ToF32Slow(static_cast<uint16_t>(i));
    return t;
  }();
  return table.data();
}

// The centred integers of a q4_0 / q5_0 block (x = q * d): 4 or 5 bits, minus 8 or 16.
void CentredQ4_0(const uint8_t* b, int8_t* q) {
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    q[j] = static_cast<int8_t>((qs[j] & 0x0f) - 8);
    q[j + 16] = static_cast<int8_t>((qs[j] >> 4) - 8);
  }
}

void CentredQ5_0(const uint8_t* b, int8_t* q) {
  const uint32_t qh = LoadU32(b + 2);
  const uint8_t* qs = b + 6;
  for (int j = 0; j < 16; ++j) {
    q[j] = static_cast<int8_t>(((qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4)) - 16);
    q[j + 16] = static_cast<int8_t>(((qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4)) - 16);
  }
}

void DequantQ4_0(const uint8_t* b, float* y) {
  const float d = F16ToF32(LoadU16(b));
  int8_t q[32];
  CentredQ4_0(b, q);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(q[j]) * d;
}

// The integers of a q4_1 / q5_1 block (x = q * d + m), q in 0..15 or 0..31.
void IntsQ4_1(const uint8_t* b, int8_t* q) {
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    q[j] = static_cast<int8_t>(qs[j] & 0x0f);
    q[j + 16] = static_cast<int8_t>(qs[j] >> 4);
  }
}

void IntsQ5_1(const uint8_t* b, int8_t* q) {
  const uint32_t qh = LoadU32(b + 4);
  const uint8_t* qs = b + 8;
  for (int j = 0; j < 16; ++j) {
    q[j] = static_cast<int8_t>((qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4));
    q[j + 16] = static_cast<int8_t>((qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4));
  }
}

void DequantQ4_1(const uint8_t* b, float* y) {
  const float d = F16ToF32(LoadU16(b));
  const float m = F16ToF32(LoadU16(b + 2));
  int8_t q[32];
  IntsQ4_1(b, q);
  for (int j = 0; j < 32; ++j) y[j] = std::fma(static_cast<float>(q[j]), d, m);  // one rounding everywhere
}

void DequantQ5_0(const uint8_t* b, float* y) {
  const float d = F16ToF32(LoadU16(b));
  int8_t q[32];
  CentredQ5_0(b, q);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(q[j]) * d;
}

void DequantQ5_1(const uint8_t* b, float* y) {
  const float d = F16ToF32(LoadU16(b));
  const float m = F16ToF32(LoadU16(b + 2));
  int8_t q[32];
  IntsQ5_1(b, q);
  for (int j = 0; j < 32; ++j) y[j] = std::fma(static_cast<float>(q[j]), d, m);  // one rounding everywhere
}

void DequantQ8_0(const uint8_t* b, float* y) {
  const float d = F16ToF32(LoadU16(b));
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(static_cast<int8_t>(b[2 + j])) * d;
}

// The value of largest magnitude, keeping its sign (the first one on ties), as ggml does.
float SignedAbsMax(const float* x) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < 32; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void MinMax(const float* x, float* min, float* max) {
  *min = FLT_MAX;
  *max = -FLT_MAX;
  for (int j = 0; j < 32; ++j) {
    *min = std::min(*min, x[j]);
    *max = std::max(*max, x[j]);
  }
}

// Symmetric 4/5-bit: d = max / -2^(bits-1), q = min(2^bits - 1, (int8)(x/d + 2^(bits-1) + 0.5)).
void QuantSymmetric(const float* x, uint8_t* b, int bits) {
  const float half_range = static_cast<float>(1 << (bits - 1));
  const float d = SignedAbsMax(x) / -half_range;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const int qmax = (1 << bits) - 1;
  StoreU16(b, F32ToF16(d));
  uint8_t* qs = b + (bits == 4 ? 2 : 6);
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    const float x0 = x[j] * id;
    const float x1 = x[j + 16] * id;
    const int q0 = std::min(qmax, static_cast<int>(static_cast<int8_t>(x0 + (half_range + 0.5f))));
    const int q1 = std::min(qmax, static_cast<int>(static_cast<int8_t>(x1 + (half_range + 0.5f))));
    qs[j] = static_cast<uint8_t>((q0 & 0x0f) | ((q1 & 0x0f) << 4));
    qh |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + 16);
  }
  if (bits == 5) StoreU32(b + 2, qh);
}

// Asymmetric 4/5-bit: d = (max - min) / (2^bits - 1), m = min, q = round-half-up((x - min) / d).
void QuantAsymmetric(const float* x, uint8_t* b, int bits) {
  float min, max;
  MinMax(x, &min, &max);
  const float d = (max - min) / static_cast<float>((1 << bits) - 1);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  StoreU16(b, F32ToF16(d));
  StoreU16(b + 2, F32ToF16(min));
  uint8_t* qs = b + (bits == 4 ? 4 : 8);
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    const float x0 = (x[j] - min) * id;
    const float x1 = (x[j + 16] - min) * id;
    int q0, q1;
    if (bits == 4) {  // ggml clamps the 4-bit variant with MIN(15, (int8_t)...)
      q0 = std::min(15, static_cast<int>(static_cast<int8_t>(x0 + 0.5f)));
      q1 = std::min(15, static_cast<int>(static_cast<int8_t>(x1 + 0.5f)));
    } else {  // and casts the 5-bit one to uint8_t without a clamp
      q0 = static_cast<uint8_t>(x0 + 0.5f);
      q1 = static_cast<uint8_t>(x1 + 0.5f);
    }
    qs[j] = static_cast<uint8_t>((q0 & 0x0f) | ((q1 & 0x0f) << 4));
    qh |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + 16);
  }
  if (bits == 5) StoreU32(b + 4, qh);
}

void QuantQ8_0(const float* x, uint8_t* b) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  StoreU16(b, F32ToF16(d));
  for (int j = 0; j < 32; ++j) b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::round(x[j] * id)));
}

}  // namespace

bool IsSupportedGgmlType(int32_t type) {
  switch (type) {
    case 0: case 1: case 2: case 3: case 6: case 7: case 8:
      return true;
    default:
      return false;
  }
}

bool IsQuantizedGgmlType(GgmlType type) { return type != GgmlType::kF32 && type != GgmlType::kF16; }

std::string GgmlTypeName(int32_t type) {
  switch (type) {
    case 0: return "f32";
    case 1: return "f16";
    case 2: return "q4_0";
    case 3: return "q4_1";
    case 6: return "q5_0";
    case 7: return "q5_1";
    case 8: return "q8_0";
    default: return "type " + std::to_string(type);
  }
}

Result<GgmlType> ParseGgmlTypeName(const std::string& name) {
  for (int32_t t : {0, 1, 2, 3, 6, 7, 8}) {
    if (GgmlTypeName(t) == name) return static_cast<GgmlType>(t);
  }
  return InvalidArgument("unknown tensor type '" + name + "' (expected f32, f16, q4_0, q4_1, q5_0, q5_1 or q8_0)");
}

int GgmlBlockElements(GgmlType type) { return IsQuantizedGgmlType(type) ? kGgmlQuantBlock : 1; }

int GgmlBlockBytes(GgmlType type) {
  switch (type) {
    case GgmlType::kF32: return 4;
    case GgmlType::kF16: return 2;
    case GgmlType::kQ4_0: return 18;
    case GgmlType::kQ4_1: return 20;
    case GgmlType::kQ5_0: return 22;
    case GgmlType::kQ5_1: return 24;
    case GgmlType::kQ8_0: return 34;
  }
  return 0;
}

int64_t GgmlTensorBytes(GgmlType type, int64_t n) {
  return n / GgmlBlockElements(type) * GgmlBlockBytes(type);
}

int32_t GgmlFileTypeFor(GgmlType type) {
  switch (type) {
    case GgmlType::kF32: return 0;
    case GgmlType::kF16: return 1;
    case GgmlType::kQ4_0: return 2;
    case GgmlType::kQ4_1: return 3;
    case GgmlType::kQ8_0: return 7;
    case GgmlType::kQ5_0: return 8;
    case GgmlType::kQ5_1: return 9;
  }
  return -1;
}

uint16_t F32ToF16(float value) {
  const uint32_t x = FloatBits(value);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const uint32_t abs = x & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00;   // NaN stays a (quiet) NaN
  if (abs >= 0x477ff000) return sign | 0x7c00;  // >= 65520 rounds to infinity
  if (abs >= 0x38800000) {                      // normal half (>= 2^-14): rebias, round mantissa
    const uint32_t r = abs - 0x38000000;
    return sign | static_cast<uint16_t>((r + 0x0fff + ((r >> 13) & 1)) >> 13);
  }
  if (abs < 0x33000000) return sign;  // <= 2^-25 in magnitude rounds to zero
  // Subnormal half: round (1.mant * 2^(e-127)) / 2^-24 to an integer, ties to even.
  const uint32_t e = abs >> 23;
  const uint32_t mant = (abs & 0x7fffff) | 0x800000;
  const uint32_t shift = 126 - e;  // 14..24
  uint32_t h = mant >> shift;
  const uint32_t rem = mant & ((1u << shift) - 1);
  const uint32_t halfway = 1u << (shift - 1);
  if (rem > halfway || (rem == halfway && (h & 1))) ++h;
  return sign | static_cast<uint16_t>(h);
}

float F16ToF32(uint16_t half) { return F16Table()[half]; }

bool CanRepackAsQ8_0(GgmlType type) { return type == GgmlType::kQ4_0 || type == GgmlType::kQ5_0; }

void RepackAsQ8_0(GgmlType type, const uint8_t* src, uint8_t* dst, int64_t n) {
  const int64_t bytes = GgmlBlockBytes(type);
  for (int64_t i = 0; i < n / kGgmlQuantBlock; ++i) {
    const uint8_t* b = src + i * bytes;
    uint8_t* out = dst + i * 34;
    std::memcpy(out, b, 2);  // the same f16 scale d
    int8_t q[32];
    if (type == GgmlType::kQ4_0) {
      CentredQ4_0(b, q);
    } else {
      CentredQ5_0(b, q);
    }
    std::memcpy(out + 2, q, 32);
  }
}

bool CanRepackWithMins(GgmlType type) { return type == GgmlType::kQ4_1 || type == GgmlType::kQ5_1; }

void RepackWithMins(GgmlType type, const uint8_t* src, uint8_t* dst, int64_t n) {
  const int64_t bytes = GgmlBlockBytes(type);
  for (int64_t i = 0; i < n / kGgmlQuantBlock; ++i) {
    const uint8_t* b = src + i * bytes;
    uint8_t* out = dst + i * 40;
    const float d = F16ToF32(LoadU16(b)), m = F16ToF32(LoadU16(b + 2));
    std::memcpy(out, &d, 4);
    std::memcpy(out + 4, &m, 4);
    int8_t q[32];
    if (type == GgmlType::kQ4_1) {
      IntsQ4_1(b, q);
    } else {
      IntsQ5_1(b, q);
    }
    std::memcpy(out + 8, q, 32);
  }
}

void DequantizeRow(GgmlType type, const uint8_t* src, float* dst, int64_t n) {
  switch (type) {
    case GgmlType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case GgmlType::kF16: {
      const float* table = F16Table();
      for (int64_t i = 0; i < n; ++i) dst[i] = table[LoadU16(src + 2 * i)];
      return;
    }
    default:
      break;
  }
  const int64_t bytes = GgmlBlockBytes(type);
  for (int64_t i = 0; i < n / kGgmlQuantBlock; ++i) {
    const uint8_t* b = src + i * bytes;
    float* y = dst + i * kGgmlQuantBlock;
    switch (type) {
      case GgmlType::kQ4_0: DequantQ4_0(b, y); break;
      case GgmlType::kQ4_1: DequantQ4_1(b, y); break;
      case GgmlType::kQ5_0: DequantQ5_0(b, y); break;
      case GgmlType::kQ5_1: DequantQ5_1(b, y); break;
      case GgmlType::kQ8_0: DequantQ8_0(b, y); break;
      default: break;
    }
  }
}

void QuantizeRow(GgmlType type, const float* src, uint8_t* dst, int64_t n) {
  switch (type) {
    case GgmlType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) StoreU16(dst + 2 * i, F32ToF16(src[i]));
      return;
    default:
      break;
  }
  const int64_t bytes = GgmlBlockBytes(type);
  for (int64_t i = 0; i < n / kGgmlQuantBlock; ++i) {
    const float* x = src + i * kGgmlQuantBlock;
    uint8_t* b = dst + i * bytes;
    switch (type) {
      case GgmlType::kQ4_0: QuantSymmetric(x, b, 4); break;
      case GgmlType::kQ5_0: QuantSymmetric(x, b, 5); break;
      case GgmlType::kQ4_1: QuantAsymmetric(x, b, 4); break;
      case GgmlType::kQ5_1: QuantAsymmetric(x, b, 5); break;
      case GgmlType::kQ8_0: QuantQ8_0(x, b); break;
      default: break;
    }
  }
}

}  // namespace wisp
