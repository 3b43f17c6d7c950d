// Model-level checks that need no model file: a small random Whisper built in memory.
// - the fast backend computes the same encoder and decoder as the reference backend;
// - decoding token by token through the KV cache gives the logits of one call over all tokens.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
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

}  // namespace
}  // namespace wisp
