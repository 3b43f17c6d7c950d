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
#include "model/weight_packing.h"

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

// Calls add(spec, destination) for every tensor of the architecture in state_dict order.
// `w` may be null when only the specs are wanted; otherwise its block vectors must already have
// n_audio_layer / n_text_layer entries.
void ForEachWhisperTensor(const HParams& hp, ModelWeights* w,
                          const std::function<void(GgmlTensorSpec, Tensor*)>& add) {
  const int64_t d = hp.n_audio_state, t = hp.n_text_state;
  auto dest = [&](Tensor* p) { return w ? p : nullptr; };
  auto tensor = [&](const std::string& name, std::initializer_list<int64_t> ne, Tensor* to) {
    GgmlTensorSpec spec;
    spec.name = name;
    spec.n_dims = static_cast<int>(ne.size());
    int i = 0;
    for (int64_t v : ne) spec.ne[i++] = v;
    add(std::move(spec), dest(to));
  };
  auto linear = [&](const std::string& name, int64_t in, int64_t out, Linear* l, bool bias) {
    tensor(name + ".weight", {in, out}, l ? &l->w : nullptr);
    if (bias) tensor(name + ".bias", {out}, l ? &l->b : nullptr);
  };
  auto attention = [&](const std::string& name, int64_t n, AttentionWeights* a) {
    linear(name + ".query", n, n, a ? &a->query : nullptr, true);
    linear(name + ".key", n, n, a ? &a->key : nullptr, false);  // Whisper's key has no bias
    linear(name + ".value", n, n, a ? &a->value : nullptr, true);
    linear(name + ".out", n, n, a ? &a->out : nullptr, true);
  };
  auto layer_norm = [&](const std::string& name, int64_t n, LayerNormWeights* ln) {
    tensor(name + ".weight", {n}, ln ? &ln->gamma : nullptr);
    tensor(name + ".bias", {n}, ln ? &ln->beta : nullptr);
  };
  // The caller sized w->encoder_blocks / decoder_blocks to the layer counts.
  tensor("encoder.positional_embedding", {d, hp.n_audio_ctx}, w ? &w->encoder_positional : nullptr);
  tensor("encoder.conv1.weight", {3, hp.n_mels, d}, w ? &w->conv1_w : nullptr);
  tensor("encoder.conv1.bias", {1, d}, w ? &w->conv1_b : nullptr);
  tensor("encoder.conv2.weight", {3, d, d}, w ? &w->conv2_w : nullptr);
  tensor("encoder.conv2.bias", {1, d}, w ? &w->conv2_b : nullptr);
  for (int i = 0; i < hp.n_audio_layer; ++i) {
    EncoderBlockWeights* b = w ? &w->encoder_blocks[i] : nullptr;
    const std::string p = "encoder.blocks." + std::to_string(i);
    attention(p + ".attn", d, b ? &b->attn : nullptr);
    layer_norm(p + ".attn_ln", d, b ? &b->attn_ln : nullptr);
    linear(p + ".mlp.0", d, 4 * d, b ? &b->mlp_up : nullptr, true);
    linear(p + ".mlp.2", 4 * d, d, b ? &b->mlp_down : nullptr, true);
    layer_norm(p + ".mlp_ln", d, b ? &b->mlp_ln : nullptr);
  }
  layer_norm("encoder.ln_post", d, w ? &w->encoder_ln_post : nullptr);

  tensor("decoder.positional_embedding", {t, hp.n_text_ctx}, w ? &w->decoder_positional : nullptr);
  tensor("decoder.token_embedding.weight", {t, hp.n_vocab}, w ? &w->token_embedding : nullptr);
  for (int i = 0; i < hp.n_text_layer; ++i) {
    DecoderBlockWeights* b = w ? &w->decoder_blocks[i] : nullptr;
    const std::string p = "decoder.blocks." + std::to_string(i);
    attention(p + ".attn", t, b ? &b->attn : nullptr);
    layer_norm(p + ".attn_ln", t, b ? &b->attn_ln : nullptr);
    attention(p + ".cross_attn", t, b ? &b->cross_attn : nullptr);
    layer_norm(p + ".cross_attn_ln", t, b ? &b->cross_attn_ln : nullptr);
    linear(p + ".mlp.0", t, 4 * t, b ? &b->mlp_up : nullptr, true);
    linear(p + ".mlp.2", 4 * t, t, b ? &b->mlp_down : nullptr, true);
    layer_norm(p + ".mlp_ln", t, b ? &b->mlp_ln : nullptr);
  }
  layer_norm("decoder.ln", t, w ? &w->decoder_ln : nullptr);
}

// A tensor header that passed validation, waiting for its data to be bound.
struct TensorRecord {
  size_t spec_index;
  GgmlType type;
  const uint8_t* data;
};

// repacked: q4_0 / q5_0 matrices as q8_0 blocks (exact), kept until the caller has packed them.
Status ParseTensors(const uint8_t* data, size_t size, const GgmlHeader& header, bool borrow_f32,
                    const LoadOptions& options, std::vector<std::vector<uint8_t>>* repacked, LoadedModel* model) {
  const bool keep_f32_matrices = options.keep_f32_matrices;
  model->weights.q8_0_int8_activations = options.q8_0_int8_activations;
  std::vector<GgmlTensorSpec> specs;
  std::vector<Tensor*> dests;
  model->weights.encoder_blocks.resize(header.hparams.n_audio_layer);
  model->weights.decoder_blocks.resize(header.hparams.n_text_layer);
  ForEachWhisperTensor(header.hparams, &model->weights, [&](GgmlTensorSpec spec, Tensor* to) {
    specs.push_back(std::move(spec));
    dests.push_back(to);
  });
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

  // Second pass: every header is valid and every extent inside the file.
  ModelWeights& w = model->weights;
  GgmlLoadStats& stats = model->stats;
  std::unordered_set<const Tensor*> matrices;
  ForEachMatrix(&w, [&](Tensor* t) { matrices.insert(t); });
  // Packed-only matrices never get an f32 copy that outlives their packing (borrow_f32: the
  // file stays mapped, which q8_0 packing and in-place views rely on).
  const bool packed_only = !keep_f32_matrices && borrow_f32;
  w.f32_matrices = !packed_only;
  for (const TensorRecord& rec : records) {
    const GgmlTensorSpec& spec = specs[rec.spec_index];
    Tensor* t = dests[rec.spec_index];
    const bool conv_bias = spec.name == "encoder.conv1.bias" || spec.name == "encoder.conv2.bias";
    // Conv biases are stored (n, 1) so ggml can broadcast them; expose them as (n).
    if (conv_bias) {
      t->ndim = 1;
      t->shape = {spec.ne[1], 1, 1};
    } else {
      t->ndim = spec.n_dims;
      t->shape = {1, 1, 1};
      for (int i = 0; i < spec.n_dims; ++i) t->shape[i] = spec.ne[spec.n_dims - 1 - i];
    }
    const int64_t n = spec.numel();
    t->stored_as_f16 = rec.type == GgmlType::kF16;
    // q8_0 weights run natively from their blocks (packed at load); the mapping keeps them alive.
    if (rec.type == GgmlType::kQ8_0 && borrow_f32) t->q8_0_blocks = rec.data;
    // q4_0 / q5_0 matrices are exactly q8_0 blocks with the same scale: they run on the q8_0
    // kernels (and never as an f32 copy when packed-only).
    const size_t bytes = GgmlTensorBytes(rec.type, n);
    if (packed_only && matrices.count(t) != 0) PrefaultMappedRange(rec.data, bytes);
    // Only matrices whose rows are whole blocks (PackMatrix's condition; the conv kernels are not).
    const bool blocked_matrix = borrow_f32 && matrices.count(t) != 0 && (n / t->shape[0]) % 32 == 0;
    const bool repack = CanRepackAsQ8_0(rec.type) && blocked_matrix;
    if (repack) {
      repacked->emplace_back(static_cast<size_t>(n / 32 * 34));
      RepackAsQ8_0(rec.type, rec.data, repacked->back().data(), n);
      t->q8_0_blocks = repacked->back().data();
    }
    // q4_1 / q5_1 (an offset per block) run on the integer path with mins where it is on;
    // elsewhere they stay dequantized to f32.
    const bool repack_mins = CanRepackWithMins(rec.type) && blocked_matrix && options.q8_0_int8_activations &&
                             Q8IntegerProductsAvailable();
    if (repack_mins) {
      repacked->emplace_back(static_cast<size_t>(n / 32 * 40));
      RepackWithMins(rec.type, rec.data, repacked->back().data(), n);
      t->q8_min_blocks = repacked->back().data();
    }
    const bool aligned = reinterpret_cast<uintptr_t>(rec.data) % alignof(float) == 0;
    if (rec.type == GgmlType::kF16 && borrow_f32 && matrices.count(t) != 0) {
      t->f16_data = rec.data;  // packed from the mapping
    }
    if (packed_only && matrices.count(t) != 0) {
      // Pack straight away, from the q8_0 blocks or a temporary f32 row set, then drop both the
      // temporary and the file's pages: the panels are the only copy left.
      // f32 is packed straight from the mapping; other types from an uninitialised temporary
      // (zero-filling it first would be a second pass over tens of MB).
      std::unique_ptr<float[]> tmp;
      if (t->q8_0_blocks == nullptr && t->q8_min_blocks == nullptr && t->f16_data == nullptr) {
        if (rec.type == GgmlType::kF32 && aligned) {
          t->data = reinterpret_cast<const float*>(rec.data);
        } else {
          tmp.reset(new float[static_cast<size_t>(n)]);
          DequantizeRow(rec.type, rec.data, tmp.get(), n);
          t->data = tmp.get();
        }
      }
      PackMatrix(t, &w);
      t->data = nullptr;
      t->q8_0_blocks = nullptr;
      t->q8_min_blocks = nullptr;
      t->f16_data = nullptr;
      if (repack || repack_mins) repacked->pop_back();  // packed: the repacked blocks have served
      ReleaseMappedRange(rec.data, bytes);
      ++stats.tensors_converted;
      stats.bytes_converted += bytes;
      continue;
    }
    if (rec.type == GgmlType::kF32 && borrow_f32 && aligned) {
      t->data = reinterpret_cast<const float*>(rec.data);
      ++stats.tensors_in_place;
      stats.bytes_in_place += n * 4;
      continue;
    }
    // Unaligned f32 is copied: reading a float through a misaligned pointer is undefined behaviour.
    w.owned.emplace_back(static_cast<size_t>(n));
    DequantizeRow(rec.type, rec.data, w.owned.back().data(), n);
    t->data = w.owned.back().data();
    stats.bytes_copied += n * 4;
    if (rec.type == GgmlType::kF32) {
      ++stats.tensors_copied;
    } else {
      ++stats.tensors_converted;
      stats.bytes_converted += bytes;
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<LoadedModel>> ParseModel(const uint8_t* data, size_t size, bool borrow_f32,
                                                const LoadOptions& options) {
  Result<GgmlHeader> header = ParseGgmlHeader(data, size);
  if (!header.ok()) return header.status();
  auto model = std::make_unique<LoadedModel>();
  model->weights.hparams = header->hparams;
  std::vector<std::vector<uint8_t>> repacked;
  WISP_RETURN_IF_ERROR(ParseTensors(data, size, *header, borrow_f32, options, &repacked, model.get()));
  model->mel_filters = std::move(header->mel_filters);
  model->vocab = std::move(header->vocab);
  PackWeightsForFastBackend(&model->weights);
  // Blocks repacked from q4_0 / q5_0 lived only for packing; q8_0 blocks stay in the mapping.
  std::unordered_set<const uint8_t*> temporary;
  for (const std::vector<uint8_t>& r : repacked) temporary.insert(r.data());
  ForEachMatrix(&model->weights, [&](Tensor* t) {
    if (temporary.count(t->q8_0_blocks) != 0) t->q8_0_blocks = nullptr;
    t->q8_min_blocks = nullptr;
    t->f16_data = nullptr;  // the mapping's pages may be released; only the panels are used
  });
  return model;
}

Status WithPath(const std::string& path, const Status& st) {
  return Status(st.kind(), "'" + path + "': " + st.message());
}

}  // namespace

std::vector<GgmlTensorSpec> WhisperTensorSpecs(const HParams& hparams) {
  std::vector<GgmlTensorSpec> specs;
  ForEachWhisperTensor(hparams, nullptr, [&](GgmlTensorSpec s, Tensor*) { specs.push_back(std::move(s)); });
  return specs;
}

const Tensor* WhisperTensorByName(const ModelWeights& weights, const std::string& name) {
  if (static_cast<int>(weights.encoder_blocks.size()) != weights.hparams.n_audio_layer ||
      static_cast<int>(weights.decoder_blocks.size()) != weights.hparams.n_text_layer) {
    return nullptr;
  }
  const Tensor* found = nullptr;
  // ForEachWhisperTensor only takes addresses; it never writes through them.
  ForEachWhisperTensor(weights.hparams, const_cast<ModelWeights*>(&weights), [&](GgmlTensorSpec spec, Tensor* t) {
    if (spec.name == name) found = t;
  });
  return found;
}

Status ValidateHParams(const HParams& hp) {
  auto field = [](const char* name, int index, int32_t v, const std::string& expected) {
    return BadInput("hparam " + std::string(name) + " = " + std::to_string(v) + " (header offset " +
                    std::to_string(4 + 4 * index) + ") is invalid: expected " + expected);
  };
  if (hp.n_vocab < 51864 || hp.n_vocab > 51866) return field("n_vocab", 0, hp.n_vocab, "51864..51866");
  if (hp.n_audio_ctx != 1500) return field("n_audio_ctx", 1, hp.n_audio_ctx, "1500");
  if (hp.n_audio_state < 1 || hp.n_audio_state > 8192) {
    return field("n_audio_state", 2, hp.n_audio_state, "1..8192");
  }
  if (hp.n_audio_head < 1 || hp.n_audio_head > 256 || hp.n_audio_state % hp.n_audio_head != 0) {
    return field("n_audio_head", 3, hp.n_audio_head,
                 "1..256 dividing n_audio_state = " + std::to_string(hp.n_audio_state));
  }
  if (hp.n_audio_layer < 1 || hp.n_audio_layer > 64) return field("n_audio_layer", 4, hp.n_audio_layer, "1..64");
  if (hp.n_text_ctx != 448) return field("n_text_ctx", 5, hp.n_text_ctx, "448");
  if (hp.n_text_state != hp.n_audio_state) {
    return field("n_text_state", 6, hp.n_text_state,
                 "n_audio_state = " + std::to_string(hp.n_audio_state) + " (cross-attention needs equal widths)");
  }
  if (hp.n_text_head < 1 || hp.n_text_head > 256 || hp.n_text_state % hp.n_text_head != 0) {
    return field("n_text_head", 7, hp.n_text_head,
                 "1..256 dividing n_text_state = " + std::to_string(hp.n_text_state));
  }
  if (hp.n_text_layer < 1 || hp.n_text_layer > 64) return field("n_text_layer", 8, hp.n_text_layer, "1..64");
  if (hp.n_mels != 80 && hp.n_mels != 128) return field("n_mels", 9, hp.n_mels, "80 or 128");
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

Result<std::unique_ptr<LoadedModel>> LoadGgmlModel(const std::string& path, const LoadOptions& options) {
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  auto model = ParseModel((*file)->data(), (*file)->size(), /*borrow_f32=*/true, options);
  if (!model.ok()) return WithPath(path, model.status());
  (*model)->weights.file = std::move(file.value());  // keeps the in-place f32 views alive
  return model;
}

Result<std::unique_ptr<LoadedModel>> LoadGgmlModelFromMemory(const uint8_t* data, size_t size) {
  return ParseModel(data, size, /*borrow_f32=*/false, LoadOptions{});
}

}  // namespace wisp
