// Loads a whisper.cpp ggml model file (ggml-tiny.en.bin ... ggml-large-v3.bin).
#pragma once
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

struct LoadedModel {
  ModelWeights weights;
  MelFilters mel_filters;
  std::vector<std::string> vocab;  // the file's token strings (raw bytes), index = token id
};

// Maps the file, validates every header field and tensor (name, shape, type, extent) and
// returns views into the mapping (f32) or converted copies (f16 and quantized types).
Result<std::unique_ptr<LoadedModel>> LoadGgmlModel(const std::string& path);

}  // namespace wisp
