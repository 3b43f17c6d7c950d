// The single bind-and-pack step: a format-neutral TensorTable (model/formats/tensor_table.h)
// becomes the engine's ModelWeights. Every tensor is checked against the architecture that the
// hparams imply (name, shape, dtype, byte extent), then bound: f32 in place where the bytes
// outlive the load and are aligned, everything else converted once, and every matrix packed into
// the fast backend's panels in its stored precision (f16 panels for f16, int8 panels for q8_0 /
// q4 / q5 / CTranslate2 int8 where the CPU multiplies in integers).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/formats/tensor_table.h"
#include "model/weights.h"
#include "util/status.h"

namespace wisp {

// What the binder did with the tensor data, for tests and load-time reports.
struct LoadStats {
  int tensors_in_place = 0;        // f32, 4-byte aligned: the Tensor points into the mapping
  int tensors_copied = 0;          // f32 at an unaligned offset: copied
  int tensors_converted = 0;       // f16 / bf16 / quantized: converted or packed
  int64_t bytes_in_place = 0;
  int64_t bytes_copied = 0;        // f32 bytes written into owned storage (copied or converted)
  int64_t bytes_converted = 0;
};
using GgmlLoadStats = LoadStats;

struct LoadedModel {
  ModelWeights weights;
  MelFilters mel_filters;
  ModelMetadata metadata;
  std::vector<std::string> vocab;  // whisper.cpp's embedded vocab (ggml files only), index = token id
  LoadStats stats;
  // Why the compute type asked for is not the one that runs (weights.compute), or empty.
  std::string compute_note;
};

struct LoadOptions {
  // Keep every matrix also as f32 (`Tensor::data`), as the reference backend needs. False: the
  // fast backend's panels are the only copy (packed tensor by tensor while loading, the file's
  // pages released after each), so memory holds the weights once, in the file's precision.
  bool keep_f32_matrices = true;
  // q8_0 matrices: integer products on int8-quantized activations where the CPU has AVX-512
  // VNNI (as whisper.cpp computes q8_0; ~3x the f32 GEMM rate; drift stated in
  // kernels/gemm_q8_int.h). False: the exact path, products equal to f32 on the dequantized
  // weights.
  bool q8_0_int8_activations = true;
  // The precision the matrix products compute in (ops/compute_type.h), whatever the stored type:
  // kAuto takes the fastest type within the drift budget (bind_weights.cc ResolveCompute): bf16
  // for floating-point matrices where the CPU has AVX512_BF16, int8 for quantized ones per the
  // flag above, else f32. Tests that compare with openai-whisper bit for bit ask for kF32, which
  // is exact (the q8_0 widening kernels, as q8_0_int8_activations = false); kBf16 packs every matrix into bf16 panels (quantized ones
  // dequantized first) and runs attention's products in bf16, falling back to kF32 with a
  // compute_note on CPUs without AVX512_BF16 (or Arm BF16); kInt8 is the integer path (AVX-512
  // VNNI or Arm dotprod, else kF32 with a note), the encoder's attention in bf16 (int8 where the
  // CPU lacks BF16); a float model's matrices (K a multiple of 32) are quantized to q8_0 blocks at
  // load for it.
  ComputeType compute = ComputeType::kAuto;
};

// One tensor of the architecture: its openai-whisper name and PyTorch shape.
struct WhisperTensorSpec {
  std::string name;
  std::vector<int64_t> shape;
};

// Every tensor a model with these hparams must hold, in the order PyTorch's state_dict (and so
// whisper.cpp's converter) writes them.
std::vector<WhisperTensorSpec> WhisperTensorSpecsFor(const HParams& hparams);

// Checks every hparam against what Whisper's architecture and the published models allow
// (n_vocab 51864..51866, n_audio_ctx 1500, n_text_ctx 448, n_mels 80 or 128, n_audio_state ==
// n_text_state divisible by the head counts, 1..64 layers). `location(i)` may say where the i-th
// field (n_vocab = 0 ... n_mels = 9) sits in the file, e.g. " (header offset 4)".
Status ValidateArchitecture(const HParams& hparams, const std::function<std::string(int)>& location = {});

// The loaded tensor behind an openai-whisper name ("decoder.blocks.3.mlp.2.weight"), or null.
const Tensor* WhisperTensorByName(const ModelWeights& weights, const std::string& name);

// Binds and packs. Errors name the tensor and what is wrong with it; nothing is allocated for
// tensor data before every tensor has been checked.
Result<std::unique_ptr<LoadedModel>> BindTensorTable(TensorTable table, const LoadOptions& options);

}  // namespace wisp
