// Hugging Face transformers Whisper checkpoints: .safetensors files (one, or shards listed by
// model.safetensors.index.json) with config.json, generation_config.json and the tokenizer files
// beside them. The reader validates the container and maps transformers' names to
// openai-whisper's; the tensor bytes stay in the mapped files (BindTensorTable converts and packs).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "model/formats/tensor_table.h"
#include "util/status.h"

namespace wisp {

// The largest safetensors JSON header accepted. Whisper large's header is ~150 KB; the cap keeps
// the parsed JSON tree (about 15x the text at worst) bounded on a hostile file.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 16ull << 20;

// One .safetensors file held in memory: u64 little-endian header length N, N bytes of JSON
// ({name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}), then the data,
// offsets counted from its start. Every entry is checked (dtype F32/F16/BF16, shape, offsets inside
// the data and agreeing with shape x dtype, no two tensors sharing bytes). The tensors keep the
// file's names, in the header's (sorted) order, and point into [data, data + size); the table owns
// nothing (keep_alive empty, data_outlives_load false: the caller decides). `source` names the file
// in messages.
Result<TensorTable> ParseSafetensors(const uint8_t* data, size_t size, const std::string& source);

// What a transformers WhisperForConditionalGeneration (or WhisperModel) tensor becomes.
enum class HfTensorRole {
  kWeight,               // an openai-whisper tensor, named `whisper_name`
  kDroppedKeyBias,       // a k_proj bias: has no effect on attention (see the .cc), dropped
  kTiedOutputProjection  // proj_out.weight: must equal the token embedding
};
struct HfTensorName {
  HfTensorRole role = HfTensorRole::kWeight;
  std::string whisper_name;  // with kWeight only
};

// The openai-whisper name of a transformers tensor name (the inverse of transformers'
// convert_openai_to_hf.py); an optional leading "model." is accepted. Unknown names: BadInput
// naming the tensor.
Result<HfTensorName> WhisperNameForHuggingFace(std::string_view hf_name);

// A Hugging Face Whisper checkpoint. `path` is a directory holding model.safetensors (or
// model.safetensors.index.json and its shards), config.json, optionally generation_config.json,
// and tokenizer.json or vocab.json (+ added_tokens.json); or a single .safetensors file with those
// files beside it. Tensors get openai-whisper's names and point into the mapped files (kept alive
// by the table); hparams come from config.json; metadata from the generation config and tokenizer
// (format "huggingface"). Errors name the file, and the tensor where there is one.
Result<TensorTable> ReadHuggingFaceDir(const std::string& path);

// The ordinary tokens of a Hugging Face tokenizer (tokenizer.json, or vocab.json + added_tokens.json)
// in `dir` into meta.ordinary_tokens. CTranslate2 directories carry the same tokenizer.json.
Status ReadHuggingFaceTokenizer(const std::string& dir, ModelMetadata& meta);

}  // namespace wisp
