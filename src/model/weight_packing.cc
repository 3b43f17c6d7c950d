#include "model/weight_packing.h"

#include "ops/ops.h"

namespace wisp {
namespace {

// A 2-D view (rows = output features, cols = inputs) of t, packed into weights->owned.
// Weights keep the precision the file stores them in: q8_0 panels from q8_0 blocks, f16 panels
// for f16 (both exact against ggml's dequantized values; fewer bytes a decoding step streams),
// f32 panels otherwise.
void Pack(Tensor* t, int64_t rows, int64_t cols, ModelWeights* weights) {
  if (t->data == nullptr || t->packed != nullptr || t->packed_f16 != nullptr || t->packed_q8_0 != nullptr) return;
  if (t->q8_0_blocks != nullptr && cols % 32 == 0) {
    weights->owned_q8_0.push_back(PackLinearWeightQ8_0(t->q8_0_blocks, rows, cols));
    t->packed_q8_0 = weights->owned_q8_0.back().data();
  } else if (t->stored_as_f16) {
    weights->owned_f16.push_back(PackLinearWeightF16(t->data, rows, cols));
    t->packed_f16 = weights->owned_f16.back().data();
  } else {
    weights->owned.push_back(PackLinearWeight(t->data, rows, cols));
    t->packed = weights->owned.back().data();
  }
}

void PackLinear(Linear* l, ModelWeights* weights) { Pack(&l->w, l->w.rows(), l->w.cols(), weights); }

void PackAttention(AttentionWeights* a, ModelWeights* weights) {
  PackLinear(&a->query, weights);
  PackLinear(&a->key, weights);
  PackLinear(&a->value, weights);
  PackLinear(&a->out, weights);
}

}  // namespace

void PackWeightsForFastBackend(ModelWeights* w) {
  // Conv kernels (c_out, c_in, 3) are products against (c_out, 3 c_in) im2col rows.
  Pack(&w->conv1_w, w->conv1_w.shape[0], w->conv1_w.shape[1] * w->conv1_w.shape[2], w);
  Pack(&w->conv2_w, w->conv2_w.shape[0], w->conv2_w.shape[1] * w->conv2_w.shape[2], w);
  for (EncoderBlockWeights& b : w->encoder_blocks) {
    PackAttention(&b.attn, w);
    PackLinear(&b.mlp_up, w);
    PackLinear(&b.mlp_down, w);
  }
  for (DecoderBlockWeights& b : w->decoder_blocks) {
    PackAttention(&b.attn, w);
    PackAttention(&b.cross_attn, w);
    PackLinear(&b.mlp_up, w);
    PackLinear(&b.mlp_down, w);
  }
  Pack(&w->token_embedding, w->token_embedding.shape[0], w->token_embedding.shape[1], w);
}

}  // namespace wisp
