// whisper.cpp's ggml model format (models/convert-pt-to-ggml.py, whisper_model_load):
//   u32 magic 0x67676d6c; i32 hparams x 11 (ftype = quant_version * 1000 + ggml_ftype);
//   i32 n_mel, i32 n_fft, f32 filters[n_mel * n_fft];
//   i32 n_tokens, then per token: u32 len, len bytes;
//   tensors until EOF: i32 n_dims, i32 name_len, i32 ggml_type, i32 ne[n_dims], name bytes, data.
// There is no alignment padding anywhere: tensor data starts right after its name.
//
// Parsing is two passes. The first walks every tensor header with a bounds-checked reader and
// validates name, shape, type and extent without touching tensor data or allocating more than the
// header tables; only a file that passes completely gets the second pass, which points f32 tensors
// into the mapping and converts the rest. So a corrupt count can never cause a large allocation,
// and a truncated file fails fast.
#include "model/ggml_loader.h"

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "model/ggml_types.h"
#include "ops/ops.h"
#include "util/mapped_file.h"

namespace wisp {
namespace {

static_assert(std::endian::native == std::endian::little,
              "ggml files are little-endian and f32 tensors are used in place");

constexpr uint32_t kGgmlMagic = 0x67676d6c;  // "ggml"
constexpr int32_t kFilterBins = 201;         // n_fft / 2 + 1 for whisper's 400-point FFT
constexpr int32_t kMaxNameLength = 256;      // the longest real name has 41 bytes

std::string Hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08x", v);
  return buf;
}

// Names come from untrusted bytes: keep messages printable and short.
std::string Printable(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 64; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > 64) out += "...";
  return out;
}

std::string ShapeString(int n_dims, const int64_t* ne) {
  std::string s = "[";
  for (int i = 0; i < n_dims; ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size, size_t pos) : data_(data), size_(size), pos_(pos) {}
  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  bool ReadI32(int32_t* v) {
    uint32_t u;
    if (!ReadU32(&u)) return false;
    *v = static_cast<int32_t>(u);
    return true;
  }
  bool ReadU32(uint32_t* v) {
    if (remaining() < 4) return false;
    std::memcpy(v, data_ + pos_, 4);
    pos_ += 4;
    return true;
  }
  // Returns a pointer to the next n bytes and steps over them, or null when fewer are left.
  const uint8_t* Take(uint64_t n) {
    if (n > remaining()) return nullptr;
    const uint8_t* p = data_ + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_;
};

// ggml stores ne[] innermost first (PyTorch's shape reversed), and the conv biases 2-D as
// ne = [1, n_audio_state] so that ggml can broadcast them.
bool IsConvBias(const std::string& name) { return name == "encoder.conv1.bias" || name == "encoder.conv2.bias"; }

// A tensor header that passed validation, waiting for its data to be bound.
struct TensorRecord {
  size_t spec_index;
  GgmlType type;
  const uint8_t* data;
};

// Walks every tensor header, validates it against the architecture the hparams imply and adds the
// tensor (pointing into `data`) to the table.
Status ParseTensors(const uint8_t* data, size_t size, const GgmlHeader& header, TensorTable* table) {
  const std::vector<GgmlTensorSpec> specs = WhisperTensorSpecs(header.hparams);
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < specs.size(); ++i) index.emplace(specs[i].name, i);
  std::vector<size_t> seen_at(specs.size(), SIZE_MAX);  // header offset of each tensor found
  std::vector<TensorRecord> records;

  ByteReader r(data, size, header.tensors_offset);
  while (r.remaining() > 0) {
    const size_t at = r.pos();
    const std::string where = " at offset " + std::to_string(at);
    int32_t n_dims = 0, name_len = 0, ttype = 0;
    if (!r.ReadI32(&n_dims) || !r.ReadI32(&name_len) || !r.ReadI32(&ttype)) {
      return BadInput("truncated tensor header" + where + ": " + std::to_string(size - at) +
                      " trailing bytes are not a tensor header");
    }
    if (n_dims < 1 || n_dims > 3) {
      return BadInput("tensor header" + where + ": n_dims = " + std::to_string(n_dims) + " out of range 1..3");
    }
    if (name_len < 1 || name_len > kMaxNameLength) {
      return BadInput("tensor header" + where + ": name length " + std::to_string(name_len) +
                      " out of range 1.." + std::to_string(kMaxNameLength));
    }
    int64_t ne[3] = {1, 1, 1};
    for (int i = 0; i < n_dims; ++i) {
      int32_t v = 0;
      if (!r.ReadI32(&v)) return BadInput("truncated tensor header" + where + ": dimensions run past the end of the file");
      ne[i] = v;
    }
    const uint8_t* name_bytes = r.Take(static_cast<uint64_t>(name_len));
    if (name_bytes == nullptr) {
      return BadInput("truncated tensor header" + where + ": name of " + std::to_string(name_len) +
                      " bytes runs past the end of the file");
    }
    const std::string name(reinterpret_cast<const char*>(name_bytes), static_cast<size_t>(name_len));
    auto it = index.find(name);
    if (it == index.end()) return BadInput("unknown tensor '" + Printable(name) + "'" + where);
    const size_t si = it->second;
    const GgmlTensorSpec& spec = specs[si];
    if (seen_at[si] != SIZE_MAX) {
      return BadInput("duplicate tensor '" + name + "'" + where + " (first at offset " +
                      std::to_string(seen_at[si]) + ")");
    }
    seen_at[si] = at;
    if (!IsSupportedGgmlType(ttype)) {
      return Unsupported("tensor '" + name + "'" + where + " has unsupported ggml type " + std::to_string(ttype) +
                         " (supported: f32, f16, q4_0, q4_1, q5_0, q5_1, q8_0)");
    }
    const GgmlType type = static_cast<GgmlType>(ttype);
    if (n_dims != spec.n_dims || ne[0] != spec.ne[0] || ne[1] != spec.ne[1] || ne[2] != spec.ne[2]) {
      return BadInput("tensor '" + name + "'" + where + " has shape ne=" + ShapeString(n_dims, ne) +
                      " but the hparams require ne=" + ShapeString(spec.n_dims, spec.ne.data()));
    }
    if (IsQuantizedGgmlType(type)) {
      if (spec.ne[0] % kGgmlQuantBlock != 0) {
        return BadInput("tensor '" + name + "'" + where + " is " + GgmlTypeName(ttype) + " but ne[0] = " +
                        std::to_string(spec.ne[0]) + " is not a multiple of the block size 32");
      }
      if (header.quant_version != kGgmlQuantVersion) {
        return Unsupported("tensor '" + name + "'" + where + " is " + GgmlTypeName(ttype) +
                           " but the file's quantization version is " + std::to_string(header.quant_version) +
                           " (only version 2 blocks are read; re-quantize with a current whisper.cpp)");
      }
    }
    const int64_t bytes = GgmlTensorBytes(type, spec.numel());
    const size_t data_at = r.pos();
    const uint8_t* p = r.Take(static_cast<uint64_t>(bytes));
    if (p == nullptr) {
      return BadInput("tensor '" + name + "'" + where + ": " + std::to_string(bytes) + " bytes of " +
                      GgmlTypeName(ttype) + " data at offset " + std::to_string(data_at) +
                      " run past the end of the file (" + std::to_string(size - data_at) + " bytes left)");
    }
    records.push_back({si, type, p});
  }

  size_t missing = 0;
  const GgmlTensorSpec* first_missing = nullptr;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (seen_at[i] != SIZE_MAX) continue;
    if (missing++ == 0) first_missing = &specs[i];
  }
  if (missing > 0) {
    std::string msg = "missing tensor " + first_missing->name;
    if (missing > 1) msg += " (and " + std::to_string(missing - 1) + " more)";
    if (records.empty()) {
      msg += ": the file holds no tensors (a header-only file such as whisper.cpp's for-tests-ggml-*.bin)";
    }
    return BadInput(msg);
  }

  for (const TensorRecord& rec : records) {
    const GgmlTensorSpec& spec = specs[rec.spec_index];
    SourceTensor t;
    t.name = spec.name;
    t.dtype = TensorDType::kGgml;
    t.ggml_type = rec.type;
    if (IsConvBias(spec.name)) {
      t.shape = {spec.ne[1]};
    } else {
      for (int i = spec.n_dims - 1; i >= 0; --i) t.shape.push_back(spec.ne[i]);
    }
    t.data = rec.data;
    t.bytes = static_cast<size_t>(GgmlTensorBytes(rec.type, spec.numel()));
    table->tensors.push_back(std::move(t));
  }
  return Status::Ok();
}

Result<TensorTable> ParseTable(const uint8_t* data, size_t size) {
  Result<GgmlHeader> header = ParseGgmlHeader(data, size);
  if (!header.ok()) return header.status();
  TensorTable table;
  table.hparams = header->hparams;
  WISP_RETURN_IF_ERROR(ParseTensors(data, size, *header, &table));
  table.mel_filters = std::move(header->mel_filters);
  table.metadata.format = "ggml";
  table.metadata.ggml_vocab = std::move(header->vocab);
  return table;
}

Status WithPath(const std::string& path, const Status& st) {
  return Status(st.kind(), "'" + path + "': " + st.message());
}

}  // namespace

std::vector<GgmlTensorSpec> WhisperTensorSpecs(const HParams& hparams) {
  std::vector<GgmlTensorSpec> specs;
  for (const WhisperTensorSpec& w : WhisperTensorSpecsFor(hparams)) {
    GgmlTensorSpec spec;
    spec.name = w.name;
    if (IsConvBias(w.name)) {
      spec.n_dims = 2;
      spec.ne = {1, w.shape[0], 1};
    } else {
      spec.n_dims = static_cast<int>(w.shape.size());
      for (int i = 0; i < spec.n_dims; ++i) spec.ne[i] = w.shape[spec.n_dims - 1 - i];
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

Status ValidateHParams(const HParams& hp) {
  WISP_RETURN_IF_ERROR(ValidateArchitecture(
      hp, [](int index) { return " (header offset " + std::to_string(4 + 4 * index) + ")"; }));
  switch (hp.ftype) {
    case 0: case 1: case 2: case 3: case 4: case 7: case 8: case 9:
      break;
    default:
      return Unsupported("hparam ftype = " + std::to_string(hp.ftype) +
                         " (header offset 44) is not supported: expected 0 (f32), 1 (f16), 2 (q4_0), "
                         "3/4 (q4_1), 7 (q8_0), 8 (q5_0) or 9 (q5_1)");
  }
  return Status::Ok();
}

Result<GgmlHeader> ParseGgmlHeader(const uint8_t* data, size_t size) {
  if (size == 0) return BadInput("empty file: not a ggml whisper model");
  ByteReader r(data, size, 0);
  uint32_t magic = 0;
  if (!r.ReadU32(&magic)) {
    return BadInput("not a ggml whisper model: " + std::to_string(size) + " bytes is too short for the magic");
  }
  if (magic != kGgmlMagic) {
    return BadInput("not a ggml whisper model: bad magic " + Hex32(magic) + " at offset 0 (expected 0x67676d6c)");
  }
  GgmlHeader h;
  HParams& hp = h.hparams;
  const std::pair<const char*, int32_t*> fields[] = {
      {"n_vocab", &hp.n_vocab},         {"n_audio_ctx", &hp.n_audio_ctx},   {"n_audio_state", &hp.n_audio_state},
      {"n_audio_head", &hp.n_audio_head}, {"n_audio_layer", &hp.n_audio_layer}, {"n_text_ctx", &hp.n_text_ctx},
      {"n_text_state", &hp.n_text_state}, {"n_text_head", &hp.n_text_head},   {"n_text_layer", &hp.n_text_layer},
      {"n_mels", &hp.n_mels},           {"ftype", &hp.ftype}};
  for (const auto& [name, value] : fields) {
    const size_t at = r.pos();
    if (!r.ReadI32(value)) {
      return BadInput("truncated header: hparam " + std::string(name) + " at offset " + std::to_string(at) +
                      " runs past the end of the file (" + std::to_string(size) + " bytes)");
    }
  }
  if (hp.ftype < 0) {
    return BadInput("hparam ftype = " + std::to_string(hp.ftype) + " (header offset 44) is negative");
  }
  h.quant_version = hp.ftype / kGgmlQuantVersionFactor;
  hp.ftype %= kGgmlQuantVersionFactor;
  if (h.quant_version > kGgmlQuantVersion) {
    return Unsupported("hparam ftype carries quantization version " + std::to_string(h.quant_version) +
                       "; this loader reads versions up to " + std::to_string(kGgmlQuantVersion));
  }
  WISP_RETURN_IF_ERROR(ValidateHParams(hp));

  const size_t filters_at = r.pos();
  int32_t n_mel = 0, n_fft = 0;
  if (!r.ReadI32(&n_mel) || !r.ReadI32(&n_fft)) {
    return BadInput("truncated mel filters: their dimensions at offset " + std::to_string(filters_at) +
                    " run past the end of the file");
  }
  if (n_mel != hp.n_mels) {
    return BadInput("mel filters at offset " + std::to_string(filters_at) + ": n_mel = " + std::to_string(n_mel) +
                    " does not match hparam n_mels = " + std::to_string(hp.n_mels));
  }
  if (n_fft != kFilterBins) {
    return BadInput("mel filters at offset " + std::to_string(filters_at + 4) + ": n_fft = " +
                    std::to_string(n_fft) + ", expected 201");
  }
  const uint64_t filter_bytes = static_cast<uint64_t>(n_mel) * n_fft * 4;
  const size_t filter_data_at = r.pos();
  const uint8_t* filters = r.Take(filter_bytes);
  if (filters == nullptr) {
    return BadInput("truncated mel filters: " + std::to_string(filter_bytes) + " bytes at offset " +
                    std::to_string(filter_data_at) + " run past the end of the file (" +
                    std::to_string(size - filter_data_at) + " bytes left)");
  }
  h.mel_filters.n_mels = n_mel;
  h.mel_filters.n_fft = n_fft;
  h.mel_filters.data.resize(static_cast<size_t>(n_mel) * n_fft);
  std::memcpy(h.mel_filters.data.data(), filters, filter_bytes);

  const size_t vocab_at = r.pos();
  int32_t n_tokens = 0;
  if (!r.ReadI32(&n_tokens)) {
    return BadInput("truncated vocab: the token count at offset " + std::to_string(vocab_at) +
                    " runs past the end of the file");
  }
  if (n_tokens < 1 || n_tokens > hp.n_vocab) {
    return BadInput("vocab at offset " + std::to_string(vocab_at) + ": token count " + std::to_string(n_tokens) +
                    " out of range 1..n_vocab (" + std::to_string(hp.n_vocab) + ")");
  }
  // Each token takes at least its 4-byte length: refuse a count the file cannot hold before reserving.
  if (static_cast<uint64_t>(n_tokens) * 4 > r.remaining()) {
    return BadInput("truncated vocab: " + std::to_string(n_tokens) + " tokens need at least " +
                    std::to_string(static_cast<uint64_t>(n_tokens) * 4) + " bytes after offset " +
                    std::to_string(r.pos()) + " but only " + std::to_string(r.remaining()) + " are left");
  }
  h.vocab.reserve(static_cast<size_t>(n_tokens));
  for (int32_t i = 0; i < n_tokens; ++i) {
    const size_t at = r.pos();
    uint32_t len = 0;
    const uint8_t* bytes = r.ReadU32(&len) ? r.Take(len) : nullptr;
    if (bytes == nullptr) {
      return BadInput("truncated vocab: token " + std::to_string(i) + " of " + std::to_string(n_tokens) +
                      " at offset " + std::to_string(at) + " runs past the end of the file");
    }
    h.vocab.emplace_back(reinterpret_cast<const char*>(bytes), len);
  }
  h.tensors_offset = r.pos();
  return h;
}

Result<GgmlHeader> ReadGgmlHeader(const std::string& path) {
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  Result<GgmlHeader> header = ParseGgmlHeader((*file)->data(), (*file)->size());
  if (!header.ok()) return WithPath(path, header.status());
  return header;
}

Result<TensorTable> ReadGgmlFile(const std::string& path) {
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  Result<TensorTable> table = ParseTable((*file)->data(), (*file)->size());
  if (!table.ok()) return WithPath(path, table.status());
  table->keep_alive.push_back(std::shared_ptr<MappedFile>(std::move(file.value())));  // in-place views
  return table;
}

Result<std::unique_ptr<LoadedModel>> LoadGgmlModel(const std::string& path, const LoadOptions& options) {
  Result<TensorTable> table = ReadGgmlFile(path);
  if (!table.ok()) return table.status();
  auto model = BindTensorTable(std::move(*table), options);
  if (!model.ok()) return WithPath(path, model.status());
  return model;
}

Result<std::unique_ptr<LoadedModel>> LoadGgmlModelFromMemory(const uint8_t* data, size_t size) {
  Result<TensorTable> table = ParseTable(data, size);
  if (!table.ok()) return table.status();
  table->data_outlives_load = false;
  // Exact products: nothing is borrowed from the buffer, so quantized matrices get no integer
  // panels either, and the tests and fuzzers that load from memory compare with f32 references.
  return BindTensorTable(std::move(*table), LoadOptions{.compute = ComputeType::kF32});
}

}  // namespace wisp
