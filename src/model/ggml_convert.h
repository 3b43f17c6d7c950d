// Writes any checkpoint wisp reads (a TensorTable from model/formats/checkpoint_reader.h) as a
// whisper.cpp-compatible ggml model file of a chosen type, the way whisper.cpp's
// convert-pt-to-ggml.py + quantize would: tensors in state_dict order, each stored as
// StoredGgmlType says (1-D and positional f32, conv f16, matrices the file type) and quantized
// with ggml's reference rounding (QuantizeRow). Used by `wisp convert`.
//
// The file is streamed tensor by tensor (one f32 copy alive at a time, so a large-v3 conversion
// needs one token embedding's worth of memory, not the model's) into a temporary file in the
// output's directory, renamed over the output only when every byte is written.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/formats/tensor_table.h"
#include "model/ggml_loader.h"
#include "model/ggml_types.h"
#include "util/status.h"

namespace wisp {

struct GgmlConvertOptions {
  GgmlType type = GgmlType::kF16;  // the file type: what the big matrices become
  // Filters to embed when the table has none (CTranslate2, Hugging Face and .pt checkpoints carry
  // none): the caller computes librosa's (audio/mel_filters.h, a layer this one cannot reach).
  // A table's own filters (ggml input) always win.
  MelFilters mel_filters;
  // Ordinary tokens' raw bytes, index = token id, for the file's vocab. Empty: the table's own
  // (metadata.ggml_vocab for ggml input, as-is; else metadata.ordinary_tokens).
  std::vector<std::string> vocab;
};

// The header the converted file gets: the table's hparams with the file type's ftype and (for
// quantized files, as whisper.cpp's quantizer stamps it) quantization version 2, the filters and
// the vocab. Errors when neither the table nor the options provide filters or a vocabulary, or
// when they do not fit the hparams.
Result<GgmlHeader> ConvertedGgmlHeader(const TensorTable& table, const GgmlConvertOptions& options);

// Receives the file's bytes in order, one tensor (or the header) per call.
using GgmlByteSink = std::function<Status(const uint8_t* data, size_t n)>;

// Header, then every tensor of WhisperTensorSpecs(hparams). A tensor already stored in the ggml
// type it is to take is copied byte for byte (no dequantize/requantize round trip); every other
// one goes through f32 (SourceTensorToF32) and QuantizeRow. Errors name the tensor.
Status StreamGgmlModel(const TensorTable& table, const GgmlConvertOptions& options, const GgmlByteSink& sink);

// The whole file in memory (tests, small models).
Result<std::vector<uint8_t>> ConvertToGgmlBytes(const TensorTable& table, const GgmlConvertOptions& options);

// Refuses an output that is the input checkpoint itself (same file, also through a link) or that
// would replace a file inside an input directory (CTranslate2 / Hugging Face).
Status CheckOutputIsNotInput(const std::string& input_path, const std::string& output_path);

// A file written under a temporary name ("<path>.tmp-<pid>") beside `path` and renamed over it by
// Commit, so a failed or interrupted conversion never leaves a truncated model at `path`. Create
// is the check that the output directory exists and is writable: it creates the temporary file.
class AtomicFileWriter {
 public:
  static Result<std::unique_ptr<AtomicFileWriter>> Create(const std::string& path);
  ~AtomicFileWriter();  // removes the temporary file unless committed
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  Status Write(const uint8_t* data, size_t n);
  // Flushes to disk and renames the temporary file to `path`.
  Status Commit();
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_path_; }
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  AtomicFileWriter(std::string path, std::string temp_path, int fd)
      : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(fd) {}
  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  bool committed_ = false;
  uint64_t bytes_written_ = 0;
};

}  // namespace wisp
