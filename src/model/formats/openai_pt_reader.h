// Reads the checkpoints openai-whisper downloads (~/.cache/whisper/tiny.en.pt ... large-v3.pt):
// torch.save({"dims": {...}, "model_state_dict": OrderedDict(...)}) in PyTorch's zip format,
//   <archive>/data.pkl     the pickle (protocol 2), read by the restricted unpickler (pickle_reader.h)
//   <archive>/data/<key>   each storage's raw little-endian elements (stored, 64-byte aligned)
//   <archive>/version, <archive>/byteorder ("little", newer PyTorch), .data/serialization_id
// The tensors keep their names (they are openai-whisper's) and point into the file: nothing is
// converted here. Deflate-compressed storages (not what torch.save writes, but what re-zipping a
// checkpoint produces) are inflated into buffers owned by the table. Only contiguous tensors of
// f16, f32 or bf16 storages are accepted. The .pt holds no tokenizer and no alignment heads.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/formats/tensor_table.h"
#include "util/status.h"

namespace wisp {

// Parses a checkpoint held in memory; the tensors point into data[0, size), which must outlive the
// table (data_outlives_load is false: the binder copies). `source` starts every error message.
Result<TensorTable> ParseOpenAiCheckpoint(const uint8_t* data, size_t size, const std::string& source);

// Maps the file and parses it; the mapping is kept alive by the table.
Result<TensorTable> ReadOpenAiCheckpoint(const std::string& path);

}  // namespace wisp
