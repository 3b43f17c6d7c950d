// Loads a whisper.cpp ggml model file (ggml-tiny.en.bin ... ggml-large-v3.bin).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/weights.h"
#include "util/status.h"

namespace wisp {

// Mel filterbank as stored in the file: (n_mels, n_fft) row-major with n_fft = 201 bins.
struct MelFilters {
  int n_mels = 0;
  int n_fft = 0;
  std::vector<float> data;
};

// What the loader did with the tensor data, for tests and load-time reports.
struct GgmlLoadStats {
  int tensors_in_place = 0;        // f32, 4-byte aligned: the Tensor points into the mapping
  int tensors_copied = 0;          // f32 at an unaligned offset (the format has no padding): copied
  int tensors_converted = 0;       // f16 / quantized: dequantized into owned storage
  int64_t bytes_in_place = 0;
  int64_t bytes_copied = 0;        // f32 bytes written into owned storage (copied or converted)
  int64_t bytes_converted = 0;
};

struct LoadedModel {
  ModelWeights weights;
  MelFilters mel_filters;
  std::vector<std::string> vocab;  // the file's token strings (raw bytes), index = token id
  GgmlLoadStats stats;
};

// Everything before the first tensor: hparams, mel filters and vocab.
struct GgmlHeader {
  HParams hparams;         // ftype without the quantization version
  int32_t quant_version = 0;  // the raw ftype / 1000
  MelFilters mel_filters;
  std::vector<std::string> vocab;
  size_t tensors_offset = 0;  // file offset of the first tensor header
};

// One tensor of the architecture as a ggml file stores it: ne[] is ggml's order (innermost first,
// the reverse of PyTorch's shape); the conv biases are stored 2-D as ne = [1, n_audio_state].
struct GgmlTensorSpec {
  std::string name;
  int n_dims = 0;
  std::array<int64_t, 3> ne{1, 1, 1};
  int64_t numel() const { return ne[0] * ne[1] * ne[2]; }
};

// Every tensor a model with these hparams must hold, in the order PyTorch's state_dict (and so
// whisper.cpp's converter) writes them.
std::vector<GgmlTensorSpec> WhisperTensorSpecs(const HParams& hparams);

// The loaded tensor behind a ggml name ("decoder.blocks.3.mlp.2.weight"), or null if the name is
// not part of the architecture.
const Tensor* WhisperTensorByName(const ModelWeights& weights, const std::string& name);

// Checks every hparam against what Whisper's architecture and the published models allow
// (n_vocab 51864..51866, n_audio_ctx 1500, n_text_ctx 448, n_mels 80 or 128, n_audio_state ==
// n_text_state divisible by the head counts, 1..64 layers, a known ftype).
Status ValidateHParams(const HParams& hparams);

struct LoadOptions {
  // Keep every matrix also as f32 (`Tensor::data`), as the reference backend needs. False: the
  // fast backend's panels are the only copy (packed tensor by tensor while loading, the file's
  // pages released after each), so memory holds the weights once, in the file's precision.
  bool keep_f32_matrices = true;
  // q8_0 matrices: integer products on int8-quantized activations where the CPU has AVX-512
  // VNNI (as whisper.cpp computes q8_0; ~3x the f32 GEMM rate; drift stated in
  // kernels/gemm_q8_int.h). False: the exact path, products equal to f32 on ggml's dequantized
  // weights.
  bool q8_0_int8_activations = true;
};

// Maps the file, validates every header field and tensor (name, shape, type, extent) and
// returns views into the mapping (f32) or converted copies (f16 and quantized types), with
// every matrix packed for the fast backend.
// Errors name the file, the field or tensor, and the byte offset.
Result<std::unique_ptr<LoadedModel>> LoadGgmlModel(const std::string& path, const LoadOptions& options = {});

// The same parser over bytes in memory (fuzzing, tests). The result never refers to `data`:
// every tensor is copied or converted into owned storage.
Result<std::unique_ptr<LoadedModel>> LoadGgmlModelFromMemory(const uint8_t* data, size_t size);

// Parses and validates only the header, filters and vocab. Works on whisper.cpp's
// for-tests-ggml-*.bin files, which hold no tensors.
Result<GgmlHeader> ReadGgmlHeader(const std::string& path);
Result<GgmlHeader> ParseGgmlHeader(const uint8_t* data, size_t size);

}  // namespace wisp
