#include "model/formats/openai_pt_reader.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <map>
#include <memory>
#include <unordered_set>
#include <utility>
#include <vector>

#include "model/formats/pickle_reader.h"
#include "model/formats/zip_archive.h"
#include "util/mapped_file.h"

namespace wisp {
namespace {

constexpr size_t kMaxDims = 8;  // Whisper's tensors have at most 3

std::string ShapeString(const std::vector<int64_t>& v) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + (v.size() == 1 ? ",)" : ")");
}

Result<TensorDType> StorageDType(const std::string& storage_type) {
  if (storage_type == "HalfStorage") return TensorDType::kF16;
  if (storage_type == "FloatStorage") return TensorDType::kF32;
  if (storage_type == "BFloat16Storage") return TensorDType::kBF16;
  return Unsupported("storage type " + storage_type);  // the unpickler admits no others
}

// The archive's directory prefix: the one entry named "<prefix>/data.pkl".
Result<std::string> FindPrefix(const ZipArchive& zip, const std::string& source) {
  std::string prefix;
  int found = 0;
  for (const ZipEntry& e : zip.entries()) {
    const size_t slash = e.name.find('/');
    if (slash != std::string::npos && slash > 0 && e.name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      prefix = e.name.substr(0, slash);
      ++found;
    }
  }
  if (found == 0) return BadInput(source + ": zip archive has no <name>/data.pkl entry: not a torch.save checkpoint");
  if (found > 1) return BadInput(source + ": zip archive has " + std::to_string(found) + " <name>/data.pkl entries");
  return prefix;
}

Status ReadDims(const PickleValue& dims, const std::string& source, HParams* hp) {
  const std::pair<const char*, int32_t*> fields[] = {
      {"n_mels", &hp->n_mels},           {"n_vocab", &hp->n_vocab},
      {"n_audio_ctx", &hp->n_audio_ctx}, {"n_audio_state", &hp->n_audio_state},
      {"n_audio_head", &hp->n_audio_head}, {"n_audio_layer", &hp->n_audio_layer},
      {"n_text_ctx", &hp->n_text_ctx},   {"n_text_state", &hp->n_text_state},
      {"n_text_head", &hp->n_text_head}, {"n_text_layer", &hp->n_text_layer}};
  for (const auto& [name, out] : fields) {
    const PickleValue* v = dims.Get(name);
    if (v == nullptr) return BadInput(source + ": dims has no '" + name + "'");
    if (!v->is(PickleKind::kInt) || v->integer <= 0 || v->integer > INT32_MAX) {
      return BadInput(source + ": dims['" + name + "'] is not a positive 32-bit integer");
    }
    *out = static_cast<int32_t>(v->integer);
  }
  return Status::Ok();
}

// One storage, resolved once however many tensors view it.
struct Storage {
  TensorDType dtype;
  int64_t numel = 0;
  const uint8_t* data = nullptr;
};

class TableBuilder {
 public:
  TableBuilder(const ZipArchive& zip, std::string prefix, const std::string& source, TensorTable* table)
      : zip_(zip), prefix_(std::move(prefix)), source_(source), table_(table) {}

  Result<const Storage*> Resolve(const PickleValue& s, const std::string& tensor) {
    const std::string at = source_ + ": tensor '" + tensor + "': storage '" + s.str + "'";
    auto dtype = StorageDType(s.storage_type);
    if (!dtype.ok()) return Unsupported(at + ": " + dtype.status().message());
    auto it = storages_.find(s.str);
    if (it != storages_.end()) {
      // torch.save writes one persistent id per storage: a second view must agree with the first.
      if (it->second.dtype != *dtype || it->second.numel != s.integer) {
        return BadInput(at + " is declared as " + std::to_string(s.integer) + " " + TensorDTypeName(*dtype) +
                        " elements here but " + std::to_string(it->second.numel) + " " +
                        TensorDTypeName(it->second.dtype) + " elements by an earlier tensor");
      }
      return &it->second;
    }
    const std::string entry_name = prefix_ + "/data/" + s.str;
    const ZipEntry* entry = zip_.Find(entry_name);
    if (entry == nullptr) return BadInput(at + ": the archive has no entry " + entry_name);
    const uint64_t elem = static_cast<uint64_t>(TensorDTypeBytes(*dtype, 1));
    if (static_cast<uint64_t>(s.integer) > UINT64_MAX / elem ||
        static_cast<uint64_t>(s.integer) * elem != entry->uncompressed_size) {
      return BadInput(at + " declares " + std::to_string(s.integer) + " " + TensorDTypeName(*dtype) +
                      " elements but " + entry_name + " holds " + std::to_string(entry->uncompressed_size) + " bytes");
    }
    auto bytes = zip_.Read(*entry, /*check_crc=*/false);
    if (!bytes.ok()) return bytes.status();
    if (bytes->owned) table_->keep_alive.push_back(bytes->owned);
    Storage st{*dtype, s.integer, bytes->data};
    return &storages_.emplace(s.str, st).first->second;
  }

  Status Add(const std::string& name, const PickleValue& t) {
    const std::string at = source_ + ": tensor '" + name + "'";
    if (t.shape.size() > kMaxDims) return Unsupported(at + ": " + std::to_string(t.shape.size()) + " dimensions");
    if (t.stride.size() != t.shape.size()) {
      return BadInput(at + ": size " + ShapeString(t.shape) + " and stride " + ShapeString(t.stride) + " differ in rank");
    }
    int64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0 || __builtin_mul_overflow(numel, d, &numel) || numel > (int64_t{1} << 48)) {
        return BadInput(at + ": size " + ShapeString(t.shape) + " is negative or too large");
      }
    }
    // Row-major contiguity; a dimension of size 1 may carry any stride (PyTorch's rule).
    int64_t expected = 1;
    for (size_t i = t.shape.size(); i-- > 0;) {
      if (t.shape[i] != 1 && t.stride[i] != expected) {
        return Unsupported(at + ": stride " + ShapeString(t.stride) + " is not contiguous row-major for size " +
                           ShapeString(t.shape) + " (save it with .contiguous())");
      }
      expected *= t.shape[i];
    }
    auto storage = Resolve(*t.items[0], name);
    if (!storage.ok()) return storage.status();
    const Storage& s = **storage;
    if (t.integer < 0 || t.integer > s.numel || numel > s.numel - t.integer) {
      return BadInput(at + ": " + std::to_string(numel) + " elements at storage offset " + std::to_string(t.integer) +
                      " exceed storage '" + t.items[0]->str + "' of " + std::to_string(s.numel) + " elements");
    }
    SourceTensor out;
    out.name = name;
    out.dtype = s.dtype;
    out.shape = t.shape;
    const size_t elem = static_cast<size_t>(TensorDTypeBytes(s.dtype, 1));
    out.data = s.data + static_cast<size_t>(t.integer) * elem;
    out.bytes = static_cast<size_t>(numel) * elem;
    table_->tensors.push_back(std::move(out));
    return Status::Ok();
  }

 private:
  const ZipArchive& zip_;
  std::string prefix_;
  const std::string& source_;
  TensorTable* table_;
  std::map<std::string, Storage> storages_;
};

}  // namespace

Result<TensorTable> ParseOpenAiCheckpoint(const uint8_t* data, size_t size, const std::string& source) {
  if (size >= 2 && data[0] == 0x80 && data[1] <= 5) {
    return Unsupported(source + ": a bare pickle (PyTorch's legacy pre-1.6 format, or not a torch.save zip); "
                       "re-save it with a current torch.save");
  }
  auto zip = ZipArchive::Parse(data, size, source);
  if (!zip.ok()) return zip.status();
  auto prefix = FindPrefix(*zip, source);
  if (!prefix.ok()) return prefix.status();

  if (const ZipEntry* bo = zip->Find(*prefix + "/byteorder")) {
    auto b = zip->Read(*bo, /*check_crc=*/true);
    if (!b.ok()) return b.status();
    if (std::string(reinterpret_cast<const char*>(b->data), b->size) != "little") {
      return Unsupported(source + ": byteorder '" + std::string(reinterpret_cast<const char*>(b->data), std::min<size_t>(b->size, 16)) +
                         "' (only little-endian checkpoints are supported)");
    }
  }
  const std::string pkl_name = *prefix + "/data.pkl";
  auto pkl = zip->Read(*zip->Find(pkl_name), /*check_crc=*/true);
  if (!pkl.ok()) return pkl.status();
  const std::string pkl_source = source + ": " + pkl_name;
  auto doc = ParsePickle(pkl->data, pkl->size, pkl_source);
  if (!doc.ok()) return doc.status();

  const PickleValue& root = doc->root();
  if (!root.is(PickleKind::kDict)) {
    return BadInput(pkl_source + ": the checkpoint is a " + PickleKindName(root.kind) + ", not a dict");
  }
  const PickleValue* dims = root.Get("dims");
  const PickleValue* state = root.Get("model_state_dict");
  if (dims == nullptr || !dims->is(PickleKind::kDict) || state == nullptr || !state->is(PickleKind::kDict)) {
    return BadInput(pkl_source + ": not an openai-whisper checkpoint (needs dicts 'dims' and 'model_state_dict')");
  }

  TensorTable table;
  table.data_outlives_load = false;
  table.metadata.format = "openai-pt";
  WISP_RETURN_IF_ERROR(ReadDims(*dims, pkl_source, &table.hparams));

  TableBuilder builder(*zip, *prefix, source, &table);
  std::unordered_set<std::string> names;
  table.tensors.reserve(state->dict.size());
  for (const auto& [key, value] : state->dict) {
    if (!key->is(PickleKind::kString)) {
      return BadInput(pkl_source + ": model_state_dict has a " + PickleKindName(key->kind) + " key");
    }
    if (!value->is(PickleKind::kTensor)) {
      return BadInput(source + ": tensor '" + key->str + "' is a " + PickleKindName(value->kind) + ", not a tensor");
    }
    if (!names.insert(key->str).second) return BadInput(source + ": tensor '" + key->str + "' appears twice");
    WISP_RETURN_IF_ERROR(builder.Add(key->str, *value));
  }
  // Informational, as ggml's ftype: 1 when the matrices are stored as f16.
  bool any_matrix = false, all_f16 = true;
  for (const SourceTensor& t : table.tensors) {
    if (t.shape.size() >= 2) {
      any_matrix = true;
      all_f16 = all_f16 && t.dtype == TensorDType::kF16;
    }
  }
  table.hparams.ftype = any_matrix && all_f16 ? 1 : 0;
  return table;
}

Result<TensorTable> ReadOpenAiCheckpoint(const std::string& path) {
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  std::shared_ptr<MappedFile> mapping(std::move(*file));
  auto table = ParseOpenAiCheckpoint(mapping->data(), mapping->size(), path);
  if (!table.ok()) return table.status();
  table->keep_alive.push_back(mapping);
  table->data_outlives_load = true;
  return table;
}

}  // namespace wisp
