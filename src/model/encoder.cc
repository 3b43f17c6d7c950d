// The encoder, following openai-whisper's AudioEncoder.forward line by line:
//   x = gelu(conv1(mel)); x = gelu(conv2(x)); x = x.T + positional_embedding
//   for block: x = x + attn(attn_ln(x)); x = x + mlp(mlp_ln(x))
//   x = ln_post(x)
#include "model/encoder.h"

#include <algorithm>
#include <cassert>

#include "model/transformer_block.h"

namespace wisp {

void RunEncoder(const ModelWeights& w, const OpContext& caller_ctx, const float* mel, EncoderScratch* s, float* out,
                int head_ctx, int tail_ctx) {
  const OpContext ctx = WithComputeOf(w, caller_ctx);
  const HParams& hp = w.hparams;
  const int64_t full = hp.n_audio_ctx;
  const int64_t head = head_ctx > 0 ? head_ctx : full, tail = tail_ctx;
  assert(head >= 1 && tail >= 0 && head + tail <= full);
  const int64_t d = hp.n_audio_state, n_ctx = head + tail, n_frames = 2 * n_ctx;
  s->conv1_out.resize(n_frames * d);
  s->x.resize(n_ctx * d);

  // mel is (n_mels, frames) channel-major; conv1's output is time-major (frames, d). The full
  // window and a head alone are read in place (row stride 3000); a head and a tail are copied
  // side by side first, so the stem sees them as one run of frames.
  const float* stem_in = mel;
  int64_t stem_stride = 2 * full;
  if (tail > 0) {
    s->mel.resize(static_cast<size_t>(hp.n_mels) * n_frames);
    for (int64_t c = 0; c < hp.n_mels; ++c) {
      const float* band = mel + c * 2 * full;
      std::copy(band, band + 2 * head, s->mel.data() + c * n_frames);
      std::copy(band + 2 * (full - tail), band + 2 * full, s->mel.data() + c * n_frames + 2 * head);
    }
    stem_in = s->mel.data();
    stem_stride = n_frames;
  }
  Conv1dK3(ctx, stem_in, hp.n_mels, n_frames, /*cs=*/stem_stride, /*ts=*/1, w.conv1_w.data, w.conv1_b.data, d, 1,
           s->conv1_out.data(), Packed(w.conv1_w));
  Gelu(ctx, s->conv1_out.data(), n_frames * d);
  Conv1dK3(ctx, s->conv1_out.data(), d, n_frames, /*cs=*/1, /*ts=*/d, w.conv2_w.data, w.conv2_b.data, d, 2,
           s->x.data(), Packed(w.conv2_w));
  Gelu(ctx, s->x.data(), n_ctx * d);
  // Each kept position gets its own row of the table: 0..head-1, then full-tail..full-1.
  AddInPlace(ctx, s->x.data(), w.encoder_positional.data, head * d);
  if (tail > 0) AddInPlace(ctx, s->x.data() + head * d, w.encoder_positional.data + (full - tail) * d, tail * d);

  for (const EncoderBlockWeights& b : w.encoder_blocks) {
    SelfAttentionSublayer(ctx, b.attn_ln, b.attn, hp.n_audio_head, s->x.data(), n_ctx, d, &s->block);
    MlpSublayer(ctx, b.mlp_ln, b.mlp_up, b.mlp_down, s->x.data(), n_ctx, d, &s->block);
  }
  LayerNorm(ctx, s->x.data(), n_ctx, d, w.encoder_ln_post.gamma.data, w.encoder_ln_post.beta.data, out);
}

}  // namespace wisp
