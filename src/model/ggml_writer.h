// Writes whisper.cpp-format ggml model files with deterministic random weights, so tests and
// benchmarks get complete, loadable models of every published shape and tensor type without
// committing hundreds of megabytes. Same seed, same bytes, on any machine: the PRNG is
// splitmix64, normals are Irwin-Hall sums (no libm), f16 rounding is integer code, and the
// writer and quantizers are compiled with -ffp-contract=off.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/ggml_loader.h"
#include "model/ggml_types.h"
#include "util/status.h"

namespace wisp {

struct RandomModelOptions {
  uint64_t seed = 0;
  GgmlType type = GgmlType::kF16;  // type of the big matrices; see StoredGgmlType
  int n_layers = 0;                // > 0: overrides n_audio_layer and n_text_layer
  // Shapes no header file in ../shared/data has (large-v3: 128 mels, 51866 tokens with <|yue|>),
  // made from one that exists: > 0 overrides n_vocab; a non-empty filterbank replaces the
  // header's (and sets n_mels to its row count).
  int n_vocab = 0;
  MelFilters mel_filters;
};

// The type a tensor is stored as in a file whose big matrices are `file_type`, following
// whisper.cpp's converter and quantizer: positional embeddings, conv biases and 1-D tensors stay
// f32; conv weights (3-D) are f16 unless the file is f32; 2-D matrices take the file type when
// ne[0] is a multiple of the quantization block, else f16.
GgmlType StoredGgmlType(const GgmlTensorSpec& spec, GgmlType file_type);

// The f32 values the writer draws for one tensor, in ggml element order (ne[0] fastest). Each
// tensor has its own stream seeded from (seed, name), so tests can recompute any one of them.
// Scales (chosen so a random-weight Whisper runs non-degenerately):
//   encoder.positional_embedding   Whisper's sinusoids(n_audio_ctx, n_audio_state), float64 -> f32
//   decoder.positional_embedding   0.5 N(0,1): large enough that the position moves the
//                                  decoder's state, so greedy decodes do not lock onto one token
//   decoder.token_embedding        (2 / sqrt(n_text_state)) N(0,1): logits x E^T of a layer-normed
//                                  x then spread with std ~2, so the argmax changes with x and
//                                  timestamp pairs split windows into segments (with 4, and 0.1
//                                  for the positions, every decode repeated one token)
//   LayerNorm gamma / beta         1 + 0.1 N(0,1) / 0.1 N(0,1)
//   decoder.ln.bias                0.1 N(0,1) + 1.25 E[eot] (eot = 50256 for .en, 50257 for
//                                  multilingual vocabularies; E[eot] the f32 row drawn for
//                                  decoder.token_embedding): logit_eot gains 1.25 |E[eot]|^2 ~ 5 at
//                                  every step, so most decodes stop at eot after 7-141 tokens
//                                  (without it eot, one of 51864 random rows, never won and every
//                                  decode ran to sample_len: tools/golden/README.md)
//   conv and linear weights        N(0,1) / sqrt(fan_in); the projections that write into the
//                                  residual stream (attn.out, cross_attn.out, mlp.2) are further
//                                  scaled by 1 / sqrt(sublayers * layers) so it stays O(1)
//   biases                         0.02 N(0,1)
// N(0,1) is the Irwin-Hall sum of 12 uniforms minus 6 (mean 0, variance 1, bounded by +-6).
std::vector<float> RandomTensorValues(const GgmlTensorSpec& spec, const HParams& hparams, uint64_t seed);

// Serializes magic, hparams (ftype written as quant_version * 1000 + hparams.ftype), filters and vocab.
void AppendGgmlHeader(const GgmlHeader& header, std::vector<uint8_t>* out);

// Serializes one tensor: header (n_dims, name length, type, ne[], name) and `values` encoded as `type`.
// `values` holds the product of ne[0..n_dims) elements, a multiple of the block size if quantized.
void AppendGgmlTensor(const std::string& name, int n_dims, const int64_t* ne, GgmlType type,
                      const float* values, std::vector<uint8_t>* out);

// `header` with ftype, quantization version and (optionally) layer counts set for `options`.
GgmlHeader RandomModelHeader(const GgmlHeader& header, const RandomModelOptions& options);

// A complete model in memory: RandomModelHeader(header) followed by every tensor of
// WhisperTensorSpecs in state_dict order.
Result<std::vector<uint8_t>> BuildRandomGgmlModel(const GgmlHeader& header, const RandomModelOptions& options);

// The same, streamed to out_path, with header, filters and vocab taken from header_path (any ggml
// whisper file, e.g. whisper.cpp's for-tests-ggml-tiny.en.bin).
Status WriteRandomGgmlModel(const std::string& header_path, const std::string& out_path,
                            const RandomModelOptions& options);

}  // namespace wisp
