// f16 conversion and the quantized block formats: hand-made blocks decoded against values worked
// out by hand, quantizers against checksums of ggml's reference output, and error bounds.
#include "model/ggml_types.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "model/ggml_test_util.h"

namespace wisp {
namespace {

std::vector<float> Dequant(GgmlType type, const std::vector<uint8_t>& block) {
  std::vector<float> out(32);
  DequantizeRow(type, block.data(), out.data(), 32);
  return out;
}

uint64_t Fnv1a64(const std::vector<uint8_t>& bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// 64 blocks of exactly representable values at four scales, one all-zero and one constant block.
std::vector<float> GoldenInput() {
  std::vector<float> v(32 * 64);
  const float scales[4] = {1.0f, 1.0f / 64, 8.0f, 1.0f / 4096};
  for (uint32_t i = 0; i < v.size(); ++i) {
    const int32_t k = static_cast<int32_t>((i * 2654435761u) % 2001u) - 1000;
    v[i] = static_cast<float>(k) / 256.0f * scales[(i / 32) % 4];
  }
  for (int j = 0; j < 32; ++j) v[32 * 5 + j] = 0.0f;
  for (int j = 0; j < 32; ++j) v[32 * 6 + j] = 0.75f;
  return v;
}

TEST(F16, EncodesRoundToNearestEven) {
  EXPECT_EQ(F32ToF16(0.0f), 0x0000);
  EXPECT_EQ(F32ToF16(-0.0f), 0x8000);
  EXPECT_EQ(F32ToF16(1.0f), 0x3c00);
  EXPECT_EQ(F32ToF16(-2.0f), 0xc000);
  EXPECT_EQ(F32ToF16(0.1f), 0x2e66);
  EXPECT_EQ(F32ToF16(65504.0f), 0x7bff);       // largest finite half
  EXPECT_EQ(F32ToF16(65519.0f), 0x7bff);       // below the halfway point to 65536
  EXPECT_EQ(F32ToF16(65520.0f), 0x7c00);       // halfway, ties to even = infinity
  EXPECT_EQ(F32ToF16(1e9f), 0x7c00);
  EXPECT_EQ(F32ToF16(-INFINITY), 0xfc00);
  EXPECT_EQ(F32ToF16(NAN) & 0x7e00, 0x7e00);
  EXPECT_EQ(F32ToF16(0x1p-14f), 0x0400);       // smallest normal
  EXPECT_EQ(F32ToF16(0x1p-24f), 0x0001);       // smallest subnormal
  EXPECT_EQ(F32ToF16(0x1p-25f), 0x0000);       // halfway to 2^-24 ties to even (zero)
  EXPECT_EQ(F32ToF16(0x1.8p-25f), 0x0001);     // above halfway rounds up
  EXPECT_EQ(F32ToF16(3 * 0x1p-25f), 0x0002);   // 1.5 units: tie to even (2)
  EXPECT_EQ(F32ToF16(1.0f + 0x1p-11f), 0x3c00);  // tie between 1 and 1+2^-10: to even
  EXPECT_EQ(F32ToF16(1.0f + 0x1.8p-11f), 0x3c01);
}

TEST(F16, DecodesEveryClass) {
  EXPECT_EQ(F16ToF32(0x3c00), 1.0f);
  EXPECT_EQ(F16ToF32(0x3555), 0.333251953125f);
  EXPECT_EQ(F16ToF32(0x0001), 0x1p-24f);
  EXPECT_EQ(F16ToF32(0x83ff), -1023 * 0x1p-24f);
  EXPECT_EQ(F16ToF32(0x7bff), 65504.0f);
  EXPECT_TRUE(std::isinf(F16ToF32(0x7c00)));
  EXPECT_TRUE(std::isnan(F16ToF32(0x7e00)));
  // Every finite half survives a round trip through f32.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00) continue;
    ASSERT_EQ(F32ToF16(F16ToF32(static_cast<uint16_t>(h))), h) << std::hex << h;
  }
}

TEST(GgmlTypes, SizesAndNames) {
  EXPECT_EQ(GgmlBlockBytes(GgmlType::kQ4_0), 18);
  EXPECT_EQ(GgmlBlockBytes(GgmlType::kQ4_1), 20);
  EXPECT_EQ(GgmlBlockBytes(GgmlType::kQ5_0), 22);
  EXPECT_EQ(GgmlBlockBytes(GgmlType::kQ5_1), 24);
  EXPECT_EQ(GgmlBlockBytes(GgmlType::kQ8_0), 34);
  EXPECT_EQ(GgmlTensorBytes(GgmlType::kQ8_0, 384 * 384), 384 * 12 * 34);
  EXPECT_EQ(GgmlTensorBytes(GgmlType::kF16, 10), 20);
  EXPECT_TRUE(IsSupportedGgmlType(6));
  EXPECT_FALSE(IsSupportedGgmlType(4));  // q4_2, removed from ggml
  EXPECT_FALSE(IsSupportedGgmlType(12));  // q4_K
  EXPECT_EQ(GgmlTypeName(7), "q5_1");
  EXPECT_EQ(GgmlTypeName(12), "type 12");
  EXPECT_EQ(*ParseGgmlTypeName("q4_1"), GgmlType::kQ4_1);
  EXPECT_FALSE(ParseGgmlTypeName("q4_k").ok());
  EXPECT_EQ(GgmlFileTypeFor(GgmlType::kQ5_0), 8);
  EXPECT_EQ(GgmlFileTypeFor(GgmlType::kQ8_0), 7);
}

TEST(Dequantize, Q4_0HandMadeBlock) {
  std::vector<uint8_t> b(18, 0x88);  // nibbles 8 decode to 0
  b[0] = 0x00, b[1] = 0x38;          // d = 0.5
  b[2] = 0x3a;                       // element 0: 0xa - 8 = 2; element 16: 3 - 8 = -5
  b[3] = 0x0f;                       // element 1: 7; element 17: -8
  const std::vector<float> y = Dequant(GgmlType::kQ4_0, b);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[16], -2.5f);
  EXPECT_EQ(y[1], 3.5f);
  EXPECT_EQ(y[17], -4.0f);
  for (int j : {2, 15, 18, 31}) EXPECT_EQ(y[j], 0.0f) << j;
}

TEST(Dequantize, Q4_1HandMadeBlock) {
  std::vector<uint8_t> b(20, 0x00);
  b[0] = 0x00, b[1] = 0x34;  // d = 0.25
  b[2] = 0x00, b[3] = 0xbc;  // m = -1
  b[4] = 0x3a;               // element 0: 10 * 0.25 - 1; element 16: 3 * 0.25 - 1
  const std::vector<float> y = Dequant(GgmlType::kQ4_1, b);
  EXPECT_EQ(y[0], 1.5f);
  EXPECT_EQ(y[16], -0.25f);
  for (int j : {1, 15, 17, 31}) EXPECT_EQ(y[j], -1.0f) << j;
}

TEST(Dequantize, Q5_0HandMadeBlock) {
  std::vector<uint8_t> b(22, 0x00);
  b[0] = 0x00, b[1] = 0x38;                          // d = 0.5
  b[2] = 0x03, b[3] = 0x00, b[4] = 0x01, b[5] = 0x00;  // qh: bits 0, 1 and 16
  b[6] = 0x3a;  // element 0: (0xa | 16) - 16 = 10; element 16: (3 | 16) - 16 = 3
  b[7] = 0x0f;  // element 1: (15 | 16) - 16 = 15; element 17: 0 - 16 (bit 17 clear)
  const std::vector<float> y = Dequant(GgmlType::kQ5_0, b);
  EXPECT_EQ(y[0], 5.0f);
  EXPECT_EQ(y[16], 1.5f);
  EXPECT_EQ(y[1], 7.5f);
  EXPECT_EQ(y[17], -8.0f);
  for (int j : {2, 15, 18, 31}) EXPECT_EQ(y[j], -8.0f) << j;
}

TEST(Dequantize, Q5_1HandMadeBlock) {
  std::vector<uint8_t> b(24, 0x00);
  b[0] = 0x00, b[1] = 0x3c;                          // d = 1
  b[2] = 0x00, b[3] = 0x38;                          // m = 0.5
  b[4] = 0x00, b[5] = 0x00, b[6] = 0x00, b[7] = 0x80;  // qh: bit 31 = high bit of element 31
  b[8 + 15] = 0xf1;  // element 15: 1; element 31: 0xf | 16 = 31
  const std::vector<float> y = Dequant(GgmlType::kQ5_1, b);
  EXPECT_EQ(y[15], 1.5f);
  EXPECT_EQ(y[31], 31.5f);
  for (int j : {0, 14, 16, 30}) EXPECT_EQ(y[j], 0.5f) << j;
}

TEST(Dequantize, Q8_0HandMadeBlock) {
  std::vector<uint8_t> b(34, 0x00);
  b[0] = 0x00, b[1] = 0x30;  // d = 0.125
  b[2] = 0x80;               // -128
  b[3] = 0x7f;               // 127
  b[4] = 0xff;               // -1
  const std::vector<float> y = Dequant(GgmlType::kQ8_0, b);
  EXPECT_EQ(y[0], -16.0f);
  EXPECT_EQ(y[1], 15.875f);
  EXPECT_EQ(y[2], -0.125f);
  EXPECT_EQ(y[31], 0.0f);
}

// Checksums of the bytes that ggml's quantize_row_*_ref (via gguf-py's identical numpy port) and
// numpy's float16 cast produce for GoldenInput().
TEST(Quantize, MatchesGgmlReferenceBytes) {
  const std::vector<float> x = GoldenInput();
  const struct {
    GgmlType type;
    size_t bytes;
    uint64_t fnv;
  } cases[] = {
      {GgmlType::kF16, 4096, 0x81f039f4c9c1ab54ull},  {GgmlType::kQ4_0, 1152, 0xa6f2018630a27a63ull},
      {GgmlType::kQ4_1, 1280, 0xabc8b325cc9339bbull}, {GgmlType::kQ5_0, 1408, 0x45acf052dcb63c1dull},
      {GgmlType::kQ5_1, 1536, 0x4fd457933265959eull}, {GgmlType::kQ8_0, 2176, 0xb97a14751da18cfbull},
  };
  for (const auto& c : cases) {
    std::vector<uint8_t> q(static_cast<size_t>(GgmlTensorBytes(c.type, static_cast<int64_t>(x.size()))));
    ASSERT_EQ(q.size(), c.bytes);
    QuantizeRow(c.type, x.data(), q.data(), static_cast<int64_t>(x.size()));
    EXPECT_EQ(Fnv1a64(q), c.fnv) << GgmlTypeName(static_cast<int32_t>(c.type));
  }
}

TEST(Quantize, RoundTripErrorWithinBlockBound) {
  std::vector<float> x = GoldenInput();
  for (GgmlType type : {GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ8_0}) {
    const int64_t n = static_cast<int64_t>(x.size());
    std::vector<uint8_t> q(static_cast<size_t>(GgmlTensorBytes(type, n)));
    std::vector<float> y(x.size());
    QuantizeRow(type, x.data(), q.data(), n);
    DequantizeRow(type, q.data(), y.data(), n);
    for (int64_t b = 0; b < n / 32; ++b) {
      const double bound = BlockErrorBound(type, &x[b * 32]) + 1e-12;
      for (int j = 0; j < 32; ++j) {
        ASSERT_LE(std::fabs(static_cast<double>(y[b * 32 + j]) - x[b * 32 + j]), bound)
            << GgmlTypeName(static_cast<int32_t>(type)) << " block " << b << " element " << j;
      }
    }
    for (int j = 0; j < 32; ++j) EXPECT_EQ(y[5 * 32 + j], 0.0f);  // zeros stay exact
  }
}

}  // namespace
}  // namespace wisp
