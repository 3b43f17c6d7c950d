// Binding is two passes, like every reader's parsing: the first checks every tensor of the table
// against the architecture (name, shape, dtype, byte extent) without touching tensor data; only a
// table that passes completely gets the second, which points, converts and packs.
#include "model/bind_weights.h"

#include <cstring>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "model/ggml_types.h"
#include "model/weight_packing.h"
#include "ops/ops.h"
#include "util/mapped_file.h"

namespace wisp {
namespace {

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}

// Calls add(spec, destination) for every tensor of the architecture in state_dict order.
// `w` may be null when only the specs are wanted; otherwise its block vectors must already have
// n_audio_layer / n_text_layer entries.
void ForEachWhisperTensor(const HParams& hp, ModelWeights* w,
                          const std::function<void(WhisperTensorSpec, Tensor*)>& add) {
  const int64_t d = hp.n_audio_state, t = hp.n_text_state;
  auto tensor = [&](const std::string& name, std::vector<int64_t> shape, Tensor* to) {
    add(WhisperTensorSpec{name, std::move(shape)}, w ? to : nullptr);
  };
  auto linear = [&](const std::string& name, int64_t in, int64_t out, Linear* l, bool bias) {
    tensor(name + ".weight", {out, in}, l ? &l->w : nullptr);
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
  tensor("encoder.positional_embedding", {hp.n_audio_ctx, d}, w ? &w->encoder_positional : nullptr);
  tensor("encoder.conv1.weight", {d, hp.n_mels, 3}, w ? &w->conv1_w : nullptr);
  tensor("encoder.conv1.bias", {d}, w ? &w->conv1_b : nullptr);
  tensor("encoder.conv2.weight", {d, d, 3}, w ? &w->conv2_w : nullptr);
  tensor("encoder.conv2.bias", {d}, w ? &w->conv2_b : nullptr);
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

  tensor("decoder.positional_embedding", {hp.n_text_ctx, t}, w ? &w->decoder_positional : nullptr);
  tensor("decoder.token_embedding.weight", {hp.n_vocab, t}, w ? &w->token_embedding : nullptr);
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

// First pass for one tensor: dtype, shape and bytes agree with the spec.
Status CheckTensor(const SourceTensor& t, const WhisperTensorSpec& spec) {
  const std::string name = "tensor '" + spec.name + "'";
  if (t.shape != spec.shape) {
    return BadInput(name + " has shape " + ShapeString(t.shape) + " but the model's dimensions require " +
                    ShapeString(spec.shape));
  }
  const int64_t n = t.numel();
  int64_t need = 0;
  if (t.dtype == TensorDType::kGgml) {
    if (!IsSupportedGgmlType(static_cast<int32_t>(t.ggml_type))) {
      return Unsupported(name + " has unsupported ggml type " + std::to_string(static_cast<int>(t.ggml_type)));
    }
    if (n % GgmlBlockElements(t.ggml_type) != 0 || spec.shape.back() % GgmlBlockElements(t.ggml_type) != 0) {
      return BadInput(name + " is " + GgmlTypeName(static_cast<int32_t>(t.ggml_type)) +
                      " but its rows are not whole blocks of 32");
    }
    need = GgmlTensorBytes(t.ggml_type, n);
  } else {
    need = TensorDTypeBytes(t.dtype, n);
  }
  if (t.data == nullptr || t.bytes != static_cast<size_t>(need)) {
    return BadInput(name + " holds " + std::to_string(t.bytes) + " bytes but " + ShapeString(t.shape) + " in " +
                    TensorDTypeName(t.dtype) + " takes " + std::to_string(need));
  }
  if (t.dtype == TensorDType::kI8Rows) {
    if (t.scales == nullptr || (t.scale_dtype != TensorDType::kF32 && t.scale_dtype != TensorDType::kF16 &&
                                t.scale_dtype != TensorDType::kBF16)) {
      return BadInput(name + " is int8 without per-row f32/f16/bf16 scales");
    }
  }
  return Status::Ok();
}

// CTranslate2's int8 rows as 40-byte "blocks with mins" (f32 d, f32 m = 0, 32 int8 q), the form the
// integer-product panels take: d = 1 / scale[row] for every block of the row.
std::vector<uint8_t> RowsAsMinBlocks(const SourceTensor& t) {
  const int64_t rows = t.shape[0], cols = t.numel() / rows;
  std::vector<uint8_t> blocks(static_cast<size_t>(t.numel() / 32 * 40));
  std::vector<float> scale(static_cast<size_t>(rows));
  SourceTensor scales = t;  // reuse the scalar conversion for the scale vector
  scales.dtype = t.scale_dtype;
  scales.data = t.scales;
  scales.shape = {rows};
  SourceTensorToF32(scales, scale.data());
  uint8_t* out = blocks.data();
  for (int64_t r = 0; r < rows; ++r) {
    const float d = 1.0f / scale[static_cast<size_t>(r)], m = 0.0f;
    for (int64_t b = 0; b < cols / 32; ++b, out += 40) {
      std::memcpy(out, &d, 4);
      std::memcpy(out + 4, &m, 4);
      std::memcpy(out + 8, t.data + r * cols + b * 32, 32);
    }
  }
  return blocks;
}

// What `auto` runs a matrix of each stored type in: the fastest compute type whose drift on the 30
// real-speech files stays within the budget (docs/PERFORMANCE.md "Compute auto"; real_weights_test's
// ComputeBudget checks it on every CI run), and whether its int8 products may take the decoder's
// cross-attention K/V in bf16 (half the bytes a decoding step reads of them; q8_0's 1-thread
// transcription of long.wav 1.86 -> 1.59 s) within that budget. Pooled WER in points against the
// same storage at f32.
struct AutoCompute {
  TensorDType dtype;
  GgmlType ggml_type;  // with kGgml only
  ComputeType compute;
  bool int8_cross_kv_bf16;
};
constexpr AutoCompute kAutoCompute[] = {
    {TensorDType::kF32, GgmlType::kF32, ComputeType::kBf16, false},  // as f16
    {TensorDType::kF16, GgmlType::kF32, ComputeType::kBf16, false},  // bf16: 28/30 token-identical, -3.34
    {TensorDType::kBF16, GgmlType::kF32, ComputeType::kBf16, false},
    {TensorDType::kGgml, GgmlType::kF32, ComputeType::kBf16, false},
    {TensorDType::kGgml, GgmlType::kF16, ComputeType::kBf16, false},
    // int8 with bf16 cross K/V: 18/30 identical to the f32 model (its f32: 20), -0.30 (f32 K/V: -3.55)
    {TensorDType::kGgml, GgmlType::kQ8_0, ComputeType::kInt8, true},
    {TensorDType::kI8Rows, GgmlType::kF32, ComputeType::kInt8, true},  // CTranslate2 int8: 14/30 (14), -3.75 (-4.86)
    {TensorDType::kGgml, GgmlType::kQ4_1, ComputeType::kInt8, true},  // 1/30 (1), -2.53 (-0.30)
    {TensorDType::kGgml, GgmlType::kQ5_1, ComputeType::kInt8, false},  // +0.20; with bf16 K/V +0.81: outside
    {TensorDType::kGgml, GgmlType::kQ5_0, ComputeType::kF32, false},   // int8 +0.41, bf16 +1.01: outside
    {TensorDType::kGgml, GgmlType::kQ4_0, ComputeType::kF32, false},   // int8 +6.28, bf16 +27.96: outside
};

const AutoCompute* AutoComputeRow(const SourceTensor& t) {
  for (const AutoCompute& a : kAutoCompute) {
    if (a.dtype == t.dtype && (t.dtype != TensorDType::kGgml || a.ggml_type == t.ggml_type)) return &a;
  }
  return nullptr;
}

// The compute type the matrices run in, from the request, what kAutoCompute's rows of the stored
// matrices say together and the CPU. Under auto, one matrix outside every budget (or of a type not
// measured) makes the model exact (`exact`); matrices of quantized types (`quantized`) make it
// int8, their float neighbours, such as whisper.cpp's f16 conv kernels, going along; float
// matrices alone make it bf16.
Result<ComputeType> ResolveCompute(const LoadOptions& options, bool quantized, bool exact, std::string* note) {
  const bool vnni = Q8IntegerProductsAvailable();
  switch (options.compute) {
    case ComputeType::kAuto:
      // Where the CPU lacks the instructions: exact f32.
      if (exact) return ComputeType::kF32;
      if (quantized) return options.q8_0_int8_activations && vnni ? ComputeType::kInt8 : ComputeType::kF32;
      return Bf16ProductsAvailable() ? ComputeType::kBf16 : ComputeType::kF32;
    case ComputeType::kF32:
      return ComputeType::kF32;
    case ComputeType::kBf16:
      if (Bf16ProductsAvailable()) return ComputeType::kBf16;
      *note = "compute bf16 needs AVX512_BF16 (x86) or BF16 (Arm), which this CPU lacks: running f32 (exact)";
      return ComputeType::kF32;
    case ComputeType::kInt8:
      // A float model's matrices are quantized to q8_0 blocks at load (BindWeights), so any
      // stored type runs the integer path.
      if (vnni) return ComputeType::kInt8;
      *note = quantized ? "compute int8 needs AVX-512 VNNI (x86) or dotprod (Arm), which this CPU lacks: running the "
                          "exact f32 widening kernels"
                        : "compute int8 needs AVX-512 VNNI (x86) or dotprod (Arm), which this CPU lacks: running f32 "
                          "(exact)";
      return ComputeType::kF32;
  }
  return ComputeType::kF32;
}

}  // namespace

std::vector<WhisperTensorSpec> WhisperTensorSpecsFor(const HParams& hparams) {
  std::vector<WhisperTensorSpec> specs;
  ForEachWhisperTensor(hparams, nullptr, [&](WhisperTensorSpec s, Tensor*) { specs.push_back(std::move(s)); });
  return specs;
}

const Tensor* WhisperTensorByName(const ModelWeights& weights, const std::string& name) {
  if (static_cast<int>(weights.encoder_blocks.size()) != weights.hparams.n_audio_layer ||
      static_cast<int>(weights.decoder_blocks.size()) != weights.hparams.n_text_layer) {
    return nullptr;
  }
  const Tensor* found = nullptr;
  // ForEachWhisperTensor only takes addresses; it never writes through them.
  ForEachWhisperTensor(weights.hparams, const_cast<ModelWeights*>(&weights), [&](WhisperTensorSpec spec, Tensor* t) {
    if (spec.name == name) found = t;
  });
  return found;
}

Status ValidateArchitecture(const HParams& hp, const std::function<std::string(int)>& location) {
  auto field = [&](const char* name, int index, int32_t v, const std::string& expected) {
    return BadInput("hparam " + std::string(name) + " = " + std::to_string(v) + (location ? location(index) : "") +
                    " is invalid: expected " + expected);
  };
  if (hp.n_vocab < 51864 || hp.n_vocab > 51866) return field("n_vocab", 0, hp.n_vocab, "51864..51866");
  if (hp.n_audio_ctx != 1500) return field("n_audio_ctx", 1, hp.n_audio_ctx, "1500");
  if (hp.n_audio_state < 1 || hp.n_audio_state > 8192) return field("n_audio_state", 2, hp.n_audio_state, "1..8192");
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
    return field("n_text_head", 7, hp.n_text_head, "1..256 dividing n_text_state = " + std::to_string(hp.n_text_state));
  }
  if (hp.n_text_layer < 1 || hp.n_text_layer > 64) return field("n_text_layer", 8, hp.n_text_layer, "1..64");
  if (hp.n_mels != 80 && hp.n_mels != 128) return field("n_mels", 9, hp.n_mels, "80 or 128");
  return Status::Ok();
}

Result<std::unique_ptr<LoadedModel>> BindTensorTable(TensorTable table, const LoadOptions& options) {
  WISP_RETURN_IF_ERROR(ValidateArchitecture(table.hparams));
  auto model = std::make_unique<LoadedModel>();
  ModelWeights& w = model->weights;
  w.hparams = table.hparams;
  w.encoder_blocks.resize(table.hparams.n_audio_layer);
  w.decoder_blocks.resize(table.hparams.n_text_layer);

  // First pass: every spec has exactly one tensor of the right shape, dtype and size.
  std::unordered_map<std::string, size_t> by_name;
  for (size_t i = 0; i < table.tensors.size(); ++i) {
    if (!by_name.emplace(table.tensors[i].name, i).second) {
      return BadInput("tensor '" + table.tensors[i].name + "' appears twice");
    }
  }
  std::vector<std::pair<const SourceTensor*, Tensor*>> binds;
  std::string first_missing;
  size_t missing = 0;
  Status bad = Status::Ok();
  ForEachWhisperTensor(table.hparams, &w, [&](WhisperTensorSpec spec, Tensor* to) {
    auto it = by_name.find(spec.name);
    if (it == by_name.end()) {
      if (missing++ == 0) first_missing = spec.name;
      return;
    }
    const SourceTensor& t = table.tensors[it->second];
    if (bad.ok()) bad = CheckTensor(t, spec);
    binds.emplace_back(&t, to);
    by_name.erase(it);
  });
  if (missing > 0) {
    return BadInput("missing tensor " + first_missing +
                    (missing > 1 ? " (and " + std::to_string(missing - 1) + " more)" : std::string()));
  }
  WISP_RETURN_IF_ERROR(bad);
  if (!by_name.empty()) {
    return BadInput("unexpected tensor '" + by_name.begin()->first + "': not part of a Whisper model with " +
                    std::to_string(table.hparams.n_audio_layer) + "+" + std::to_string(table.hparams.n_text_layer) +
                    " layers");
  }

  // Second pass: bind, convert and pack.
  std::unordered_set<const Tensor*> matrices;
  ForEachMatrix(&w, [&](Tensor* t) { matrices.insert(t); });
  bool quantized = false, exact = false, cross_kv_bf16_allowed = true;
  for (const auto& [src, t] : binds) {
    if (matrices.count(t) == 0) continue;
    const AutoCompute* row = AutoComputeRow(*src);
    const ComputeType wanted = row != nullptr ? row->compute : ComputeType::kF32;  // not measured: exact
    quantized = quantized || wanted != ComputeType::kBf16;
    exact = exact || wanted == ComputeType::kF32;
    cross_kv_bf16_allowed = cross_kv_bf16_allowed && row != nullptr &&
                            (row->compute == ComputeType::kBf16 || row->int8_cross_kv_bf16);
  }
  Result<ComputeType> compute = ResolveCompute(options, quantized, exact, &model->compute_note);
  if (!compute.ok()) return compute.status();
  w.compute = *compute;
  w.q8_0_int8_activations = w.compute == ComputeType::kInt8;
  // A quantized model's rows decide (its float conv kernels allow anything); a float model under
  // --compute int8 was not measured with bf16 K/V and keeps f32.
  w.cross_kv_bf16 = w.compute == ComputeType::kInt8 && quantized && cross_kv_bf16_allowed && Bf16ProductsAvailable();
  // bf16 panels come from f32 or the file's halves: quantized blocks are dequantized, not packed.
  const bool bf16 = w.compute == ComputeType::kBf16;
  const bool borrow = table.data_outlives_load;
  // Packed-only matrices never get an f32 copy that outlives their packing.
  const bool packed_only = !options.keep_f32_matrices && borrow;
  const bool integer_products = w.compute == ComputeType::kInt8;
  w.f32_matrices = !packed_only;
  std::vector<std::vector<uint8_t>> repacked;  // blocks that live only until packed
  LoadStats& stats = model->stats;
  for (const auto& [src, t] : binds) {
    t->ndim = static_cast<int>(src->shape.size());
    t->shape = {1, 1, 1};
    for (size_t i = 0; i < src->shape.size(); ++i) t->shape[i] = src->shape[i];
    const int64_t n = src->numel();
    const bool ggml = src->dtype == TensorDType::kGgml;
    const bool matrix = matrices.count(t) != 0;
    const bool blocked_matrix = borrow && matrix && (n / t->shape[0]) % 32 == 0;
    t->stored_as_f16 = src->dtype == TensorDType::kF16 || (ggml && src->ggml_type == GgmlType::kF16);
    // q8_0 runs natively from its blocks; q4_0 / q5_0 are exactly q8_0 blocks with the same scale.
    if (ggml && src->ggml_type == GgmlType::kQ8_0 && borrow && !bf16) t->q8_0_blocks = src->data;
    const bool repack = ggml && CanRepackAsQ8_0(src->ggml_type) && blocked_matrix && !bf16;
    if (repack) {
      repacked.emplace_back(static_cast<size_t>(n / 32 * 34));
      RepackAsQ8_0(src->ggml_type, src->data, repacked.back().data(), n);
      t->q8_0_blocks = repacked.back().data();
    }
    // q4_1 / q5_1 (an offset per block) and CTranslate2's int8 rows run on the integer path with
    // mins where it is on; elsewhere they are dequantized to f32.
    const bool repack_mins =
        blocked_matrix && integer_products &&
        ((ggml && CanRepackWithMins(src->ggml_type)) || src->dtype == TensorDType::kI8Rows);
    if (repack_mins) {
      if (ggml) {
        repacked.emplace_back(static_cast<size_t>(n / 32 * 40));
        RepackWithMins(src->ggml_type, src->data, repacked.back().data(), n);
      } else {
        repacked.push_back(RowsAsMinBlocks(*src));
      }
      t->q8_min_blocks = repacked.back().data();
    }
    const bool f16 = src->dtype == TensorDType::kF16 || (ggml && src->ggml_type == GgmlType::kF16);
    if (f16 && borrow && matrix) t->f16_data = src->data;  // packed from the mapping
    const bool f32 = src->dtype == TensorDType::kF32 || (ggml && src->ggml_type == GgmlType::kF32);
    // Compute int8 on a float matrix: quantized once to q8_0 blocks with ggml's rounding (the
    // blocks `wisp convert --type q8_0` writes), which PackMatrix turns into integer panels; the
    // blocks are then dropped like repacked ones, so no second f32 copy outlives the load.
    const bool quantize =
        integer_products && blocked_matrix && (f16 || f32 || src->dtype == TensorDType::kBF16);
    if (quantize) {
      std::vector<float> values(static_cast<size_t>(n));
      SourceTensorToF32(*src, values.data());
      repacked.emplace_back(static_cast<size_t>(n / 32 * 34));
      QuantizeRow(GgmlType::kQ8_0, values.data(), repacked.back().data(), n);
      t->q8_0_blocks = repacked.back().data();
    }
    const bool aligned = reinterpret_cast<uintptr_t>(src->data) % alignof(float) == 0;
    if (packed_only && matrix) {
      PrefaultMappedRange(src->data, src->bytes);
      // Pack straight away, from the blocks, the halves, or f32 (in place or a temporary), then
      // drop the temporary and the file's pages: the panels are the only copy left.
      std::unique_ptr<float[]> tmp;
      if (t->q8_0_blocks == nullptr && t->q8_min_blocks == nullptr && t->f16_data == nullptr) {
        if (f32 && aligned) {
          t->data = reinterpret_cast<const float*>(src->data);
        } else {
          tmp.reset(new float[static_cast<size_t>(n)]);
          SourceTensorToF32(*src, tmp.get());
          t->data = tmp.get();
        }
      }
      PackMatrix(t, &w);
      t->data = nullptr;
      t->q8_0_blocks = nullptr;
      t->q8_min_blocks = nullptr;
      t->f16_data = nullptr;
      if (repack || repack_mins || quantize) repacked.pop_back();  // packed: the repacked blocks have served
      ReleaseMappedRange(src->data, src->bytes);
      ++stats.tensors_converted;
      stats.bytes_converted += static_cast<int64_t>(src->bytes);
      continue;
    }
    if (f32 && borrow && aligned) {
      t->data = reinterpret_cast<const float*>(src->data);
      ++stats.tensors_in_place;
      stats.bytes_in_place += n * 4;
      continue;
    }
    // Unaligned f32 is copied: reading a float through a misaligned pointer is undefined behaviour.
    w.owned.emplace_back(static_cast<size_t>(n));
    SourceTensorToF32(*src, w.owned.back().data());
    t->data = w.owned.back().data();
    stats.bytes_copied += n * 4;
    if (f32) {
      ++stats.tensors_copied;
    } else {
      ++stats.tensors_converted;
      stats.bytes_converted += static_cast<int64_t>(src->bytes);
    }
  }
  PackWeightsForFastBackend(&w);
  // Repacked blocks lived only for packing; q8_0 blocks may stay in the mapping.
  std::unordered_set<const uint8_t*> temporary;
  for (const std::vector<uint8_t>& r : repacked) temporary.insert(r.data());
  ForEachMatrix(&w, [&](Tensor* t) {
    if (temporary.count(t->q8_0_blocks) != 0) t->q8_0_blocks = nullptr;
    t->q8_min_blocks = nullptr;
    t->f16_data = nullptr;  // the mapping's pages may be released; only the panels are used
  });
  model->mel_filters = std::move(table.mel_filters);
  model->metadata = std::move(table.metadata);
  model->vocab = std::move(model->metadata.ggml_vocab);  // the ggml fallback vocab lives in one place
  w.keep_alive = std::move(table.keep_alive);
  return model;
}

}  // namespace wisp
