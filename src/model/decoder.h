// Whisper's text decoder: causal self-attention with a KV cache, cross-attention whose K/V are
// computed once per audio window, logits = x · E^T with the token-embedding matrix E.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "model/transformer_block.h"
#include "model/weights.h"
#include "ops/ops.h"

namespace wisp {

// Per-stream decoder state (weights stay shared and immutable).
struct DecoderState {
  int n_past = 0;                      // tokens already in the self-attention cache
  std::vector<float> self_k, self_v;   // [layer][n_text_ctx][n_text_state]
  std::vector<float> cross_k, cross_v; // [layer][n_audio_ctx][n_text_state], sized for the full context
  int n_audio_ctx = 0;                 // positions of the current window's cross K/V (<= hp.n_audio_ctx)
  std::vector<PreparedKv> cross_kv;     // per layer, over cross_k/v, prepared once per window
  std::vector<float> x, last;  // activations of the current call
  BlockScratch block;
  // Logits computed exactly so far (the others came of the vocabulary screen alone).
  int64_t vocab_outputs_exact = 0;
};

// The vocabulary screen's margin in logits (ops.h ScreenedLinearOp): every logit within it of the
// row's largest screened one is the exact product's (the screen's error is ~0.1, <= 0.44 seen), and
// it widens where the tokens below it hold more than a tenth of the probability. Measured on the
// real tiny.en by tests/real_vocab_screen_test.cc (docs/PERFORMANCE.md "Vocabulary screen").
constexpr float kVocabScreenMargin = 6.0f;

void InitDecoderState(const HParams& hp, DecoderState* state);

// Computes the cross-attention K/V of every layer from the encoder output (n_ctx, d) and resets
// the self-attention cache (n_past = 0). n_ctx: the window's audio context as RunEncoder got it
// (0: the full hp.n_audio_ctx); cross-attention then attends over those n_ctx positions only.
void SetAudioFeatures(const ModelWeights& w, const OpContext& ctx, const float* audio_features,
                      DecoderState* state, int n_ctx = 0);

// Appends n_tokens tokens at positions n_past.. and advances n_past.
// logits: (n_tokens, n_vocab) when all_logits, else (1, n_vocab) for the last token only.
// Requires n_past + n_tokens <= n_text_ctx.
void RunDecoder(const ModelWeights& w, const OpContext& ctx, DecoderState* state, const int32_t* tokens,
                int n_tokens, bool all_logits, float* logits);

// openai-whisper's find_alignment forward pass: the tokens from position 0 over the window's
// cross K/V in state (SetAudioFeatures), with the pre-softmax cross-attention scores of each
// (layer, head) of heads captured as its hooks capture them. Overwrites the self-attention cache
// (n_past = n_tokens afterwards), so a decode of the window must be finished before.
// scores: (heads.size(), n_tokens, state->n_audio_ctx); logits: (n_tokens, n_vocab), every row.
// Requires n_tokens <= n_text_ctx and every head within the decoder's layers and heads.
void RunDecoderWithCrossAttentionScores(const ModelWeights& w, const OpContext& ctx, DecoderState* state,
                                        const int32_t* tokens, int n_tokens,
                                        const std::vector<std::pair<int, int>>& heads, float* scores,
                                        float* logits);

}  // namespace wisp
