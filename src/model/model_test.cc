// Model-level checks that need no model file: a small random Whisper built in memory.
// - the fast backend computes the same encoder and decoder as the reference backend;
// - decoding token by token through the KV cache gives the logits of one call over all tokens;
// - a shortened audio context (RunEncoder's n_ctx) is the encoder of a model whose window is
//   that short, and the cross-attention over it the decoder of that model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>
#include <vector>

#include "model/decoder.h"
#include "model/encoder.h"
#include "model/weight_packing.h"

namespace wisp {
namespace {

class RandomModel {
 public:
  explicit RandomModel(uint32_t seed) : rng_(seed) {
    HParams& hp = w.hparams;
    hp.n_vocab = 300;
    hp.n_audio_ctx = 1500;  // fixed by the 3000-frame window
    hp.n_audio_state = 64;
    hp.n_audio_head = 2;
    hp.n_audio_layer = 2;
    hp.n_text_ctx = 24;
    hp.n_text_state = 64;
    hp.n_text_head = 4;
    hp.n_text_layer = 2;
    hp.n_mels = 80;
    const int d = 64;
    w.conv1_w = Make({d, hp.n_mels, 3}, 0.1f);
    w.conv1_b = Make({d}, 0.1f);
    w.conv2_w = Make({d, d, 3}, 0.1f);
    w.conv2_b = Make({d}, 0.1f);
    w.encoder_positional = Make({hp.n_audio_ctx, d}, 0.5f);
    for (int l = 0; l < hp.n_audio_layer; ++l) {
      EncoderBlockWeights b;
      b.attn_ln = Ln(d);
      b.attn = Attn(d);
      b.mlp_ln = Ln(d);
      b.mlp_up = Lin(4 * d, d, true);
      b.mlp_down = Lin(d, 4 * d, true);
      w.encoder_blocks.push_back(b);
    }
    w.encoder_ln_post = Ln(d);
    w.token_embedding = Make({hp.n_vocab, d}, 1.0f);
    w.decoder_positional = Make({hp.n_text_ctx, d}, 0.1f);
    for (int l = 0; l < hp.n_text_layer; ++l) {
      DecoderBlockWeights b;
      b.attn_ln = Ln(d);
      b.attn = Attn(d);
      b.cross_attn_ln = Ln(d);
      b.cross_attn = Attn(d);
      b.mlp_ln = Ln(d);
      b.mlp_up = Lin(4 * d, d, true);
      b.mlp_down = Lin(d, 4 * d, true);
      w.decoder_blocks.push_back(b);
    }
    w.decoder_ln = Ln(d);
  }

  ModelWeights w;

 private:
  Tensor Make(std::vector<int64_t> shape, float scale, float offset = 0.0f) {
    Tensor t;
    t.ndim = static_cast<int>(shape.size());
    for (int i = 0; i < t.ndim; ++i) t.shape[i] = shape[i];
    std::normal_distribution<float> dist(0.f, scale);
    std::vector<float> v(t.numel());
    for (auto& x : v) x = offset + dist(rng_);
    w.owned.emplace_back(v.begin(), v.end());
    t.data = w.owned.back().data();
    return t;
  }
  LayerNormWeights Ln(int d) { return {Make({d}, 0.1f, 1.0f), Make({d}, 0.1f)}; }
  Linear Lin(int out, int in, bool bias) {
    Linear l;
    l.w = Make({out, in}, 1.0f / std::sqrt(float(in)));
    if (bias) l.b = Make({out}, 0.02f);
    return l;
  }
  AttentionWeights Attn(int d) { return {Lin(d, d, true), Lin(d, d, false), Lin(d, d, true), Lin(d, d, true)}; }
  std::mt19937 rng_;
};

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - b[i]));
  return m;
}

TEST(Model, FastBackendMatchesReferenceAndCacheMatchesFullPass) {
  RandomModel model(3);
  PackWeightsForFastBackend(&model.w);  // as the loader does: the fast backend runs packed
  const ModelWeights& w = model.w;
  const HParams& hp = w.hparams;
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> mel(hp.n_mels * 3000);
  for (auto& v : mel) v = dist(rng);

  ThreadPool pool(2);
  OpContext fast{&pool, nullptr, Backend::kFast}, ref{nullptr, nullptr, Backend::kReference};
  const int64_t feat_size = int64_t(hp.n_audio_ctx) * hp.n_audio_state;
  std::vector<float> feat_fast(feat_size), feat_ref(feat_size);
  EncoderScratch s1, s2;
  RunEncoder(w, fast, mel.data(), &s1, feat_fast.data());
  RunEncoder(w, ref, mel.data(), &s2, feat_ref.data());
  // LayerNorm-ed outputs are O(1); f32 with different summation orders over K <= 256.
  EXPECT_LT(MaxAbsDiff(feat_fast, feat_ref), 1e-4);

  const std::vector<int32_t> tokens = {5, 17, 299, 0, 42, 42, 7, 123};
  const int n = static_cast<int>(tokens.size());
  std::vector<float> all_fast(n * hp.n_vocab), all_ref(n * hp.n_vocab);
  DecoderState st_fast, st_ref;
  SetAudioFeatures(w, fast, feat_fast.data(), &st_fast);
  RunDecoder(w, fast, &st_fast, tokens.data(), n, true, all_fast.data());
  SetAudioFeatures(w, ref, feat_fast.data(), &st_ref);
  RunDecoder(w, ref, &st_ref, tokens.data(), n, true, all_ref.data());
  EXPECT_LT(MaxAbsDiff(all_fast, all_ref), 1e-3);  // logits are O(10): E rows have norm ~8

  // Prompt of 3, then one token per call, as decoding does; and a cache reset reproduces it.
  for (int round = 0; round < 2; ++round) {
    SetAudioFeatures(w, fast, feat_fast.data(), &st_fast);
    std::vector<float> step(hp.n_vocab);
    RunDecoder(w, fast, &st_fast, tokens.data(), 3, false, step.data());
    for (int v = 0; v < hp.n_vocab; ++v) ASSERT_NEAR(step[v], all_fast[2 * hp.n_vocab + v], 1e-3);
    for (int i = 3; i < n; ++i) {
      RunDecoder(w, fast, &st_fast, &tokens[i], 1, false, step.data());
      for (int v = 0; v < hp.n_vocab; ++v) ASSERT_NEAR(step[v], all_fast[i * hp.n_vocab + v], 1e-3) << i;
    }
    EXPECT_EQ(st_fast.n_past, n);
  }
}

// RunEncoder(head, tail) keeps the first head and the last tail positions of a 3000-frame window:
// it must be exactly what a model with n_audio_ctx = head + tail and those positional rows
// computes on those frames copied out side by side (reference backend, contiguous), and
// SetAudioFeatures(head + tail) must give that model's cross-attention, scores included. 320 is a
// tile multiple; 101 + 37 is odd and leaves partial tiles everywhere; (1500, 0) is the full window.
TEST(Model, ShortAudioContextIsTheEncoderOfAShortWindow) {
  for (const auto& [head, tail] : std::vector<std::pair<int, int>>{{320, 0}, {101, 37}, {256, 64}, {1500, 0}}) {
    const int n_ctx = head + tail;
    RandomModel model(3), short_model(3);  // equal seeds: equal weights
    PackWeightsForFastBackend(&model.w);
    const HParams& hp = model.w.hparams;
    const int64_t d = hp.n_audio_state;
    std::vector<float> positional(n_ctx * d);  // rows 0..head-1, then 1500-tail..1499
    const float* table = model.w.encoder_positional.data;
    std::copy(table, table + head * d, positional.begin());
    std::copy(table + (hp.n_audio_ctx - tail) * d, table + hp.n_audio_ctx * d, positional.begin() + head * d);
    short_model.w.hparams.n_audio_ctx = n_ctx;
    short_model.w.encoder_positional.data = positional.data();
    short_model.w.encoder_positional.shape[0] = n_ctx;
    PackWeightsForFastBackend(&short_model.w);
    std::mt19937 rng(7);
    std::normal_distribution<float> dist(0.f, 1.f);
    std::vector<float> mel(hp.n_mels * 3000), cut(hp.n_mels * 2 * n_ctx);
    for (auto& v : mel) v = dist(rng);
    for (int c = 0; c < hp.n_mels; ++c) {
      const auto band = mel.begin() + c * 3000;
      std::copy(band, band + 2 * head, cut.begin() + c * 2 * n_ctx);
      std::copy(band + 3000 - 2 * tail, band + 3000, cut.begin() + c * 2 * n_ctx + 2 * head);
    }
    ThreadPool pool(2);
    OpContext fast{&pool, nullptr, Backend::kFast}, ref{nullptr, nullptr, Backend::kReference};
    const int64_t feat_size = int64_t{n_ctx} * d;
    std::vector<float> feat(feat_size), want(feat_size);
    EncoderScratch s1, s2;
    RunEncoder(model.w, fast, mel.data(), &s1, feat.data(), head, tail);
    RunEncoder(short_model.w, ref, cut.data(), &s2, want.data());
    EXPECT_LT(MaxAbsDiff(feat, want), 1e-4) << head << "+" << tail;

    const std::vector<int32_t> tokens = {5, 17, 299, 0, 42};
    const int n = static_cast<int>(tokens.size());
    const std::vector<std::pair<int, int>> heads = {{0, 1}, {1, 3}};
    std::vector<float> logits(n * hp.n_vocab), want_logits(n * hp.n_vocab);
    std::vector<float> scores(heads.size() * n * n_ctx), want_scores(scores.size());
    DecoderState st, want_st;
    SetAudioFeatures(model.w, fast, feat.data(), &st, n_ctx);
    EXPECT_EQ(st.n_audio_ctx, n_ctx);
    RunDecoderWithCrossAttentionScores(model.w, fast, &st, tokens.data(), n, heads, scores.data(), logits.data());
    SetAudioFeatures(short_model.w, ref, feat.data(), &want_st);
    EXPECT_EQ(want_st.n_audio_ctx, n_ctx);
    RunDecoderWithCrossAttentionScores(short_model.w, ref, &want_st, tokens.data(), n, heads, want_scores.data(),
                                       want_logits.data());
    EXPECT_LT(MaxAbsDiff(logits, want_logits), 1e-3) << head << "+" << tail;
    EXPECT_LT(MaxAbsDiff(scores, want_scores), 1e-3) << head << "+" << tail;

    // A full window after a short one: the state's context follows the latest window.
    std::vector<float> full(int64_t{hp.n_audio_ctx} * d);
    RunEncoder(model.w, fast, mel.data(), &s1, full.data());
    SetAudioFeatures(model.w, fast, full.data(), &st);
    EXPECT_EQ(st.n_audio_ctx, hp.n_audio_ctx);
  }
}

}  // namespace
}  // namespace wisp
