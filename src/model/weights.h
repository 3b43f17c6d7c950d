// Whisper's architecture as data: hyper-parameters and the immutable weights of one model.
// Weights are shared by every transcription stream; per-stream state lives in model/state.h.
// Tensors are f32, row-major, with PyTorch's shapes (ggml stores ne[] reversed). f32 tensors
// point straight into the mapped model file; other types are converted once at load into
// `owned` storage (native low-precision execution is the fast backend's job).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/compute_type.h"
#include "ops/ops.h"
#include "util/huge_page_allocator.h"
#include "util/mapped_file.h"

namespace wisp {

struct HParams {
  int32_t n_vocab = 0;
  int32_t n_audio_ctx = 0;    // 1500 encoder positions
  int32_t n_audio_state = 0;  // width of the encoder
  int32_t n_audio_head = 0;
  int32_t n_audio_layer = 0;
  int32_t n_text_ctx = 0;     // 448 decoder positions
  int32_t n_text_state = 0;
  int32_t n_text_head = 0;
  int32_t n_text_layer = 0;
  int32_t n_mels = 0;         // 80, or 128 for large-v3
  int32_t ftype = 0;          // ggml file type of the 2-D weights (0 f32, 1 f16, 2 q4_0, ...)
  bool multilingual() const { return n_vocab >= 51865; }
};

// An f32 view of a weight tensor. ndim <= 3; shape[i] for i >= ndim is 1.
struct Tensor {
  const float* data = nullptr;
  // For 2-D weights used as a matrix product's right-hand side (Linear layers, conv kernels,
  // the token embedding's vocabulary projection): the same values in the fast backend's panel
  // layout, made once at load (see model/weight_packing.h). Null: the fast path packs nothing
  // and reads `data` (slower).
  const float* packed = nullptr;     // f32 panels, or
  const uint16_t* packed_f16 = nullptr;  // f16 panels: weights stored as f16 stay f16 (half the bytes)
  const uint8_t* packed_q8_0 = nullptr;  // q8_0 panels: weights stored as q8_0 stay 8-bit
  const uint8_t* packed_q8_0_int = nullptr;  // or q8_0 integer-product panels (int8 activations)
  const uint8_t* packed_q8_min_int = nullptr;  // or q4_1 / q5_1 ones (w = q * d + m)
  const uint16_t* packed_bf16 = nullptr;  // or bf16 panels of any stored type (compute type bf16)
  bool stored_as_f16 = false;        // the file holds this tensor in f16
  // The file's q8_0 blocks (in the mapping; null when not q8_0 or not file-backed).
  const uint8_t* q8_0_blocks = nullptr;
  // The file's f16 values (bytes in the mapping, any alignment), while loading only: packed
  // without an f32 copy.
  const uint8_t* f16_data = nullptr;
  // q4_1 / q5_1 tensors as 40-byte blocks (f32 d, f32 m, int8 q), while loading only.
  const uint8_t* q8_min_blocks = nullptr;
  int ndim = 0;
  std::array<int64_t, 3> shape{1, 1, 1};
  int64_t numel() const { return shape[0] * shape[1] * shape[2]; }
  int64_t rows() const { return shape[0]; }
  int64_t cols() const { return ndim >= 2 ? shape[1] : shape[0]; }
};

struct Linear {  // y = x W^T + b, W is (out, in)
  Tensor w;
  Tensor b;  // b.data == nullptr when the layer has no bias (attention key projections)
};

struct LayerNormWeights {
  Tensor gamma;
  Tensor beta;
};

struct AttentionWeights {
  Linear query, key, value, out;
};

struct EncoderBlockWeights {
  LayerNormWeights attn_ln;
  AttentionWeights attn;
  LayerNormWeights mlp_ln;
  Linear mlp_up;    // mlp.0: (4d, d)
  Linear mlp_down;  // mlp.2: (d, 4d)
};

struct DecoderBlockWeights {
  LayerNormWeights attn_ln;
  AttentionWeights attn;
  LayerNormWeights cross_attn_ln;
  AttentionWeights cross_attn;
  LayerNormWeights mlp_ln;
  Linear mlp_up;
  Linear mlp_down;
};

struct ModelWeights {
  HParams hparams;

  // Encoder
  Tensor conv1_w;  // (n_audio_state, n_mels, 3)
  Tensor conv1_b;  // (n_audio_state)
  Tensor conv2_w;  // (n_audio_state, n_audio_state, 3)
  Tensor conv2_b;  // (n_audio_state)
  Tensor encoder_positional;  // (n_audio_ctx, n_audio_state), taken from the file, never recomputed
  std::vector<EncoderBlockWeights> encoder_blocks;
  LayerNormWeights encoder_ln_post;

  // Decoder
  Tensor token_embedding;     // (n_vocab, n_text_state); also the output projection (logits = x E^T)
  Tensor decoder_positional;  // (n_text_ctx, n_text_state)
  std::vector<DecoderBlockWeights> decoder_blocks;
  LayerNormWeights decoder_ln;

  // False when the matrices (Tensor::packed*) exist only as fast-backend panels, to keep one
  // copy of the weights in memory: their `data` is null and the reference backend cannot run.
  bool f32_matrices = true;
  // q8_0 matrices run as integer products with int8-quantized activations where the CPU has
  // VNNI (whisper.cpp's numerics, ~3x faster encoder GEMMs), else on the exact widening path.
  bool q8_0_int8_activations = true;
  // The compute type the binder resolved (kF32, kBf16 or kInt8, never kAuto): kBf16 packs every
  // matrix into bf16 panels and runs attention's products in bf16; kInt8 means integer products
  // for the quantized matrices.
  ComputeType compute = ComputeType::kF32;
  // Under compute int8: the decoder's cross-attention K/V packed and multiplied in bf16 (where the
  // CPU has bf16 products and the stored type's drift allows it: bind_weights.cc kAutoCompute).
  bool cross_kv_bf16 = false;

  // The vocabulary projection screened in int8 (ops.h ProjectionScreen) under compute bf16, where
  // the CPU has integer products. Empty otherwise.
  ProjectionScreen vocab_screen;

  // Storage behind the views above: the reader's mappings and buffers (TensorTable::keep_alive).
  std::vector<std::shared_ptr<void>> keep_alive;
  std::vector<PanelVector<float>> owned;
  std::vector<PanelVector<uint16_t>> owned_f16;  // f16 GEMM panels
  std::vector<PanelVector<uint8_t>> owned_q8_0;  // q8_0 GEMM panels
  std::vector<PanelVector<uint16_t>> owned_bf16;  // bf16 GEMM panels
};

}  // namespace wisp
