#include "model/weight_packing.h"

#include "ops/ops.h"

namespace wisp {

// Weights keep the precision the file stores them in: q8_0 panels from q8_0 blocks, f16 panels
// for f16 (both exact against ggml's dequantized values; fewer bytes a decoding step streams),
// f32 panels otherwise. Compute type bf16 instead makes bf16 panels of every matrix, from the
// file's halves or from f32 (the binder dequantizes quantized ones to f32 first).
void PackMatrix(Tensor* t, ModelWeights* weights) {
  if (t->packed != nullptr || t->packed_f16 != nullptr || t->packed_q8_0 != nullptr ||
      t->packed_q8_0_int != nullptr || t->packed_q8_min_int != nullptr || t->packed_bf16 != nullptr) {
    return;
  }
  const int64_t rows = t->shape[0], cols = t->numel() / t->shape[0];
  if (t == &weights->token_embedding && weights->compute == ComputeType::kBf16 &&
      (t->f16_data != nullptr || t->data != nullptr)) {
    weights->vocab_screen = BuildProjectionScreen(t->f16_data != nullptr ? nullptr : t->data, t->f16_data, rows, cols);
  }
  if (weights->compute == ComputeType::kBf16 && (t->f16_data != nullptr || t->data != nullptr)) {
    weights->owned_bf16.push_back(t->f16_data != nullptr ? PackLinearWeightHalfBf16(t->f16_data, rows, cols)
                                                         : PackLinearWeightBf16(t->data, rows, cols));
    t->packed_bf16 = weights->owned_bf16.back().data();
  } else if (t->q8_0_blocks != nullptr && cols % 32 == 0 && weights->q8_0_int8_activations &&
      Q8IntegerProductsAvailable()) {
    weights->owned_q8_0.push_back(PackLinearWeightQ8_0Int(t->q8_0_blocks, rows, cols));
    t->packed_q8_0_int = weights->owned_q8_0.back().data();
  } else if (t->q8_min_blocks != nullptr && cols % 32 == 0 && weights->q8_0_int8_activations &&
             Q8IntegerProductsAvailable()) {
    weights->owned_q8_0.push_back(PackLinearWeightQ8MinInt(t->q8_min_blocks, rows, cols));
    t->packed_q8_min_int = weights->owned_q8_0.back().data();
  } else if (t->q8_0_blocks != nullptr && cols % 32 == 0) {
    weights->owned_q8_0.push_back(PackLinearWeightQ8_0(t->q8_0_blocks, rows, cols));
    t->packed_q8_0 = weights->owned_q8_0.back().data();
  } else if (t->stored_as_f16 && t->f16_data != nullptr) {
    weights->owned_f16.push_back(PackLinearWeightHalf(t->f16_data, rows, cols));
    t->packed_f16 = weights->owned_f16.back().data();
  } else if (t->data == nullptr) {
    return;
  } else if (t->stored_as_f16) {
    weights->owned_f16.push_back(PackLinearWeightF16(t->data, rows, cols));
    t->packed_f16 = weights->owned_f16.back().data();
  } else {
    weights->owned.push_back(PackLinearWeight(t->data, rows, cols));
    t->packed = weights->owned.back().data();
  }
}

void ForEachMatrix(ModelWeights* w, const std::function<void(Tensor*)>& fn) {
  auto attention = [&](AttentionWeights* a) {
    fn(&a->query.w);
    fn(&a->key.w);
    fn(&a->value.w);
    fn(&a->out.w);
  };
  // Conv kernels (c_out, c_in, 3) are products against (c_out, 3 c_in) im2col rows.
  fn(&w->conv1_w);
  fn(&w->conv2_w);
  for (EncoderBlockWeights& b : w->encoder_blocks) {
    attention(&b.attn);
    fn(&b.mlp_up.w);
    fn(&b.mlp_down.w);
  }
  for (DecoderBlockWeights& b : w->decoder_blocks) {
    attention(&b.attn);
    attention(&b.cross_attn);
    fn(&b.mlp_up.w);
    fn(&b.mlp_down.w);
  }
  fn(&w->token_embedding);
}

void PackWeightsForFastBackend(ModelWeights* w) {
  ForEachMatrix(w, [&](Tensor* t) { PackMatrix(t, w); });
}

}  // namespace wisp
