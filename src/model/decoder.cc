// The decoder, following openai-whisper's TextDecoder.forward:
//   x = token_embedding(tokens) + positional_embedding[offset : offset + n]
//   for block: x = x + attn(attn_ln(x), mask, cache); x = x + cross_attn(cross_attn_ln(x), xa);
//              x = x + mlp(mlp_ln(x))
//   logits = ln(x) @ token_embedding.weight.T
#include "model/decoder.h"

#include <cassert>
#include <cstring>

namespace wisp {

void InitDecoderState(const HParams& hp, DecoderState* state) {
  const size_t d = hp.n_text_state;
  state->n_past = 0;
  state->self_k.assign(static_cast<size_t>(hp.n_text_layer) * hp.n_text_ctx * d, 0.0f);
  state->self_v.assign(state->self_k.size(), 0.0f);
  state->cross_k.assign(static_cast<size_t>(hp.n_text_layer) * hp.n_audio_ctx * d, 0.0f);
  state->cross_v.assign(state->cross_k.size(), 0.0f);
}

void SetAudioFeatures(const ModelWeights& w, const OpContext& ctx, const float* audio_features,
                      DecoderState* state, int n_ctx) {
  const HParams& hp = w.hparams;
  assert(n_ctx >= 0 && n_ctx <= hp.n_audio_ctx);
  // The layers keep their full-context stride in cross_k/v; a short window fills the first rows.
  const int64_t d = hp.n_text_state, n = n_ctx > 0 ? n_ctx : hp.n_audio_ctx, stride = int64_t{hp.n_audio_ctx} * d;
  if (state->cross_k.empty()) InitDecoderState(hp, state);
  state->n_audio_ctx = static_cast<int>(n);
  for (int l = 0; l < hp.n_text_layer; ++l) {
    const AttentionWeights& a = w.decoder_blocks[l].cross_attn;
    ApplyLinear(ctx, a.key, audio_features, n, state->cross_k.data() + l * stride, d);
    ApplyLinear(ctx, a.value, audio_features, n, state->cross_v.data() + l * stride, d);
  }
  state->cross_kv.resize(hp.n_text_layer);
  for (int l = 0; l < hp.n_text_layer; ++l) {
    PrepareKv(CrossKvContextOf(w, ctx), state->cross_k.data() + l * stride, d,
              state->cross_v.data() + l * stride, d, n, hp.n_text_head, d / hp.n_text_head, &state->cross_kv[l]);
  }
  state->n_past = 0;
}

namespace {

// Which alignment heads a layer holds: their head numbers and their places in the caller's list.
struct LayerHeads {
  std::vector<int> heads, slots;
};

// RunDecoder's body; capture (null on the normal path) asks for the pre-softmax cross-attention
// scores of some heads, which only the word-timestamp pass wants.
void Forward(const ModelWeights& w, const OpContext& ctx, DecoderState* state, const int32_t* tokens, int n_tokens,
             bool all_logits, float* logits, const std::vector<LayerHeads>* capture, float* scores) {
  const HParams& hp = w.hparams;
  const int64_t d = hp.n_text_state, n = n_tokens, past = state->n_past;
  assert(n_tokens > 0 && past + n_tokens <= hp.n_text_ctx);

  state->x.resize(n * d);
  float* x = state->x.data();
  for (int64_t i = 0; i < n; ++i) {
    assert(tokens[i] >= 0 && tokens[i] < hp.n_vocab);
    if (w.token_embedding.data != nullptr) {
      std::memcpy(x + i * d, w.token_embedding.data + static_cast<int64_t>(tokens[i]) * d, d * sizeof(float));
    } else {  // packed-only model: the row is a column of the vocabulary projection's panels
      UnpackWeightRow(Packed(w.token_embedding), d, tokens[i], x + i * d);
    }
  }
  AddInPlace(ctx, x, w.decoder_positional.data + past * d, n * d);

  for (int l = 0; l < hp.n_text_layer; ++l) {
    const DecoderBlockWeights& b = w.decoder_blocks[l];
    // Self-attention: project this call's k, v straight into the cache, then attend causally
    // over everything cached so far.
    float* k_cache = state->self_k.data() + static_cast<int64_t>(l) * hp.n_text_ctx * d;
    float* v_cache = state->self_v.data() + static_cast<int64_t>(l) * hp.n_text_ctx * d;
    BlockScratch& s = state->block;
    AttentionSublayerWithKv(WithComputeOf(w, ctx, /*decoder=*/true), b.attn_ln, b.attn, hp.n_text_head, x, n, d,
                            k_cache + past * d, v_cache + past * d, k_cache, v_cache, past + n, /*causal=*/true,
                            past, &s);
    if (capture != nullptr && !(*capture)[l].heads.empty()) {
      const LayerHeads& lh = (*capture)[l];
      const int64_t per_head = n * state->n_audio_ctx;
      std::vector<float> layer_scores(lh.heads.size() * per_head);
      CrossAttentionSublayerWithScores(ctx, b.cross_attn_ln, b.cross_attn, x, n, d, state->cross_kv[l], lh.heads,
                                       layer_scores.data(), &s);
      for (size_t i = 0; i < lh.heads.size(); ++i) {
        std::memcpy(scores + lh.slots[i] * per_head, layer_scores.data() + i * per_head, per_head * sizeof(float));
      }
    } else {
      CrossAttentionSublayer(ctx, b.cross_attn_ln, b.cross_attn, x, n, d, state->cross_kv[l], &s);
    }
    MlpSublayer(ctx, b.mlp_ln, b.mlp_up, b.mlp_down, x, n, d, &s);
  }
  state->n_past += n_tokens;

  // Only the rows whose logits are wanted go through the final norm and the vocabulary
  // projection, which is the largest matrix product of a decoding step.
  const int64_t first = all_logits ? 0 : n - 1, rows = n - first;
  state->last.resize(rows * d);
  LayerNorm(ctx, x + first * d, rows, d, w.decoder_ln.gamma.data, w.decoder_ln.beta.data, state->last.data());
  state->vocab_outputs_exact +=
      ScreenedLinearOp(ctx, state->last.data(), rows, d, w.token_embedding.data, hp.n_vocab, logits, hp.n_vocab,
                       Packed(w.token_embedding), &w.vocab_screen, kVocabScreenMargin);
}

}  // namespace

void RunDecoder(const ModelWeights& w, const OpContext& ctx, DecoderState* state, const int32_t* tokens,
                int n_tokens, bool all_logits, float* logits) {
  Forward(w, ctx, state, tokens, n_tokens, all_logits, logits, nullptr, nullptr);
}

void RunDecoderWithCrossAttentionScores(const ModelWeights& w, const OpContext& ctx, DecoderState* state,
                                        const int32_t* tokens, int n_tokens,
                                        const std::vector<std::pair<int, int>>& heads, float* scores,
                                        float* logits) {
  const HParams& hp = w.hparams;
  std::vector<LayerHeads> capture(hp.n_text_layer);
  for (size_t i = 0; i < heads.size(); ++i) {
    const auto [layer, head] = heads[i];
    assert(layer >= 0 && layer < hp.n_text_layer && head >= 0 && head < hp.n_text_head);
    capture[layer].heads.push_back(head);
    capture[layer].slots.push_back(static_cast<int>(i));
  }
  state->n_past = 0;  // find_alignment runs the sequence alone, without a cache
  Forward(w, ctx, state, tokens, n_tokens, /*all_logits=*/true, logits, &capture, scores);
}

}  // namespace wisp
