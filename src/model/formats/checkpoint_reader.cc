#include "model/formats/checkpoint_reader.h"

#include <sys/stat.h>

#include <cstring>
#include <fstream>

#include "model/formats/ctranslate2_reader.h"
#include "model/formats/openai_pt_reader.h"
#include "model/formats/safetensors_reader.h"
#include "model/ggml_loader.h"

namespace wisp {
namespace {

bool IsFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

const char* CheckpointFormatName(CheckpointFormat format) {
  switch (format) {
    case CheckpointFormat::kGgml: return "ggml (whisper.cpp)";
    case CheckpointFormat::kOpenAiPt: return "OpenAI .pt";
    case CheckpointFormat::kSafetensorsFile: return "safetensors";
    case CheckpointFormat::kCTranslate2Dir: return "CTranslate2";
    case CheckpointFormat::kHuggingFaceDir: return "Hugging Face";
    case CheckpointFormat::kUnknown: break;
  }
  return "unknown";
}

Result<CheckpointFormat> SniffCheckpoint(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return NotFound("'" + path + "': no such file or directory");
  if (S_ISDIR(st.st_mode)) {
    if (IsFile(path + "/model.bin") && LooksLikeCTranslate2Dir(path)) return CheckpointFormat::kCTranslate2Dir;
    if (IsFile(path + "/model.safetensors") || IsFile(path + "/model.safetensors.index.json")) {
      return CheckpointFormat::kHuggingFaceDir;
    }
    return BadInput("'" + path + "': a directory without a Whisper model: expected CTranslate2's model.bin + "
                    "config.json, or Hugging Face's model.safetensors (or model.safetensors.index.json) + config.json");
  }
  std::ifstream f(path, std::ios::binary);
  uint8_t head[9] = {};
  f.read(reinterpret_cast<char*>(head), sizeof(head));
  const std::streamsize got = f.gcount();
  if (got < 4) return BadInput("'" + path + "': " + std::to_string(got) + " bytes: too short for any model format");
  uint32_t magic;
  std::memcpy(&magic, head, 4);
  if (magic == 0x67676d6c) return CheckpointFormat::kGgml;
  if (std::memcmp(head, "PK\x03\x04", 4) == 0) return CheckpointFormat::kOpenAiPt;
  if (got == 9 && head[8] == '{') {
    uint64_t header_len;
    std::memcpy(&header_len, head, 8);
    if (header_len >= 2 && static_cast<uint64_t>(st.st_size) >= 8 + header_len) return CheckpointFormat::kSafetensorsFile;
  }
  if (magic >= 1 && magic <= 16 && got >= 6) return CheckpointFormat::kCTranslate2Dir;  // a bare model.bin
  char hex[16];
  std::snprintf(hex, sizeof(hex), "0x%08x", magic);
  return BadInput("'" + path + "': unknown model format (first bytes " + hex +
                  "): expected a whisper.cpp ggml file, an OpenAI .pt checkpoint, a .safetensors file, or a "
                  "CTranslate2 / Hugging Face model directory");
}

Result<TensorTable> ReadCheckpoint(const std::string& path) {
  Result<CheckpointFormat> format = SniffCheckpoint(path);
  if (!format.ok()) return format.status();
  switch (*format) {
    case CheckpointFormat::kGgml:
      return ReadGgmlFile(path);
    case CheckpointFormat::kCTranslate2Dir: {
      struct stat st;
      if (::stat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
        // A model.bin named directly: read its directory (config and vocabulary live beside it).
        const size_t slash = path.rfind('/');
        return ReadCTranslate2Dir(slash == std::string::npos ? "." : path.substr(0, slash));
      }
      return ReadCTranslate2Dir(path);
    }
    case CheckpointFormat::kHuggingFaceDir:
    case CheckpointFormat::kSafetensorsFile:
      return ReadHuggingFaceDir(path);
    case CheckpointFormat::kOpenAiPt:
      return ReadOpenAiCheckpoint(path);
    case CheckpointFormat::kUnknown:
      break;
  }
  return BadInput("'" + path + "': unknown model format");
}

Result<std::unique_ptr<LoadedModel>> LoadModel(const std::string& path, const LoadOptions& options) {
  Result<TensorTable> table = ReadCheckpoint(path);
  if (!table.ok()) return table.status();
  auto model = BindTensorTable(std::move(*table), options);
  if (!model.ok()) {
    const std::string& m = model.status().message();
    return Status(model.status().kind(), m.find(path) == std::string::npos ? "'" + path + "': " + m : m);
  }
  return model;
}

}  // namespace wisp
