// The precision matrix products compute in, separate from the precision weights are stored in.
// A model stored in f16 can multiply in f32 (exact: f16 panels widened in registers) or in bf16
// (vdpbf16ps, 2x the f32 rate, lossy); any model in int8 (integer products on quantized
// activations; float matrices quantized at load); a quantized one in f32 (the exact widening kernels).
#pragma once
#include <cstring>
#include <optional>

namespace wisp {

enum class ComputeType {
  kF32,   // f32 products: exact against the stored weights (f16 / quantized widened in registers)
  kBf16,  // weights packed to bf16 panels at load, activations rounded to bf16 per op input,
          // f32 accumulation (AVX-512 BF16; elsewhere f32, never an emulated slow path)
  kInt8,  // int8 activations times integer weights (AVX-512 VNNI / Arm dotprod): the stored blocks,
          // or a float model's matrices quantized to q8_0 at load
  kAuto,  // the fastest type within the drift budget: bf16 for float matrices (AVX512_BF16), int8 for
          // quantized ones (VNNI), else f32 (model/bind_weights.cc ResolveCompute)
};

inline const char* ComputeTypeName(ComputeType c) {
  switch (c) {
    case ComputeType::kF32: return "f32";
    case ComputeType::kBf16: return "bf16";
    case ComputeType::kInt8: return "int8";
    case ComputeType::kAuto: return "auto";
  }
  return "?";
}

inline std::optional<ComputeType> ParseComputeType(const char* name) {
  for (ComputeType c : {ComputeType::kF32, ComputeType::kBf16, ComputeType::kInt8, ComputeType::kAuto}) {
    if (std::strcmp(name, ComputeTypeName(c)) == 0) return c;
  }
  return std::nullopt;
}

}  // namespace wisp
