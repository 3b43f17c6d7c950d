// Loads a whisper.cpp ggml model file (ggml-tiny.en.bin ... ggml-large-v3.bin).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/bind_weights.h"
#include "model/formats/tensor_table.h"
#include "model/weights.h"
#include "util/status.h"

namespace wisp {

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

// ValidateArchitecture with the header offsets of the fields, plus a known ftype.
Status ValidateHParams(const HParams& hparams);

// Maps the file, validates every header field and tensor (name, shape, type, extent) and
// returns views into the mapping (f32) or converted copies (f16 and quantized types), with
// every matrix packed for the fast backend.
// Errors name the file, the field or tensor, and the byte offset.
Result<std::unique_ptr<LoadedModel>> LoadGgmlModel(const std::string& path, const LoadOptions& options = {});

// The same parser over bytes in memory (fuzzing, tests). The result never refers to `data`:
// every tensor is copied or converted into owned storage.
Result<std::unique_ptr<LoadedModel>> LoadGgmlModelFromMemory(const uint8_t* data, size_t size);

// The file as a format-neutral table (model/formats/tensor_table.h): validated headers, tensors
// pointing into the mapping, the mel filters and embedded vocab. LoadGgmlModel = this + BindTensorTable.
Result<TensorTable> ReadGgmlFile(const std::string& path);

// Parses and validates only the header, filters and vocab. Works on whisper.cpp's
// for-tests-ggml-*.bin files, which hold no tensors.
Result<GgmlHeader> ReadGgmlHeader(const std::string& path);
Result<GgmlHeader> ParseGgmlHeader(const uint8_t* data, size_t size);

}  // namespace wisp
