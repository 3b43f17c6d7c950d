// Reads a Whisper checkpoint in any supported format into a TensorTable, choosing the reader by
// sniffing what the path is (a file's magic, a directory's contents), never by its name:
//   ggml file (whisper.cpp)          magic "lmgg" (u32 0x67676d6c)
//   OpenAI .pt (torch.save zip)      "PK\x03\x04" holding <name>/data.pkl
//   safetensors file                 u64 header length, then '{'
//   CTranslate2 directory            model.bin (binary version <= 6, spec "WhisperSpec") + config.json
//   Hugging Face directory           model.safetensors or model.safetensors.index.json + config.json
#pragma once
#include <string>

#include "model/bind_weights.h"
#include "model/formats/tensor_table.h"
#include "util/status.h"

namespace wisp {

enum class CheckpointFormat { kUnknown, kGgml, kOpenAiPt, kSafetensorsFile, kCTranslate2Dir, kHuggingFaceDir };
const char* CheckpointFormatName(CheckpointFormat format);

// Which reader would take `path` (kUnknown with a message saying what was found otherwise).
Result<CheckpointFormat> SniffCheckpoint(const std::string& path);

// Sniffs and reads. Errors start with the path.
Result<TensorTable> ReadCheckpoint(const std::string& path);

// ReadCheckpoint + BindTensorTable: any supported checkpoint, ready to run.
Result<std::unique_ptr<LoadedModel>> LoadModel(const std::string& path, const LoadOptions& options = {});

}  // namespace wisp
