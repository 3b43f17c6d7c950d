// The decoding design without a model: GreedyDecoder over crafted logit rows, the
// MaximumLikelihoodRanker, TranscribeOptions::Validate's refusals (exact messages), the
// temperature list of the official CLI, the window loop's state (clips, prompts, resets) and the
// torch-order float32 sums behind avg_logprob.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "pipeline/languages.h"
#include "pipeline/logit_filters.h"
#include "pipeline/token_decoder.h"
#include "pipeline/transcribe.h"
#include "pipeline/transcribe_options.h"

namespace wisp {
namespace {

constexpr int kEot = 3;
constexpr int kVocab = 5;

TEST(GreedyDecoder, ArgmaxRowsFinishIndependentlyAndSumFilteredLogprobs) {
  GreedyDecoder decoder(0.0, kEot, {});
  std::vector<DecodingRow> rows = {{{9, 9}, 0.0f}, {{9, 9}, 0.0f}};
  const float inf = std::numeric_limits<float>::infinity();
  // Row 0 picks token 1; row 1 picks eot. Entry 4 is suppressed (-inf) and so out of the softmax.
  std::vector<float> logits = {0, 2, 0, 1, -inf, 0, 0, 0, 5, -inf};
  std::vector<int> source = {0, 1};
  EXPECT_FALSE(decoder.Update(logits, kVocab, &rows, &source));
  EXPECT_EQ(rows[0].tokens, (std::vector<int>{9, 9, 1}));
  EXPECT_EQ(rows[1].tokens, (std::vector<int>{9, 9, kEot}));
  const double lse0 = std::log(1 + std::exp(2.0) + 1 + std::exp(1.0));
  EXPECT_NEAR(rows[0].sum_logprob, 2.0 - lse0, 1e-6);
  EXPECT_EQ(source, (std::vector<int>{0, 1}));  // greedy rows never move
  // A finished row only repeats eot and adds nothing; row 0 finishes now.
  const float sum1 = rows[1].sum_logprob;
  logits = {0, 0, 0, 9, 0, 9, 0, 0, 0, 0};
  EXPECT_TRUE(decoder.Update(logits, kVocab, &rows, &source));
  EXPECT_EQ(rows[1].tokens.back(), kEot);
  EXPECT_EQ(rows[1].sum_logprob, sum1);
  const std::vector<DecodedSequence> out = decoder.Finalize(rows, 2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].tokens, (std::vector<int>{1}));
  EXPECT_TRUE(out[1].tokens.empty());
  EXPECT_TRUE(decoder.rows_independent());
}

TEST(GreedyDecoder, EachRowSamplesFromItsOwnGenerator) {
  // The same row decoded alone or next to another draws the same tokens.
  const std::vector<float> row = {0.1f, 0.3f, 0.2f, 0.0f, 0.25f};
  auto run = [&](int n_rows) {
    std::vector<std::mt19937_64> rngs;
    for (int r = 0; r < n_rows; ++r) rngs.emplace_back(1000 + r);
    GreedyDecoder decoder(1.0, kEot, std::move(rngs));
    std::vector<DecodingRow> rows(n_rows, DecodingRow{{7}, 0.0f});
    std::vector<int> source(n_rows);
    for (int step = 0; step < 20; ++step) {
      std::vector<float> logits;
      for (int r = 0; r < n_rows; ++r) logits.insert(logits.end(), row.begin(), row.end());
      // Keep rows alive: eot never wins.
      for (int r = 0; r < n_rows; ++r) logits[r * kVocab + kEot] = -std::numeric_limits<float>::infinity();
      decoder.Update(logits, kVocab, &rows, &source);
    }
    return rows[0].tokens;
  };
  EXPECT_EQ(run(1), run(3));
}

TEST(MaximumLikelihoodRanker, LengthNormalisedOrNmtPenalty) {
  const std::vector<DecodedSequence> c = {{{1, 2, 3, 4}, -2.0}, {{1}, -0.6}, {{1, 2}, -1.0}};
  // sum / length: -0.5, -0.6, -0.5 -> the first of the tie.
  EXPECT_EQ(MaximumLikelihoodRanker(std::nullopt).Rank(c), 0u);
  // ((5 + n) / 6) ** 1: -2 / 1.5, -0.6 / 1, -1 / (7 / 6) -> the second.
  EXPECT_EQ(MaximumLikelihoodRanker(1.0).Rank(c), 1u);
  EXPECT_DOUBLE_EQ(MaximumLikelihoodRanker(0.0).Score(c[0]), -2.0);  // alpha 0: the raw sum
}

Status ValidateWith(void (*set)(TranscribeOptions*)) {
  TranscribeOptions o;
  set(&o);
  return o.Validate();
}

TEST(TranscribeOptions, DefaultsAreTheOfficialTranscribe) {
  const TranscribeOptions o;
  EXPECT_EQ(o.temperatures, (std::vector<double>{0.0, 0.2, 0.4, 0.6, 0.8, 1.0}));
  EXPECT_EQ(o.best_of, 5);
  EXPECT_FALSE(o.beam_size);
  EXPECT_EQ(o.compression_ratio_threshold, 2.4);
  EXPECT_EQ(o.logprob_threshold, -1.0);
  EXPECT_EQ(o.no_speech_threshold, 0.6);
  EXPECT_TRUE(o.condition_on_previous_text);
  EXPECT_TRUE(o.Validate().ok()) << o.Validate().message();
}

TEST(TranscribeOptions, RefusalsAreTheOfficialOnes) {
  struct Case {
    void (*set)(TranscribeOptions*);
    const char* message;
  };
  const Case cases[] = {
      {[](TranscribeOptions* o) { o->patience = 1.0; }, "patience requires beam_size to be given"},
      {[](TranscribeOptions* o) { o->length_penalty = 1.5; },
       "length_penalty (alpha) should be a value between 0 and 1, got 1.5"},
      {[](TranscribeOptions* o) { o->length_penalty = -0.1; },
       "length_penalty (alpha) should be a value between 0 and 1, got -0.1"},
      {[](TranscribeOptions* o) { o->best_of = 0; }, "best_of must be >= 1, got 0"},
      {[](TranscribeOptions* o) { o->beam_size = 0; }, "beam_size must be >= 1, got 0"},
      {[](TranscribeOptions* o) {
         o->beam_size = 2;
         o->patience = 0.1;
       },
       "Invalid beam size (2) or patience (0.1): round(beam_size * patience) must be at least 1"},
      {[](TranscribeOptions* o) { o->temperatures = {0.0, -0.5}; }, "temperature must be a number >= 0, got -0.5"},
      {[](TranscribeOptions* o) { o->temperatures = {}; }, "no temperature to decode at"},
      {[](TranscribeOptions* o) { o->language = "klingon"; },
       "unknown language 'klingon' (expected a code such as en, de, fr or a name such as English)"},
      {[](TranscribeOptions* o) { o->language_candidates = {"en", "xx"}; },
       "unknown candidate language 'xx' (expected a code such as en, de, fr or a name such as English)"},
      {[](TranscribeOptions* o) { o->task = "summarize"; }, "task must be transcribe or translate, got 'summarize'"},
      {[](TranscribeOptions* o) { o->hallucination_silence_threshold = 2.0; },
       "hallucination_silence_threshold needs word_timestamps"},
      {[](TranscribeOptions* o) {
         o->word_timestamps = true;
         o->hallucination_silence_threshold = -1.0;
       },
       "hallucination_silence_threshold must be seconds >= 0, got -1"},
      {[](TranscribeOptions* o) { o->suppress_tokens = "-1,x"; }, "suppress_tokens: 'x' is not a token id (in \"-1,x\")"},
      {[](TranscribeOptions* o) { o->clip_timestamps = {-1}; }, "clip_timestamps must be seconds >= 0, got -1"},
  };
  for (const Case& c : cases) {
    const Status st = ValidateWith(c.set);
    EXPECT_FALSE(st.ok()) << c.message;
    EXPECT_EQ(st.kind(), ErrorKind::kInvalidArgument);
    EXPECT_EQ(st.message(), c.message);
  }
  // As transcribe() pops them: beam_size only matters at T = 0, best_of only at T > 0.
  EXPECT_TRUE(ValidateWith([](TranscribeOptions* o) {
                o->beam_size = 5;
                o->temperatures = {0.2, 0.4};
              }).ok());
  EXPECT_TRUE(ValidateWith([](TranscribeOptions* o) { o->language = "English"; }).ok());
}

TEST(Languages, CodesNamesAndAliases) {
  EXPECT_EQ(NormalizeLanguage("en"), "en");
  EXPECT_EQ(NormalizeLanguage("English"), "en");
  EXPECT_EQ(NormalizeLanguage("castilian"), "es");
  EXPECT_EQ(NormalizeLanguage("yue"), "yue");
  EXPECT_EQ(NormalizeLanguage("xx"), "");
  EXPECT_EQ(AllLanguageCodes().size(), 100u);
}

TEST(FallbackTemperatures, AsTheOfficialCliBuildsThem) {
  Result<std::vector<double>> t = FallbackTemperatures(0.0, 0.2);
  ASSERT_TRUE(t.ok());
  // np.arange(0, 1.000001, 0.2): 0.6000000000000001 is numpy's, not a typo.
  EXPECT_EQ(*t, (std::vector<double>{0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0}));
  EXPECT_EQ(*FallbackTemperatures(0.5, 0.25), (std::vector<double>{0.5, 0.75, 1.0}));
  EXPECT_EQ(*FallbackTemperatures(0.3, std::nullopt), (std::vector<double>{0.3}));
  EXPECT_EQ(*FallbackTemperatures(1.5, std::nullopt), (std::vector<double>{1.5}));
  EXPECT_FALSE(FallbackTemperatures(1.5, 0.2).ok());
  EXPECT_FALSE(FallbackTemperatures(0.0, 0.0).ok());
  EXPECT_FALSE(FallbackTemperatures(-1.0, 0.2).ok());
}

TEST(ShortAudioContext, AudioPlusMarginHalvedRoundedUpToTheGranularityPlusATail) {
  using C = AudioContext;
  const ShortAudioRule rule{/*margin_frames=*/200, /*granularity=*/64, /*min_ctx=*/256, /*tail_ctx=*/128};
  // 4 s = 400 frames: (400 + 200) / 2 = 300 positions -> 320, the next multiple of 64; + 128.
  EXPECT_EQ(ShortAudioContext(400, 1500, rule), (C{320, 128}));
  EXPECT_EQ(ShortAudioContext(400, 1500, rule).total(), 448);
  // An odd frame count rounds the half up: (455 + 200 + 1) / 2 = 328 -> 384.
  EXPECT_EQ(ShortAudioContext(455, 1500, rule), (C{384, 128}));
  // Exactly on a multiple: (568 + 200) / 2 = 384 stays 384.
  EXPECT_EQ(ShortAudioContext(568, 1500, rule), (C{384, 128}));
  // The minimum context holds for very short windows, and for an empty one.
  EXPECT_EQ(ShortAudioContext(100, 1500, rule), (C{256, 128}));
  EXPECT_EQ(ShortAudioContext(0, 1500, rule), (C{256, 128}));
  // 24 s: (2400 + 200) / 2 = 1300 -> 1344, + 128 = 1472 < 1500 still short; 25 s reaches the
  // full context (1344 + 128 >= 1500 would leave nothing to save: the full window is exact).
  EXPECT_EQ(ShortAudioContext(2400, 1500, rule), (C{1344, 128}));
  EXPECT_EQ(ShortAudioContext(2500, 1500, rule), (C{1500, 0}));
  // A full window keeps the full context whatever the rule.
  EXPECT_EQ(ShortAudioContext(3000, 1500, rule), (C{1500, 0}));
  EXPECT_EQ(ShortAudioContext(3000, 1500, ShortAudioRule{0, 1, 1, 0}), (C{1500, 0}));
  // Granularity 1, no margin, no tail: exactly ceil(frames / 2), whisper.cpp's audio_ctx.
  EXPECT_EQ(ShortAudioContext(401, 1500, ShortAudioRule{0, 1, 1, 0}), (C{201, 0}));
  // A minimum above the model's context gives the full window too.
  EXPECT_EQ(ShortAudioContext(10, 1500, ShortAudioRule{0, 1, 4000, 0}), (C{1500, 0}));
}

TEST(ShortAudioContext, RuleIsParsedAndValidatedWithClearErrors) {
  Result<ShortAudioRule> r = ParseShortAudioRule("100,128,192,64");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->margin_frames, 100);
  EXPECT_EQ(r->granularity, 128);
  EXPECT_EQ(r->min_ctx, 192);
  EXPECT_EQ(r->tail_ctx, 64);
  EXPECT_EQ(r->fallback_prob, ShortAudioRule{}.fallback_prob);  // four fields: the default fallback
  EXPECT_EQ(ShortAudioRule{}.fallback_prob, 0.3);
  EXPECT_EQ(ParseShortAudioRule("0,1,1,0")->tail_ctx, 0);
  EXPECT_EQ(ParseShortAudioRule("100,128,192,64,0")->fallback_prob, 0.0);
  EXPECT_EQ(ParseShortAudioRule("100,128,192,64,0.45")->fallback_prob, 0.45);
  EXPECT_EQ(ParseShortAudioRule("100,128,192,64,1")->fallback_prob, 1.0);
  for (const char* bad : {"", "100", "100,64", "100,64,256", "100,64,256,1,2", "100,64,256,1,-0.1", "100,64,256,1,nan",
                          "100,64,256,1,x", "100,64,256,1,", "100,64,256,1,0.5,1", "a,64,256,1", "100,0,256,1",
                          "100,64,0,1", "-1,64,256,1", "100,64,256,-1", "100,,256,1", "100,64,256,", "1e3,64,256,1"}) {
    EXPECT_FALSE(ParseShortAudioRule(bad).ok()) << bad;
  }
  EXPECT_NE(ParseShortAudioRule("100,0,256,1").status().message().find("granularity '0'"), std::string::npos);
  EXPECT_NE(ParseShortAudioRule("100,64,256,1,2").status().message().find("fallback probability '2'"),
            std::string::npos);
  EXPECT_NE(ParseShortAudioRule("100,64").status().message().find("MARGIN,GRANULARITY,MIN_CTX,TAIL"),
            std::string::npos);

  TranscribeOptions o;
  EXPECT_FALSE(o.short_audio);  // opt-in
  EXPECT_TRUE(o.Validate().ok());
  o.short_audio_rule.granularity = 0;
  EXPECT_NE(o.Validate().message().find("short_audio_rule"), std::string::npos);
  o.short_audio_rule = ShortAudioRule{-1, 64, 256, 0};
  EXPECT_FALSE(o.Validate().ok());
  o.short_audio_rule = ShortAudioRule{0, 64, 256, 0, 1.5};
  EXPECT_NE(o.Validate().message().find("fallback_prob must be in [0, 1], got 1.5"), std::string::npos);
  o.short_audio_rule = ShortAudioRule{0, 64, 256, -1};
  EXPECT_FALSE(o.Validate().ok());
}

TEST(TranscribeState, ClipsFollowTheOfficialSeekRules) {
  TranscribeOptions o;
  o.clip_timestamps = {1.0, 2.5, 10.0};  // odd: the last clip runs to the end
  TranscribeState st = TranscribeState::Start(o, {}, 2000);
  ASSERT_EQ(st.clips.size(), 2u);
  EXPECT_EQ(st.clips[0], (std::pair<int64_t, int64_t>{100, 250}));
  EXPECT_EQ(st.clips[1], (std::pair<int64_t, int64_t>{1000, 2000}));
  ASSERT_TRUE(st.NextWindow());
  EXPECT_EQ(st.seek, 100);
  EXPECT_EQ(st.WindowFrames(2000), 150);  // clipped at the clip's end
  st.seek = 250;                          // the window consumed the clip
  ASSERT_TRUE(st.NextWindow());
  EXPECT_EQ(st.seek, 1000);
  EXPECT_EQ(st.WindowFrames(2000), 1000);
  st.seek = 2000;
  EXPECT_FALSE(st.NextWindow());
  // No clips: the whole file from 0.
  TranscribeState whole = TranscribeState::Start(TranscribeOptions(), {}, 500);
  ASSERT_TRUE(whole.NextWindow());
  EXPECT_EQ(whole.seek, 0);
  EXPECT_EQ(whole.WindowFrames(500), 500);
}

TEST(TranscribeState, PromptResetsAboveHalfAndCarriesTheInitialPrompt) {
  TranscribeState st = TranscribeState::Start(TranscribeOptions(), {10, 11}, 3000);
  EXPECT_EQ(st.Prompt(false, 448), (std::vector<int>{10, 11}));
  st.all_tokens.insert(st.all_tokens.end(), {20, 21});
  st.FinishWindow(0.4, true);  // conditioned: the prompt keeps growing
  EXPECT_EQ(st.Prompt(false, 448), (std::vector<int>{10, 11, 20, 21}));
  st.all_tokens.push_back(30);
  st.FinishWindow(0.6, true);  // a high temperature restarts the prompt
  EXPECT_TRUE(st.Prompt(false, 448).empty());
  EXPECT_EQ(st.last_temperature, 0.6);
  // carry_initial_prompt: the initial prompt, then the tail of what follows the reset.
  st.all_tokens.push_back(40);
  EXPECT_EQ(st.Prompt(true, 448), (std::vector<int>{10, 11, 40}));
  // A context so small that n_text_ctx / 2 - 1 - len(initial) = 0: python's [-0:] keeps all.
  EXPECT_EQ(st.Prompt(true, 6), (std::vector<int>{10, 11, 40}));
  st.FinishWindow(0.0, false);  // not conditioned: reset after every window
  EXPECT_TRUE(st.Prompt(false, 448).empty());
}

// torch's AVX2 log_softmax sums exp(x - max) in 8 float32 lanes folded pairwise; a double sum
// differs from it by far more than float32 rounding on a vocabulary-sized row. The emulation
// below is the one checked against torch 1.13's F.log_softmax on real decoder logits (equal to
// the last bit on every step of jfk's first window).
TEST(TorchOrder, ExpSumMatchesTheEightLaneFloat32Order) {
  // One large term (the max, exp = 1) and many small ones that its lane partly swallows.
  std::vector<float> x(51864, -17.0f);
  x[0] = 0.0f;
  float emulated[8] = {};
  for (size_t i = 0; i < x.size(); ++i) emulated[i % 8] += std::exp(x[i] - 0.0f);
  for (int l = 0; l < 4; ++l) emulated[l] += emulated[l + 4];
  for (int l = 0; l < 2; ++l) emulated[l] += emulated[l + 2];
  EXPECT_EQ(TorchExpSumFloat32(x, 0.0f), emulated[0] + emulated[1]);
  double exact = 0;
  for (float v : x) exact += std::exp(static_cast<double>(v));
  EXPECT_GT(std::abs(TorchExpSumFloat32(x, 0.0f) - exact), 1e-6);  // the order is visible
  // A short row (< 8): summed in order.
  const std::vector<float> s = {0.0f, -1.0f, -2.0f};
  EXPECT_FLOAT_EQ(TorchExpSumFloat32(s, 0.0f), 1.0f + std::exp(-1.0f) + std::exp(-2.0f));
  // SoftmaxAtFloat32 and LogSoftmaxFloat32 agree.
  std::vector<float> lp(x.size());
  LogSoftmaxFloat32(x, lp.data());
  EXPECT_NEAR(std::exp(lp[0]), SoftmaxAtFloat32(x, 0), 1e-7);
}

// TopLogProbs (beam search's per-row candidates, one pass) against torch.topk's order as the
// full log-softmax row and a sort give it, on rows with ties in the logits and logits close
// enough to round to one log-probability (which must then rank by id).
TEST(BeamSearchDecoder, TopLogProbsIsTopkOfTheLogSoftmaxRow) {
  std::mt19937 rng(3);
  std::normal_distribution<float> logit(0.0f, 3.0f);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<float> x(5000);
    for (float& v : x) v = logit(rng);
    for (int i = 0; i < 40; ++i) x[rng() % x.size()] = 9.0f;                    // exact ties
    for (int i = 0; i < 40; ++i) x[rng() % x.size()] = std::nextafter(9.0f, 0.0f);  // one ulp below
    for (int i = 0; i < 100; ++i) x[rng() % x.size()] = -std::numeric_limits<float>::infinity();
    std::vector<float> lp(x.size());
    LogSoftmaxFloat32(x, lp.data());
    std::vector<int> order(x.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return lp[a] > lp[b]; });
    for (int k : {1, 6, 60}) {
      std::vector<std::pair<float, int>> top;
      TopLogProbs(x, LogSoftmaxStatsFloat32(x), k, &top);
      ASSERT_EQ(top.size(), static_cast<size_t>(k));
      for (int i = 0; i < k; ++i) {
        EXPECT_EQ(top[i].second, order[i]) << "trial " << trial << " k " << k << " rank " << i;
        EXPECT_EQ(top[i].first, lp[order[i]]);
      }
    }
  }
}

}  // namespace
}  // namespace wisp
