// The format-neutral form of a Whisper checkpoint: what every reader in model/formats/ produces
// (ggml, CTranslate2, Hugging Face safetensors, OpenAI .pt) and what the single bind-and-pack
// step (model/bind_weights.h) turns into the engine's ModelWeights. A reader only parses and
// validates its container and maps its names to openai-whisper's state_dict names; it never
// converts, copies or packs tensor data (BindTensorTable does that, once, for every format).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model/ggml_types.h"
#include "model/weights.h"

namespace wisp {

// Element types a checkpoint can store. kGgml: one of ggml's block types (SourceTensor::ggml_type).
// kI8Rows: CTranslate2's int8, one int8 per element and one scale per row (the first dimension):
// value = q / scale[row], scales in `scales` as f32, f16 or bf16 (SourceTensor::scale_dtype).
enum class TensorDType { kF32, kF16, kBF16, kGgml, kI8Rows };

const char* TensorDTypeName(TensorDType dtype);

struct SourceTensor {
  std::string name;             // openai-whisper's state_dict name, e.g. "decoder.blocks.0.attn.query.weight"
  TensorDType dtype = TensorDType::kF32;
  GgmlType ggml_type = GgmlType::kF32;  // with kGgml only
  std::vector<int64_t> shape;   // PyTorch's order (outermost first)
  const uint8_t* data = nullptr;  // the elements, row-major, little-endian, any alignment
  size_t bytes = 0;               // bytes at `data` (checked against shape and dtype by the binder)
  // kI8Rows only: one scale per row (shape[0] of them).
  const uint8_t* scales = nullptr;
  TensorDType scale_dtype = TensorDType::kF32;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// Mel filterbank as a file stores it: (n_mels, n_fft) row-major with n_fft = 201 bins.
struct MelFilters {
  int n_mels = 0;
  int n_fft = 0;
  std::vector<float> data;
};

// What a checkpoint says about decoding, where its format carries it (empty when not).
struct ModelMetadata {
  std::string format;  // "ggml", "ctranslate2", "huggingface", "openai-pt": for messages and `wisp bench`
  // Ordinary (non-special) tokens as raw bytes, index = id, when the format holds them exactly
  // (CTranslate2 / Hugging Face vocabularies decode GPT-2's byte-to-unicode alphabet back to
  // bytes). Empty: the engine finds a tiktoken file (ggml, .pt).
  std::vector<std::string> ordinary_tokens;
  // whisper.cpp's embedded vocab (raw bytes with U+FFFD for lost bytes): the fallback tokenizer.
  std::vector<std::string> ggml_vocab;
  std::vector<std::pair<int, int>> alignment_heads;  // (layer, head) of the decoder
  std::vector<int> suppress_tokens;        // the format's own list, when it has one
  std::vector<int> suppress_tokens_begin;
};

// A checkpoint as the readers hand it over. `keep_alive` owns whatever `data`/`scales` point into
// (mappings, decompressed buffers); `data_outlives_load`: those bytes stay valid as long as the
// loaded model (a mapping moved into the weights), so f32 tensors may be used in place. False
// (bytes in a caller's buffer, e.g. fuzzing): everything is copied.
struct TensorTable {
  HParams hparams;
  std::vector<SourceTensor> tensors;
  MelFilters mel_filters;  // empty when the format has none (the engine computes librosa's)
  ModelMetadata metadata;
  std::vector<std::shared_ptr<void>> keep_alive;
  bool data_outlives_load = true;
  // Index of the tensor named `name`, or -1.
  int Find(const std::string& name) const {
    for (size_t i = 0; i < tensors.size(); ++i) {
      if (tensors[i].name == name) return static_cast<int>(i);
    }
    return -1;
  }
};

// Bytes that `n` elements of a non-ggml dtype take (kI8Rows: the int8 data only).
int64_t TensorDTypeBytes(TensorDType dtype, int64_t n);

// bfloat16 <-> f32 (round to nearest even, NaN kept a NaN).
float BF16ToF32(uint16_t v);
uint16_t F32ToBF16(float v);

// The n = t.numel() values of a tensor as f32 into out (n floats): exact for f32, f16, bf16 and
// ggml's blocks; kI8Rows as q / scale[row], as CTranslate2 dequantizes. The caller has checked
// t.bytes against the dtype (BindTensorTable does).
void SourceTensorToF32(const SourceTensor& t, float* out);

}  // namespace wisp
