// ggml's tensor element types as stored in whisper.cpp model files: f32, f16 and the
// block-quantized formats q4_0, q4_1, q5_0, q5_1, q8_0 (ggml-common.h, quantization version 2).
// Blocks are read and written byte by byte (little-endian), never through packed structs, because
// tensor data in a ggml file sits at arbitrary byte offsets.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "util/status.h"

namespace wisp {

// Values are ggml's `enum ggml_type` numbers, as written in each tensor header.
enum class GgmlType : int32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
};

// Quantization version written by current whisper.cpp/ggml (GGML_QNT_VERSION); the file's
// ftype field carries it as ftype / 1000 (GGML_QNT_VERSION_FACTOR).
inline constexpr int32_t kGgmlQuantVersion = 2;
inline constexpr int32_t kGgmlQuantVersionFactor = 1000;

// Elements per quantization block for every quantized type here (QK4_0 = ... = QK8_0 = 32).
inline constexpr int kGgmlQuantBlock = 32;

// True for the ggml_type numbers this file layer can read.
bool IsSupportedGgmlType(int32_t type);
bool IsQuantizedGgmlType(GgmlType type);
// "f32", "f16", "q4_0", ...; "type N" for numbers outside the supported set.
std::string GgmlTypeName(int32_t type);
// Parses "f32" | "f16" | "q4_0" | "q4_1" | "q5_0" | "q5_1" | "q8_0".
Result<GgmlType> ParseGgmlTypeName(const std::string& name);

// Elements per block (1 for f32/f16) and bytes per block.
int GgmlBlockElements(GgmlType type);
int GgmlBlockBytes(GgmlType type);
// Bytes taken by n elements; n must be a multiple of GgmlBlockElements(type).
int64_t GgmlTensorBytes(GgmlType type, int64_t n);

// The file-level `ftype` (ggml's enum ggml_ftype, without the quantization version) that a file
// whose big matrices are of `type` carries: f32 0, f16 1, q4_0 2, q4_1 3, q8_0 7, q5_0 8, q5_1 9.
int32_t GgmlFileTypeFor(GgmlType type);

// IEEE binary16 conversion, round to nearest even (as ggml's GGML_FP32_TO_FP16), done in integer
// arithmetic so the result never depends on the compiler's floating-point contraction.
uint16_t F32ToF16(float value);
float F16ToF32(uint16_t half);

// Converts n elements of `type` stored at `src` (any alignment) to f32.
// n must be a multiple of GgmlBlockElements(type).
void DequantizeRow(GgmlType type, const uint8_t* src, float* dst, int64_t n);

// q4_0 and q5_0 blocks hold x = q * d with a small centred integer q and an f16 d, so they are
// exactly q8_0 blocks with the same d: the fast backend runs them on the q8_0 kernels, without
// an f32 copy. q4_1 / q5_1 (x = q * d + m) are not.
bool CanRepackAsQ8_0(GgmlType type);
// n elements of `type` (CanRepackAsQ8_0) at src as n / 32 q8_0 blocks (34 bytes each) at dst.
void RepackAsQ8_0(GgmlType type, const uint8_t* src, uint8_t* dst, int64_t n);

// q4_1 and q5_1 blocks (x = q * d + m, q in 0..31) as 40-byte blocks: f32 d, f32 m (the f16
// values widened), 32 int8 q; the integer-product kernels run them with the same numbers.
bool CanRepackWithMins(GgmlType type);
void RepackWithMins(GgmlType type, const uint8_t* src, uint8_t* dst, int64_t n);

// Encodes n f32 values as `type` (GgmlTensorBytes(type, n) bytes at dst) exactly as ggml's
// reference quantize_row_*_ref does, so files we write match what whisper.cpp's quantizer emits.
void QuantizeRow(GgmlType type, const float* src, uint8_t* dst, int64_t n);

}  // namespace wisp
