// The encoder, following openai-whisper's AudioEncoder.forward line by line:
//   x = gelu(conv1(mel)); x = gelu(conv2(x)); x = x.T + positional_embedding
//   for block: x = x + attn(attn_ln(x)); x = x + mlp(mlp_ln(x))
//   x = ln_post(x)
#include "model/encoder.h"

#include "model/transformer_block.h"

namespace wisp {

void RunEncoder(const ModelWeights& w, const OpContext& caller_ctx, const float* mel, EncoderScratch* s, float* out) {
  const OpContext ctx = WithComputeOf(w, caller_ctx);
  const HParams& hp = w.hparams;
  const int64_t d = hp.n_audio_state, n_ctx = hp.n_audio_ctx, n_frames = 2 * n_ctx;
  s->conv1_out.resize(n_frames * d);
  s->x.resize(n_ctx * d);

  // mel is (n_mels, frames) channel-major; conv1's output is time-major (frames, d).
  Conv1dK3(ctx, mel, hp.n_mels, n_frames, /*cs=*/n_frames, /*ts=*/1, w.conv1_w.data, w.conv1_b.data, d, 1,
           s->conv1_out.data(), Packed(w.conv1_w));
  Gelu(ctx, s->conv1_out.data(), n_frames * d);
  Conv1dK3(ctx, s->conv1_out.data(), d, n_frames, /*cs=*/1, /*ts=*/d, w.conv2_w.data, w.conv2_b.data, d, 2,
           s->x.data(), Packed(w.conv2_w));
  Gelu(ctx, s->x.data(), n_ctx * d);
  AddInPlace(ctx, s->x.data(), w.encoder_positional.data, n_ctx * d);

  for (const EncoderBlockWeights& b : w.encoder_blocks) {
    SelfAttentionSublayer(ctx, b.attn_ln, b.attn, hp.n_audio_head, s->x.data(), n_ctx, d, &s->block);
    MlpSublayer(ctx, b.mlp_ln, b.mlp_up, b.mlp_down, s->x.data(), n_ctx, d, &s->block);
  }
  LayerNorm(ctx, s->x.data(), n_ctx, d, w.encoder_ln_post.gamma.data, w.encoder_ln_post.beta.data, out);
}

}  // namespace wisp
