#include "model/formats/safetensors_reader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_set>
#include <utility>
#include <vector>

#include "model/formats/byte_level_vocab.h"
#include "util/mapped_file.h"

namespace wisp {
namespace {

using Json = nlohmann::json;

// Hostile names and strings are cut short in messages.
std::string Quote(std::string_view s) {
  return "'" + std::string(s.substr(0, 120)) + (s.size() > 120 ? "...'" : "'");
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

struct JsonTooDeep {};

// Parses JSON text without exceptions escaping, refusing containers nested more than
// `max_depth` below the top one (nlohmann's parser is iterative, but a deep tree still costs a
// pointer a level: the files read here are all shallow). `skip_key`: values under that key of a
// depth-1 object are not kept (tokenizer.json's merges, which Whisper does not need).
Result<Json> ParseJson(const char* begin, const char* end, int max_depth, const std::string& source,
                       const char* skip_key = nullptr) {
  auto callback = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if ((event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) &&
        depth > max_depth) {
      throw JsonTooDeep{};
    }
    if (skip_key != nullptr && event == Json::parse_event_t::key && depth == 2 && parsed.is_string() &&
        parsed.get_ref<const std::string&>() == skip_key) {
      return false;
    }
    return true;
  };
  try {
    return Json::parse(begin, end, callback, /*allow_exceptions=*/true);
  } catch (const JsonTooDeep&) {
    return BadInput(source + ": JSON nested more than " + std::to_string(max_depth + 1) + " levels deep");
  } catch (const Json::parse_error& e) {
    return BadInput(source + ": not valid JSON (error at byte " + std::to_string(e.byte) + ")");
  } catch (const Json::exception& e) {
    return BadInput(source + ": not valid JSON");
  }
}

bool FileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<Json> ReadJsonFile(const std::string& path, uint64_t max_bytes, int max_depth,
                          const char* skip_key = nullptr) {
  Result<std::unique_ptr<MappedFile>> file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  const MappedFile& f = **file;
  if (f.size() > max_bytes) {
    return BadInput(path + ": " + std::to_string(f.size()) + " bytes, more than the " +
                    std::to_string(max_bytes >> 20) + " MiB such a file may have");
  }
  const char* text = reinterpret_cast<const char*>(f.data());
  Result<Json> json = ParseJson(text, text + f.size(), max_depth, path, skip_key);
  if (json.ok() && !json->is_object()) return BadInput(path + ": not a JSON object");
  return json;
}

const Json* Field(const Json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// A JSON integer in [lo, hi], else an error saying what `what` should be.
Result<int64_t> JsonInt(const Json* v, int64_t lo, int64_t hi, const std::string& what) {
  if (v == nullptr) return BadInput(what + " is missing");
  if (!v->is_number_integer()) return BadInput(what + " is not an integer");
  const bool in_range = v->is_number_unsigned() ? v->get<uint64_t>() <= static_cast<uint64_t>(hi)
                                                : v->get<int64_t>() >= lo && v->get<int64_t>() <= hi;
  if (!in_range) {
    return BadInput(what + " is " + v->dump() + ", outside " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  return v->get<int64_t>();
}

// ---- One safetensors file ------------------------------------------------------------------

struct Extent {
  uint64_t begin, end;
  const std::string* name;
};

// Checks one header entry and appends its tensor; `region`: the data after the header.
Status AddSafetensorsEntry(const std::string& name, const Json& entry, const uint8_t* region,
                           uint64_t region_size, const std::string& source, TensorTable& table,
                           std::vector<Extent>& extents) {
  const std::string where = source + ": tensor " + Quote(name);
  if (!entry.is_object()) return BadInput(where + ": entry is not a JSON object");
  const Json* dtype = Field(entry, "dtype");
  if (dtype == nullptr || !dtype->is_string()) return BadInput(where + ": no dtype string");
  SourceTensor t;
  t.name = name;
  const std::string& dt = dtype->get_ref<const std::string&>();
  if (dt == "F32") {
    t.dtype = TensorDType::kF32;
  } else if (dt == "F16") {
    t.dtype = TensorDType::kF16;
  } else if (dt == "BF16") {
    t.dtype = TensorDType::kBF16;
  } else {
    return Unsupported(where + " has dtype " + Quote(dt) + "; wisp reads F32, F16 and BF16");
  }
  const Json* shape = Field(entry, "shape");
  if (shape == nullptr || !shape->is_array()) return BadInput(where + ": no shape array");
  if (shape->size() > 8) return BadInput(where + ": shape has " + std::to_string(shape->size()) + " dimensions");
  // numel() multiplies left to right in int64: every partial product must fit.
  int64_t numel = 1;
  for (size_t i = 0; i < shape->size(); ++i) {
    Result<int64_t> d = JsonInt(&(*shape)[i], 0, std::numeric_limits<int64_t>::max(),
                                where + ": shape entry " + std::to_string(i));
    if (!d.ok()) return d.status();
    t.shape.push_back(*d);
    if (__builtin_mul_overflow(numel, *d, &numel)) return BadInput(where + ": shape " + shape->dump() + " overflows");
  }
  const int64_t elem = TensorDTypeBytes(t.dtype, 1);
  int64_t bytes = 0;
  if (__builtin_mul_overflow(numel, elem, &bytes)) return BadInput(where + ": shape " + shape->dump() + " overflows");
  const Json* offsets = Field(entry, "data_offsets");
  if (offsets == nullptr || !offsets->is_array() || offsets->size() != 2) {
    return BadInput(where + ": data_offsets is not an array [begin, end]");
  }
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  Result<int64_t> begin = JsonInt(&(*offsets)[0], 0, kMax, where + ": data_offsets begin");
  if (!begin.ok()) return begin.status();
  Result<int64_t> end = JsonInt(&(*offsets)[1], 0, kMax, where + ": data_offsets end");
  if (!end.ok()) return end.status();
  if (*end < *begin) return BadInput(where + ": data_offsets " + offsets->dump() + " end before begin");
  if (static_cast<uint64_t>(*end) > region_size) {
    return BadInput(where + ": data_offsets " + offsets->dump() + " run past the end of the data (" +
                    std::to_string(region_size) + " bytes)");
  }
  if (*end - *begin != bytes) {
    return BadInput(where + ": data_offsets " + offsets->dump() + " hold " + std::to_string(*end - *begin) +
                    " bytes but shape " + ShapeString(t.shape) + " of " + dt + " takes " + std::to_string(bytes));
  }
  t.data = region + *begin;
  t.bytes = static_cast<size_t>(bytes);
  table.tensors.push_back(std::move(t));
  extents.push_back({static_cast<uint64_t>(*begin), static_cast<uint64_t>(*end), &table.tensors.back().name});
  return Status::Ok();
}

}  // namespace

Result<TensorTable> ParseSafetensors(const uint8_t* data, size_t size, const std::string& source) {
  if (size < 8) {
    return BadInput(source + ": " + std::to_string(size) +
                    " bytes: too short for a safetensors file (it starts with an 8-byte header length)");
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  if (n > size - 8) {
    return BadInput(source + ": header length " + std::to_string(n) + " runs past the end of the file (" +
                    std::to_string(size) + " bytes)");
  }
  if (n > kMaxSafetensorsHeaderBytes) {
    return BadInput(source + ": header length " + std::to_string(n) + " exceeds the " +
                    std::to_string(kMaxSafetensorsHeaderBytes >> 20) + " MiB limit");
  }
  const char* text = reinterpret_cast<const char*>(data + 8);
  // Depth 2: top object -> tensor entry -> shape / data_offsets arrays.
  Result<Json> header = ParseJson(text, text + n, 2, source + ": header");
  if (!header.ok()) return header.status();
  if (!header->is_object()) return BadInput(source + ": header is not a JSON object");

  TensorTable table;
  table.data_outlives_load = false;
  table.metadata.format = "safetensors";
  const uint8_t* region = data + 8 + n;
  const uint64_t region_size = size - 8 - n;
  // Pointers into the names stay valid: reserve before the first push.
  table.tensors.reserve(header->size());
  std::vector<Extent> extents;
  extents.reserve(header->size());
  for (const auto& [name, entry] : header->items()) {
    if (name == "__metadata__") {
      // Free-form string pairs (e.g. "format": "pt"): nothing the engine needs.
      if (!entry.is_object()) return BadInput(source + ": __metadata__ is not a JSON object");
      continue;
    }
    WISP_RETURN_IF_ERROR(AddSafetensorsEntry(name, entry, region, region_size, source, table, extents));
  }
  // Two tensors sharing bytes is not something a writer produces (safetensors refuses shared
  // storage); it would also let one hostile file alias weights.
  std::sort(extents.begin(), extents.end(), [](const Extent& a, const Extent& b) { return a.begin < b.begin; });
  const Extent* prev = nullptr;
  for (const Extent& e : extents) {
    if (e.begin == e.end) continue;
    if (prev != nullptr && e.begin < prev->end) {
      return BadInput(source + ": tensors " + Quote(*prev->name) + " and " + Quote(*e.name) + " overlap");
    }
    prev = &e;
  }
  return table;
}

// ---- transformers names -> openai-whisper names ----------------------------------------------

Result<HfTensorName> WhisperNameForHuggingFace(std::string_view hf_name) {
  std::string_view n = hf_name;
  // WhisperForConditionalGeneration prefixes "model."; a saved WhisperModel does not.
  if (n.starts_with("model.")) n.remove_prefix(6);
  auto unknown = [&] {
    return BadInput("tensor " + Quote(hf_name) + " is not part of a transformers Whisper model");
  };
  auto mapped = [](std::string name) { return HfTensorName{HfTensorRole::kWeight, std::move(name)}; };
  if (n == "proj_out.weight") return HfTensorName{HfTensorRole::kTiedOutputProjection, {}};

  const bool decoder = n.starts_with("decoder.");
  if (!decoder && !n.starts_with("encoder.")) return unknown();
  const std::string side = decoder ? "decoder." : "encoder.";
  n.remove_prefix(side.size());

  // Tensors outside the blocks.
  static const std::map<std::string_view, std::string_view> kEncoderTop = {
      {"conv1.weight", "conv1.weight"}, {"conv1.bias", "conv1.bias"},
      {"conv2.weight", "conv2.weight"}, {"conv2.bias", "conv2.bias"},
      {"embed_positions.weight", "positional_embedding"},
      {"layer_norm.weight", "ln_post.weight"}, {"layer_norm.bias", "ln_post.bias"}};
  static const std::map<std::string_view, std::string_view> kDecoderTop = {
      {"embed_tokens.weight", "token_embedding.weight"},
      {"embed_positions.weight", "positional_embedding"},
      {"layer_norm.weight", "ln.weight"}, {"layer_norm.bias", "ln.bias"}};
  const auto& top = decoder ? kDecoderTop : kEncoderTop;
  if (auto it = top.find(n); it != top.end()) return mapped(side + std::string(it->second));

  // layers.<N>.<module>.<weight|bias>
  if (!n.starts_with("layers.")) return unknown();
  n.remove_prefix(7);
  size_t digits = 0;
  while (digits < n.size() && n[digits] >= '0' && n[digits] <= '9') ++digits;
  // Canonical decimal only (no "01"): the name must come out exactly as openai-whisper spells it.
  if (digits == 0 || digits > 3 || (digits > 1 && n[0] == '0') || digits == n.size() || n[digits] != '.') {
    return unknown();
  }
  const std::string layer(n.substr(0, digits));
  n.remove_prefix(digits + 1);
  const size_t dot = n.rfind('.');
  if (dot == std::string_view::npos) return unknown();
  const std::string_view module = n.substr(0, dot);
  const std::string_view param = n.substr(dot + 1);
  if (param != "weight" && param != "bias") return unknown();
  // Whisper's key projection has no bias (transformers builds k_proj with bias=False too), but a
  // checkpoint may carry one. A key bias b adds q.b to every score of query q: the same constant
  // for all the keys that softmax normalizes over, so the attention weights do not change and
  // the bias can be dropped.
  if (param == "bias" && (module == "self_attn.k_proj" || (decoder && module == "encoder_attn.k_proj"))) {
    return HfTensorName{HfTensorRole::kDroppedKeyBias, {}};
  }
  static const std::map<std::string_view, std::string_view> kModules = {
      {"self_attn.q_proj", "attn.query"}, {"self_attn.k_proj", "attn.key"},
      {"self_attn.v_proj", "attn.value"}, {"self_attn.out_proj", "attn.out"},
      {"self_attn_layer_norm", "attn_ln"}, {"fc1", "mlp.0"}, {"fc2", "mlp.2"},
      {"final_layer_norm", "mlp_ln"}};
  static const std::map<std::string_view, std::string_view> kCrossModules = {
      {"encoder_attn.q_proj", "cross_attn.query"}, {"encoder_attn.k_proj", "cross_attn.key"},
      {"encoder_attn.v_proj", "cross_attn.value"}, {"encoder_attn.out_proj", "cross_attn.out"},
      {"encoder_attn_layer_norm", "cross_attn_ln"}};
  std::string_view whisper_module;
  if (auto it = kModules.find(module); it != kModules.end()) {
    whisper_module = it->second;
  } else if (auto cross = kCrossModules.find(module); decoder && cross != kCrossModules.end()) {
    whisper_module = cross->second;
  } else {
    return unknown();
  }
  return mapped(side + "blocks." + layer + "." + std::string(whisper_module) + "." + std::string(param));
}

// ---- The checkpoint directory -----------------------------------------------------------------

namespace {

constexpr uint64_t kMaxSmallJsonBytes = 4ull << 20;   // config, generation config, index

std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

Result<HParams> ReadConfig(const std::string& path) {
  if (!FileExists(path)) return NotFound(path + ": not found; a Hugging Face checkpoint needs its config.json");
  Result<Json> config = ReadJsonFile(path, kMaxSmallJsonBytes, 8);
  if (!config.ok()) return config.status();
  HParams hp;
  // Plausibility (heads divide the width, contexts 1500 / 448...) is ValidateArchitecture's job.
  const std::pair<const char*, int32_t*> fields[] = {
      {"vocab_size", &hp.n_vocab},           {"max_source_positions", &hp.n_audio_ctx},
      {"d_model", &hp.n_audio_state},        {"encoder_attention_heads", &hp.n_audio_head},
      {"encoder_layers", &hp.n_audio_layer}, {"max_target_positions", &hp.n_text_ctx},
      {"decoder_attention_heads", &hp.n_text_head}, {"decoder_layers", &hp.n_text_layer},
      {"num_mel_bins", &hp.n_mels}};
  for (const auto& [key, dst] : fields) {
    Result<int64_t> v = JsonInt(Field(*config, key), 1, std::numeric_limits<int32_t>::max(), path + ": " + key);
    if (!v.ok()) return v.status();
    *dst = static_cast<int32_t>(*v);
  }
  hp.n_text_state = hp.n_audio_state;  // transformers' Whisper has one d_model for both
  return hp;
}

// An optional list of token ids, each in [0, n_vocab).
Status ReadTokenList(const Json& config, const char* key, int n_vocab, const std::string& path,
                     std::vector<int>& out) {
  const Json* list = Field(config, key);
  if (list == nullptr || list->is_null()) return Status::Ok();
  if (!list->is_array()) return BadInput(path + ": " + key + " is not a list");
  for (size_t i = 0; i < list->size(); ++i) {
    Result<int64_t> id = JsonInt(&(*list)[i], 0, n_vocab - 1, path + ": " + key + "[" + std::to_string(i) + "]");
    if (!id.ok()) return id.status();
    out.push_back(static_cast<int>(*id));
  }
  return Status::Ok();
}

Status ReadGenerationConfig(const std::string& path, const HParams& hp, ModelMetadata& meta) {
  if (!FileExists(path)) return Status::Ok();  // optional: older exports have none
  Result<Json> config = ReadJsonFile(path, kMaxSmallJsonBytes, 8);
  if (!config.ok()) return config.status();
  const Json* heads = Field(*config, "alignment_heads");
  if (heads != nullptr && !heads->is_null()) {
    if (!heads->is_array()) return BadInput(path + ": alignment_heads is not a list");
    for (size_t i = 0; i < heads->size(); ++i) {
      const std::string what = path + ": alignment_heads[" + std::to_string(i) + "]";
      const Json& pair = (*heads)[i];
      if (!pair.is_array() || pair.size() != 2) return BadInput(what + " is not a [layer, head] pair");
      Result<int64_t> layer = JsonInt(&pair[0], 0, hp.n_text_layer - 1, what + " layer");
      if (!layer.ok()) return layer.status();
      Result<int64_t> head = JsonInt(&pair[1], 0, hp.n_text_head - 1, what + " head");
      if (!head.ok()) return head.status();
      meta.alignment_heads.emplace_back(static_cast<int>(*layer), static_cast<int>(*head));
    }
  }
  WISP_RETURN_IF_ERROR(ReadTokenList(*config, "suppress_tokens", hp.n_vocab, path, meta.suppress_tokens));
  return ReadTokenList(*config, "begin_suppress_tokens", hp.n_vocab, path, meta.suppress_tokens_begin);
}

// model.safetensors.index.json: {"weight_map": {tensor name: shard file}}. Returns the shards'
// file names; `weight_map` gets the map.
Result<std::vector<std::string>> ReadShardIndex(const std::string& path,
                                                std::map<std::string, std::string>& weight_map) {
  Result<Json> index = ReadJsonFile(path, kMaxSmallJsonBytes, 2);
  if (!index.ok()) return index.status();
  const Json* map = Field(*index, "weight_map");
  if (map == nullptr || !map->is_object() || map->empty()) return BadInput(path + ": no weight_map of tensors");
  std::set<std::string> files;
  for (const auto& [name, file] : map->items()) {
    if (!file.is_string()) return BadInput(path + ": tensor " + Quote(name) + " is mapped to a non-string");
    const std::string& f = file.get_ref<const std::string&>();
    // Shards are files beside the index, never a path elsewhere.
    if (f.empty() || f == "." || f == ".." || f.find('/') != std::string::npos || f.find('\0') != std::string::npos) {
      return BadInput(path + ": tensor " + Quote(name) + " is mapped to " + Quote(f) + ", not a file name");
    }
    files.insert(f);
    weight_map[name] = f;
  }
  return std::vector<std::string>(files.begin(), files.end());
}

}  // namespace

Result<TensorTable> ReadHuggingFaceDir(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return NotFound(path + ": no such file or directory");
  std::string dir;
  std::vector<std::string> shard_files;  // names inside `dir`
  std::map<std::string, std::string> weight_map;  // empty unless sharded
  std::string index_path;
  if (S_ISDIR(st.st_mode)) {
    dir = path;
    index_path = JoinPath(dir, "model.safetensors.index.json");
    if (FileExists(JoinPath(dir, "model.safetensors"))) {
      shard_files.push_back("model.safetensors");
      index_path.clear();
    } else if (FileExists(index_path)) {
      Result<std::vector<std::string>> shards = ReadShardIndex(index_path, weight_map);
      if (!shards.ok()) return shards.status();
      shard_files = std::move(*shards);
    } else {
      return NotFound(path + ": no model.safetensors or model.safetensors.index.json: not a Hugging Face checkpoint");
    }
  } else {
    const size_t slash = path.rfind('/');
    dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    shard_files.push_back(slash == std::string::npos ? path : path.substr(slash + 1));
  }

  TensorTable table;
  Result<HParams> hp = ReadConfig(JoinPath(dir, "config.json"));
  if (!hp.ok()) return hp.status();
  table.hparams = *hp;

  std::unordered_set<std::string> names;       // openai-whisper names so far
  std::unordered_set<std::string> hf_names;    // the files' own names, against the index
  std::vector<SourceTensor> tied;              // proj_out.weight, if present
  for (const std::string& shard_file : shard_files) {
    const std::string shard = JoinPath(dir, shard_file);
    Result<std::unique_ptr<MappedFile>> file = MappedFile::Open(shard);
    if (!file.ok()) return file.status();
    std::shared_ptr<MappedFile> mapping = std::move(*file);
    Result<TensorTable> part = ParseSafetensors(mapping->data(), mapping->size(), shard);
    if (!part.ok()) return part.status();
    table.keep_alive.push_back(mapping);
    for (SourceTensor& t : part->tensors) {
      if (!weight_map.empty()) {
        auto it = weight_map.find(t.name);
        if (it == weight_map.end() || it->second != shard_file) {
          return BadInput(shard + ": holds tensor " + Quote(t.name) + ", which " + index_path + " maps elsewhere");
        }
        hf_names.insert(t.name);
      }
      Result<HfTensorName> mapped = WhisperNameForHuggingFace(t.name);
      if (!mapped.ok()) return BadInput(shard + ": " + mapped.status().message());
      if (mapped->role == HfTensorRole::kDroppedKeyBias) continue;
      if (mapped->role == HfTensorRole::kTiedOutputProjection) {
        tied.push_back(std::move(t));
        continue;
      }
      if (!names.insert(mapped->whisper_name).second) {
        return BadInput(shard + ": tensor " + Quote(t.name) + " is a second " + mapped->whisper_name);
      }
      t.name = std::move(mapped->whisper_name);
      table.tensors.push_back(std::move(t));
    }
  }
  for (const auto& [name, file] : weight_map) {
    if (!hf_names.count(name)) {
      return BadInput(index_path + ": tensor " + Quote(name) + " is not in its shard " + Quote(file));
    }
  }
  // transformers ties proj_out to the token embedding (and usually does not save it at all).
  for (const SourceTensor& p : tied) {
    const int e = table.Find("decoder.token_embedding.weight");
    if (e < 0) return BadInput(path + ": proj_out.weight without a token embedding to tie it to");
    const SourceTensor& emb = table.tensors[e];
    if (p.dtype != emb.dtype || p.shape != emb.shape || p.bytes != emb.bytes ||
        (p.data != emb.data && std::memcmp(p.data, emb.data, p.bytes) != 0)) {
      return Unsupported(path + ": untied output projection: proj_out.weight differs from the token embedding");
    }
  }
  // Informational only (the binder keeps each tensor's own dtype): 1 when every matrix is f16.
  bool all_f16 = true, any_matrix = false;
  for (const SourceTensor& t : table.tensors) {
    if (t.shape.size() < 2) continue;
    any_matrix = true;
    all_f16 &= t.dtype == TensorDType::kF16;
  }
  table.hparams.ftype = any_matrix && all_f16 ? 1 : 0;

  table.metadata.format = "huggingface";
  WISP_RETURN_IF_ERROR(ReadGenerationConfig(JoinPath(dir, "generation_config.json"), table.hparams, table.metadata));
  WISP_RETURN_IF_ERROR(ReadHuggingFaceTokenizer(dir, table.metadata));
  table.data_outlives_load = true;
  return table;
}

}  // namespace wisp
