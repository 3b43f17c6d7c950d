// model.bin layout (CTranslate2's ModelSpec serialisation, binary versions 4..6, little-endian):
//   u32 binary_version; string spec_name; u32 spec_revision; u32 n_variables;
//   per variable: string name; u8 rank; u32 dims[rank]; u8 dtype; u32 n_bytes; n_bytes of data;
//   u32 n_aliases; per alias: string alias; string target.
// A string is u16 length (including a trailing NUL), then the bytes. dtype: 0 f32, 1 int8,
// 2 int16, 3 int32, 4 f16, 5 bf16.
#include "model/formats/ctranslate2_reader.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "model/formats/byte_level_vocab.h"
#include "model/formats/safetensors_reader.h"
#include "util/mapped_file.h"

namespace wisp {
namespace {

constexpr uint32_t kMinVersion = 4, kMaxVersion = 6;
constexpr uint32_t kMaxVariables = 100000;
constexpr int kMaxRank = 4;

struct Variable {
  std::vector<int64_t> shape;
  int dtype = 0;
  const uint8_t* data = nullptr;
  size_t bytes = 0;
};

class Reader {
 public:
  Reader(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  size_t pos() const { return pos_; }
  bool U8(uint8_t* v) { return Raw(v, 1); }
  bool U16(uint16_t* v) { return Raw(v, 2); }
  bool U32(uint32_t* v) { return Raw(v, 4); }
  bool String(std::string* s) {
    uint16_t len = 0;
    if (!U16(&len) || len == 0 || len > n_ - pos_) return false;
    s->assign(reinterpret_cast<const char*>(d_ + pos_), len - 1);  // drops the NUL
    pos_ += len;
    return true;
  }
  const uint8_t* Take(size_t k) {
    if (k > n_ - pos_) return nullptr;
    const uint8_t* p = d_ + pos_;
    pos_ += k;
    return p;
  }

 private:
  bool Raw(void* v, size_t k) {
    if (k > n_ - pos_) return false;
    std::memcpy(v, d_ + pos_, k);
    pos_ += k;
    return true;
  }
  const uint8_t* d_;
  size_t n_;
  size_t pos_ = 0;
};

int ElementBytes(int dtype) {
  switch (dtype) {
    case 0: case 3: return 4;
    case 1: return 1;
    case 2: case 4: case 5: return 2;
    default: return 0;
  }
}

const char* DTypeName(int dtype) {
  static const char* kNames[] = {"float32", "int8", "int16", "int32", "float16", "bfloat16"};
  return dtype >= 0 && dtype <= 5 ? kNames[dtype] : "unknown";
}

int64_t Numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

bool IsFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Maps CTranslate2's variables to openai-whisper tensors, splitting the fused ones.
class Mapper {
 public:
  Mapper(const std::map<std::string, Variable>& vars, const std::string& source, TensorTable* table)
      : vars_(vars), source_(source), table_(table) {}

  // A plain tensor: name -> whisper name, all rows.
  Status Plain(const std::string& ct2, const std::string& whisper) { return Rows(ct2, whisper, 0, -1); }

  // Rows [first, first + count) of a (fused) variable; count -1 = all. 1-D variables (biases)
  // are sliced the same way.
  Status Rows(const std::string& ct2, const std::string& whisper, int64_t first, int64_t count) {
    auto it = vars_.find(ct2);
    if (it == vars_.end()) return BadInput(source_ + ": variable " + ct2 + " is missing");
    used_.insert(ct2);
    const Variable& v = it->second;
    if (v.shape.empty()) return BadInput(source_ + ": variable " + ct2 + " is a scalar");
    const int64_t rows = v.shape[0];
    if (count < 0) count = rows;
    if (first + count > rows) {
      return BadInput(source_ + ": variable " + ct2 + " has " + std::to_string(rows) + " rows; the model needs " +
                      std::to_string(first + count));
    }
    SourceTensor t;
    t.name = whisper;
    t.shape = v.shape;
    t.shape[0] = count;
    const int64_t row_elems = rows > 0 ? Numel(v.shape) / rows : 0;
    const int eb = ElementBytes(v.dtype);
    switch (v.dtype) {
      case 0: t.dtype = TensorDType::kF32; break;
      case 4: t.dtype = TensorDType::kF16; break;
      case 5: t.dtype = TensorDType::kBF16; break;
      case 1: t.dtype = TensorDType::kI8Rows; break;
      default:
        return Unsupported(source_ + ": variable " + ct2 + " is " + DTypeName(v.dtype) +
                           " (supported: float32, float16, bfloat16, int8 with per-row scales)");
    }
    t.data = v.data + first * row_elems * eb;
    t.bytes = static_cast<size_t>(count * row_elems * eb);
    if (t.dtype == TensorDType::kI8Rows) {
      auto s = vars_.find(ct2 + "_scale");
      if (s == vars_.end()) return BadInput(source_ + ": int8 variable " + ct2 + " has no " + ct2 + "_scale");
      used_.insert(ct2 + "_scale");
      const Variable& sv = s->second;
      if (Numel(sv.shape) != rows || (sv.dtype != 0 && sv.dtype != 4 && sv.dtype != 5)) {
        return BadInput(source_ + ": " + ct2 + "_scale must hold one float per row (" + std::to_string(rows) +
                        "), has " + std::to_string(Numel(sv.shape)) + " " + DTypeName(sv.dtype));
      }
      t.scale_dtype = sv.dtype == 0 ? TensorDType::kF32 : sv.dtype == 4 ? TensorDType::kF16 : TensorDType::kBF16;
      t.scales = sv.data + first * ElementBytes(sv.dtype);
    }
    table_->tensors.push_back(std::move(t));
    return Status::Ok();
  }

  void MarkUsed(const std::string& ct2) { used_.insert(ct2); }
  bool Used(const std::string& ct2) const { return used_.count(ct2) != 0; }

 private:
  const std::map<std::string, Variable>& vars_;
  const std::string& source_;
  TensorTable* table_;
  std::set<std::string> used_;
};

// A key bias (CTranslate2 stores zeros for it) adds q·b to every score of a query, which softmax
// ignores: Whisper's key has no bias, so that slice of the fused bias is not bound.
Status MapAttention(Mapper& m, const std::string& ct2, const std::string& w, int64_t d, bool cross) {
  if (!cross) {
    const std::string f = ct2 + "/linear_0/";
    WISP_RETURN_IF_ERROR(m.Rows(f + "weight", w + ".query.weight", 0, d));
    WISP_RETURN_IF_ERROR(m.Rows(f + "weight", w + ".key.weight", d, d));
    WISP_RETURN_IF_ERROR(m.Rows(f + "weight", w + ".value.weight", 2 * d, d));
    WISP_RETURN_IF_ERROR(m.Rows(f + "bias", w + ".query.bias", 0, d));
    WISP_RETURN_IF_ERROR(m.Rows(f + "bias", w + ".value.bias", 2 * d, d));
    WISP_RETURN_IF_ERROR(m.Plain(ct2 + "/linear_1/weight", w + ".out.weight"));
    return m.Plain(ct2 + "/linear_1/bias", w + ".out.bias");
  }
  WISP_RETURN_IF_ERROR(m.Plain(ct2 + "/linear_0/weight", w + ".query.weight"));
  WISP_RETURN_IF_ERROR(m.Plain(ct2 + "/linear_0/bias", w + ".query.bias"));
  const std::string f = ct2 + "/linear_1/";
  WISP_RETURN_IF_ERROR(m.Rows(f + "weight", w + ".key.weight", 0, d));
  WISP_RETURN_IF_ERROR(m.Rows(f + "weight", w + ".value.weight", d, d));
  WISP_RETURN_IF_ERROR(m.Rows(f + "bias", w + ".value.bias", d, d));
  WISP_RETURN_IF_ERROR(m.Plain(ct2 + "/linear_2/weight", w + ".out.weight"));
  return m.Plain(ct2 + "/linear_2/bias", w + ".out.bias");
}

Status MapLayerNorm(Mapper& m, const std::string& ct2, const std::string& w) {
  WISP_RETURN_IF_ERROR(m.Plain(ct2 + "/gamma", w + ".weight"));
  return m.Plain(ct2 + "/beta", w + ".bias");
}

Status MapFfn(Mapper& m, const std::string& ct2, const std::string& w) {
  WISP_RETURN_IF_ERROR(MapLayerNorm(m, ct2 + "/layer_norm", w + ".mlp_ln"));
  WISP_RETURN_IF_ERROR(m.Plain(ct2 + "/linear_0/weight", w + ".mlp.0.weight"));
  WISP_RETURN_IF_ERROR(m.Plain(ct2 + "/linear_0/bias", w + ".mlp.0.bias"));
  WISP_RETURN_IF_ERROR(m.Plain(ct2 + "/linear_1/weight", w + ".mlp.2.weight"));
  return m.Plain(ct2 + "/linear_1/bias", w + ".mlp.2.bias");
}

int CountLayers(const std::map<std::string, Variable>& vars, const std::string& prefix) {
  int n = 0;
  while (vars.count(prefix + std::to_string(n) + "/ffn/linear_0/weight") != 0) ++n;
  return n;
}

Result<int32_t> ScalarInt(const std::map<std::string, Variable>& vars, const std::string& name,
                          const std::string& source) {
  auto it = vars.find(name);
  if (it == vars.end()) return BadInput(source + ": scalar " + name + " is missing");
  const Variable& v = it->second;
  if (!v.shape.empty() || (v.dtype != 1 && v.dtype != 2 && v.dtype != 3)) {
    return BadInput(source + ": " + name + " must be an integer scalar");
  }
  if (v.dtype == 1) return static_cast<int32_t>(static_cast<int8_t>(v.data[0]));
  if (v.dtype == 2) {
    int16_t x;
    std::memcpy(&x, v.data, 2);
    return static_cast<int32_t>(x);
  }
  int32_t x;
  std::memcpy(&x, v.data, 4);
  return x;
}

}  // namespace

Result<TensorTable> ParseCTranslate2ModelBin(const uint8_t* data, size_t size, const std::string& source) {
  Reader r(data, size);
  uint32_t version = 0, revision = 0, n_vars = 0;
  std::string spec;
  if (!r.U32(&version)) return BadInput(source + ": " + std::to_string(size) + " bytes is too short for a CTranslate2 model");
  if (version < kMinVersion || version > kMaxVersion) {
    return Unsupported(source + ": CTranslate2 binary version " + std::to_string(version) + " (this reader takes " +
                       std::to_string(kMinVersion) + ".." + std::to_string(kMaxVersion) + ")");
  }
  if (!r.String(&spec) || !r.U32(&revision)) return BadInput(source + ": truncated header (spec name)");
  if (spec != "WhisperSpec") {
    return Unsupported(source + ": a CTranslate2 " + spec.substr(0, 64) + " model, not Whisper (WhisperSpec)");
  }
  if (!r.U32(&n_vars) || n_vars > kMaxVariables) {
    return BadInput(source + ": variable count " + std::to_string(n_vars) + " missing or above " +
                    std::to_string(kMaxVariables));
  }
  std::map<std::string, Variable> vars;
  for (uint32_t i = 0; i < n_vars; ++i) {
    const size_t at = r.pos();
    const std::string where = "variable " + std::to_string(i) + " at offset " + std::to_string(at);
    std::string name;
    uint8_t rank = 0, dtype = 0;
    if (!r.String(&name) || !r.U8(&rank)) return BadInput(source + ": truncated " + where);
    if (rank > kMaxRank) return BadInput(source + ": " + where + " (" + name.substr(0, 80) + ") has rank " + std::to_string(rank));
    Variable v;
    for (int k = 0; k < rank; ++k) {
      uint32_t dim = 0;
      if (!r.U32(&dim)) return BadInput(source + ": truncated " + where);
      v.shape.push_back(dim);
    }
    uint32_t n_bytes = 0;
    if (!r.U8(&dtype) || !r.U32(&n_bytes)) return BadInput(source + ": truncated " + where);
    v.dtype = dtype;
    if (ElementBytes(dtype) == 0) {
      return BadInput(source + ": " + where + " (" + name.substr(0, 80) + ") has unknown dtype " + std::to_string(dtype));
    }
    // Four u32 dims can multiply past 2^64: the size is computed in long double (exact below 2^64)
    // and compared with n_bytes (a u32) before any integer use.
    long double need = ElementBytes(dtype);
    for (int64_t d : v.shape) need *= static_cast<long double>(d);
    if (need != static_cast<long double>(n_bytes)) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%.0Lf", need);
      return BadInput(source + ": " + where + " (" + name.substr(0, 80) + ") holds " + std::to_string(n_bytes) +
                      " bytes but its shape and " + DTypeName(dtype) + " need " + buf);
    }
    v.data = r.Take(n_bytes);
    v.bytes = n_bytes;
    if (v.data == nullptr) {
      return BadInput(source + ": " + where + " (" + name.substr(0, 80) + "): " + std::to_string(n_bytes) +
                      " bytes run past the end of the file");
    }
    if (!vars.emplace(name, v).second) return BadInput(source + ": variable " + name.substr(0, 80) + " appears twice");
  }
  uint32_t n_aliases = 0;
  if (!r.U32(&n_aliases) || n_aliases > kMaxVariables) return BadInput(source + ": truncated or absurd alias table");
  for (uint32_t i = 0; i < n_aliases; ++i) {
    std::string alias, target;
    if (!r.String(&alias) || !r.String(&target)) return BadInput(source + ": truncated alias " + std::to_string(i));
    // The only alias Whisper has: the output projection is the token embedding (tied).
    if (alias == "decoder/projection/weight" && target != "decoder/embeddings/weight") {
      return Unsupported(source + ": decoder/projection/weight is " + target.substr(0, 80) +
                         ", not the token embedding (untied output projections are not Whisper)");
    }
  }
  if (vars.count("decoder/projection/weight") != 0) {
    return Unsupported(source + ": decoder/projection/weight is stored apart from the token embedding "
                       "(untied output projections are not Whisper)");
  }

  TensorTable table;
  HParams& hp = table.hparams;
  auto shape_of = [&](const std::string& n) -> const std::vector<int64_t>* {
    auto it = vars.find(n);
    return it == vars.end() ? nullptr : &it->second.shape;
  };
  const auto* conv1 = shape_of("encoder/conv1/weight");
  const auto* enc_pos = shape_of("encoder/position_encodings/encodings");
  const auto* dec_pos = shape_of("decoder/position_encodings/encodings");
  const auto* emb = shape_of("decoder/embeddings/weight");
  if (!conv1 || conv1->size() != 3 || !enc_pos || enc_pos->size() != 2 || !dec_pos || dec_pos->size() != 2 || !emb ||
      emb->size() != 2) {
    return BadInput(source + ": not a Whisper model: conv1, position encodings or embeddings missing or misshapen");
  }
  hp.n_audio_state = static_cast<int32_t>((*conv1)[0]);
  hp.n_mels = static_cast<int32_t>((*conv1)[1]);
  hp.n_audio_ctx = static_cast<int32_t>((*enc_pos)[0]);
  hp.n_text_ctx = static_cast<int32_t>((*dec_pos)[0]);
  hp.n_vocab = static_cast<int32_t>((*emb)[0]);
  hp.n_text_state = static_cast<int32_t>((*emb)[1]);
  hp.n_audio_layer = CountLayers(vars, "encoder/layer_");
  hp.n_text_layer = CountLayers(vars, "decoder/layer_");
  Result<int32_t> enc_heads = ScalarInt(vars, "encoder/num_heads", source);
  if (!enc_heads.ok()) return enc_heads.status();
  Result<int32_t> dec_heads = ScalarInt(vars, "decoder/num_heads", source);
  if (!dec_heads.ok()) return dec_heads.status();
  hp.n_audio_head = *enc_heads;
  hp.n_text_head = *dec_heads;
  const int emb_dtype = vars["decoder/embeddings/weight"].dtype;
  hp.ftype = emb_dtype == 4 ? 1 : 0;  // informational (ggml's numbering): f16 or not

  Mapper m(vars, source, &table);
  const int64_t d = hp.n_audio_state, t = hp.n_text_state;
  WISP_RETURN_IF_ERROR(m.Plain("encoder/position_encodings/encodings", "encoder.positional_embedding"));
  WISP_RETURN_IF_ERROR(m.Plain("encoder/conv1/weight", "encoder.conv1.weight"));
  WISP_RETURN_IF_ERROR(m.Plain("encoder/conv1/bias", "encoder.conv1.bias"));
  WISP_RETURN_IF_ERROR(m.Plain("encoder/conv2/weight", "encoder.conv2.weight"));
  WISP_RETURN_IF_ERROR(m.Plain("encoder/conv2/bias", "encoder.conv2.bias"));
  for (int i = 0; i < hp.n_audio_layer; ++i) {
    const std::string c = "encoder/layer_" + std::to_string(i), w = "encoder.blocks." + std::to_string(i);
    WISP_RETURN_IF_ERROR(MapAttention(m, c + "/self_attention", w + ".attn", d, false));
    WISP_RETURN_IF_ERROR(MapLayerNorm(m, c + "/self_attention/layer_norm", w + ".attn_ln"));
    WISP_RETURN_IF_ERROR(MapFfn(m, c + "/ffn", w));
  }
  WISP_RETURN_IF_ERROR(MapLayerNorm(m, "encoder/layer_norm", "encoder.ln_post"));
  WISP_RETURN_IF_ERROR(m.Plain("decoder/position_encodings/encodings", "decoder.positional_embedding"));
  WISP_RETURN_IF_ERROR(m.Plain("decoder/embeddings/weight", "decoder.token_embedding.weight"));
  for (int i = 0; i < hp.n_text_layer; ++i) {
    const std::string c = "decoder/layer_" + std::to_string(i), w = "decoder.blocks." + std::to_string(i);
    WISP_RETURN_IF_ERROR(MapAttention(m, c + "/self_attention", w + ".attn", t, false));
    WISP_RETURN_IF_ERROR(MapLayerNorm(m, c + "/self_attention/layer_norm", w + ".attn_ln"));
    WISP_RETURN_IF_ERROR(MapAttention(m, c + "/attention", w + ".cross_attn", t, true));
    WISP_RETURN_IF_ERROR(MapLayerNorm(m, c + "/attention/layer_norm", w + ".cross_attn_ln"));
    WISP_RETURN_IF_ERROR(MapFfn(m, c + "/ffn", w));
  }
  WISP_RETURN_IF_ERROR(MapLayerNorm(m, "decoder/layer_norm", "decoder.ln"));
  // Scalars are the spec's settings (activation, pre_norm, ...): Whisper's are fixed. A tensor
  // left over is a layer this architecture does not have.
  for (const auto& [name, v] : vars) {
    if (v.shape.empty() || m.Used(name)) continue;
    return BadInput(source + ": variable " + name.substr(0, 80) + " is not part of a Whisper model with " +
                    std::to_string(hp.n_audio_layer) + "+" + std::to_string(hp.n_text_layer) + " layers");
  }
  table.metadata.format = "ctranslate2";
  return table;
}

Status ParseCTranslate2Config(const std::string& text, const std::string& source, const HParams& hp,
                              ModelMetadata* meta) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return BadInput(source + ": not a JSON object");
  auto int_list = [&](const char* key, std::vector<int>* out) -> Status {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return Status::Ok();
    if (!it->is_array() || it->size() > 100000) return BadInput(source + ": " + key + " is not a list of token ids");
    for (const auto& v : *it) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= hp.n_vocab) {
        return BadInput(source + ": " + key + " holds " + v.dump().substr(0, 40) + ", not a token id below " +
                        std::to_string(hp.n_vocab));
      }
      out->push_back(v.get<int>());
    }
    return Status::Ok();
  };
  WISP_RETURN_IF_ERROR(int_list("suppress_ids", &meta->suppress_tokens));
  WISP_RETURN_IF_ERROR(int_list("suppress_ids_begin", &meta->suppress_tokens_begin));
  auto heads = j.find("alignment_heads");
  if (heads != j.end() && !heads->is_null()) {
    if (!heads->is_array() || heads->size() > 4096) return BadInput(source + ": alignment_heads is not a list of pairs");
    for (const auto& p : *heads) {
      if (!p.is_array() || p.size() != 2 || !p[0].is_number_integer() || !p[1].is_number_integer() ||
          p[0].get<int64_t>() < 0 || p[0].get<int64_t>() >= hp.n_text_layer || p[1].get<int64_t>() < 0 ||
          p[1].get<int64_t>() >= hp.n_text_head) {
        return BadInput(source + ": alignment head " + p.dump().substr(0, 40) + " is not a [layer, head] of a " +
                        std::to_string(hp.n_text_layer) + "-layer, " + std::to_string(hp.n_text_head) +
                        "-head decoder");
      }
      meta->alignment_heads.emplace_back(p[0].get<int>(), p[1].get<int>());
    }
  }
  return Status::Ok();
}

bool LooksLikeCTranslate2Dir(const std::string& dir) {
  std::ifstream f(dir + "/model.bin", std::ios::binary);
  uint8_t head[6] = {};
  if (!f.read(reinterpret_cast<char*>(head), sizeof(head))) return false;
  uint32_t version;
  std::memcpy(&version, head, 4);
  return version >= 1 && version <= 16;  // CTranslate2's binary versions are small; ggml's magic is not
}

Result<TensorTable> ReadCTranslate2Dir(const std::string& dir) {
  const std::string bin = dir + "/model.bin";
  auto file = MappedFile::Open(bin);
  if (!file.ok()) return file.status();
  Result<TensorTable> table = ParseCTranslate2ModelBin((*file)->data(), (*file)->size(), bin);
  if (!table.ok()) return table.status();
  table->keep_alive.push_back(std::shared_ptr<MappedFile>(std::move(file.value())));

  std::string text;
  const std::string config = dir + "/config.json";
  if (IsFile(config)) {
    if (!ReadFile(config, &text)) return IoError(config + ": cannot read");
    WISP_RETURN_IF_ERROR(ParseCTranslate2Config(text, config, table->hparams, &table->metadata));
  }
  // The vocabulary: vocabulary.txt (one token a line), vocabulary.json (a list), or tokenizer.json.
  std::vector<std::string> vocab;
  std::string vocab_source;
  if (IsFile(dir + "/vocabulary.txt")) {
    vocab_source = dir + "/vocabulary.txt";
    if (!ReadFile(vocab_source, &text)) return IoError(vocab_source + ": cannot read");
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      vocab.push_back(std::move(line));
    }
  } else if (IsFile(dir + "/vocabulary.json")) {
    vocab_source = dir + "/vocabulary.json";
    if (!ReadFile(vocab_source, &text)) return IoError(vocab_source + ": cannot read");
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array()) return BadInput(vocab_source + ": not a JSON list of tokens");
    for (const auto& v : j) {
      if (!v.is_string()) return BadInput(vocab_source + ": entry " + std::to_string(vocab.size()) + " is not a string");
      vocab.push_back(v.get<std::string>());
    }
  } else if (IsFile(dir + "/tokenizer.json")) {
    // The same tokenizer.json a Hugging Face checkpoint has: one reader for both.
    WISP_RETURN_IF_ERROR(ReadHuggingFaceTokenizer(dir, table->metadata));
    return table;
  } else {
    return NotFound(dir + ": no vocabulary.txt, vocabulary.json or tokenizer.json next to model.bin");
  }
  if (static_cast<int64_t>(vocab.size()) != table->hparams.n_vocab) {
    return BadInput(vocab_source + ": " + std::to_string(vocab.size()) + " tokens, but the model's embedding has " +
                    std::to_string(table->hparams.n_vocab) + " rows");
  }
  Result<std::vector<std::string>> ordinary = OrdinaryTokensFromVocab(vocab, vocab_source);
  if (!ordinary.ok()) return ordinary.status();
  table->metadata.ordinary_tokens = std::move(*ordinary);
  return table;
}

}  // namespace wisp
