// openai-whisper's logit filters on a toy vocabulary, asserting exactly which ids become -inf.
// Vocabulary (40 ids): text 0..9, eot 10, sot 11, translate 12, transcribe 13, sot_lm 14,
// sot_prev 15, no_speech 16, no_timestamps 17, timestamps 18..39 (<|0.00|> .. <|0.42|>).
// The initial tokens are [sot_prev, <|0.14|>, 3, sot] (a prompt that itself contains a
// timestamp, which the rules must ignore), so sample_begin = 4.
#include "pipeline/logit_filters.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "pipeline/decoding.h"

namespace wisp {
namespace {

constexpr int kVocab = 40;
constexpr int kTb = 18;
constexpr int kSampleBegin = 4;

SpecialTokenIds ToyIds() {
  SpecialTokenIds ids;
  ids.n_vocab = kVocab;
  ids.eot = 10;
  ids.sot = 11;
  ids.translate = 12;
  ids.transcribe = 13;
  ids.sot_lm = 14;
  ids.sot_prev = 15;
  ids.no_speech = 16;
  ids.no_timestamps = 17;
  ids.timestamp_begin = kTb;
  return ids;
}

std::vector<int> Context(const std::vector<int>& sampled) {
  std::vector<int> tokens = {15, kTb + 7, 3, 11};
  tokens.insert(tokens.end(), sampled.begin(), sampled.end());
  return tokens;
}

// Text token 0 and eot dominate (logit 10 > log(22) + 0), so rule 5 stays quiet unless a test
// wants it (eot keeps it quiet even when rule 2 has removed the text).
std::vector<float> QuietLogits() {
  std::vector<float> logits(kVocab, 0.0f);
  logits[0] = 10.0f;
  logits[10] = 10.0f;
  return logits;
}

std::set<int> Suppressed(const std::vector<float>& logits) {
  std::set<int> out;
  for (int i = 0; i < kVocab; ++i) {
    if (std::isinf(logits[i]) && logits[i] < 0) out.insert(i);
  }
  return out;
}

std::set<int> Range(int begin, int end) {
  std::set<int> out;
  for (int i = begin; i < end; ++i) out.insert(i);
  return out;
}

std::set<int> Union(std::set<int> a, const std::set<int>& b) {
  a.insert(b.begin(), b.end());
  return a;
}

std::set<int> ApplyRules(const std::vector<int>& sampled, std::vector<float> logits,
                         std::optional<int> max_initial = 5) {
  TimestampRulesFilter filter(ToyIds(), kSampleBegin, max_initial);
  const std::vector<int> tokens = Context(sampled);
  filter.Apply(logits, tokens);
  return Suppressed(logits);
}

TEST(SuppressBlank, OnlyAtTheFirstSampledPosition) {
  SuppressBlankFilter filter({7}, /*eot=*/10, kSampleBegin);
  std::vector<float> logits(kVocab, 0.0f);
  filter.Apply(logits, Context({}));
  EXPECT_EQ(Suppressed(logits), (std::set<int>{7, 10}));
  std::vector<float> later(kVocab, 0.0f);
  filter.Apply(later, Context({kTb}));
  EXPECT_TRUE(Suppressed(later).empty());
}

TEST(SuppressTokens, EveryStep) {
  SuppressTokensFilter filter({2, 5, 16});
  std::vector<float> logits(kVocab, 1.0f);
  filter.Apply(logits, Context({kTb, 1, 2}));
  EXPECT_EQ(Suppressed(logits), (std::set<int>{2, 5, 16}));
}

// Rule 4: at sample_begin, everything below timestamp_begin goes, and timestamps after
// tb + round(1.0 / 0.02)-style index (5 here) too: only <|0.00|>..<|0.10|> remain.
TEST(TimestampRules, FirstTokenIsAnEarlyTimestamp) {
  EXPECT_EQ(ApplyRules({}, QuietLogits()), Union(Range(0, kTb), Range(kTb + 6, kVocab)));
  // Without max_initial_timestamp every timestamp is allowed.
  EXPECT_EQ(ApplyRules({}, QuietLogits(), std::nullopt), Range(0, kTb));
}

// After text: the last timestamp (<|0.00|> at the start) and everything before it are
// forbidden (timestamp_last = last + 1, so segments have nonzero length); <|notimestamps|> always.
TEST(TimestampRules, AfterTextToken) {
  EXPECT_EQ(ApplyRules({kTb, 3}, QuietLogits()), (std::set<int>{17, kTb}));
}

// After text then one timestamp <|0.08|>: no text (ids < eot), and timestamps below it; the same
// timestamp is allowed (it opens the next segment) and so is eot.
TEST(TimestampRules, AfterSingleTimestampClosingASegment) {
  EXPECT_EQ(ApplyRules({kTb, 3, kTb + 4}, QuietLogits()), Union(Range(0, 10), Union({17}, Range(kTb, kTb + 4))));
}

// After a pair: no timestamp at all (text or eot next).
TEST(TimestampRules, AfterTwoTimestamps) {
  EXPECT_EQ(ApplyRules({kTb, 3, kTb + 4, kTb + 4}, QuietLogits()), Union({17}, Range(kTb, kVocab)));
}

// A lone timestamp at sample_begin counts as a pair (penultimate_was_timestamp for len < 2).
TEST(TimestampRules, AfterTheInitialTimestamp) {
  EXPECT_EQ(ApplyRules({kTb + 1}, QuietLogits()), Union({17}, Range(kTb, kVocab)));
}

// Monotonicity looks at the last timestamp anywhere in the sampled tokens: after
// <|0.00|> a <|0.14|><|0.14|> b, the next timestamp must exceed <|0.14|>. The prompt's own
// timestamp (<|0.14|> at index 1) is not what decides it: a sampled <|0.02|> would allow more.
TEST(TimestampRules, MonotonicAfterEarlierPair) {
  EXPECT_EQ(ApplyRules({kTb, 1, kTb + 7, kTb + 7, 2}, QuietLogits()), Union({17}, Range(kTb, kTb + 8)));
  EXPECT_EQ(ApplyRules({kTb + 1, 2}, QuietLogits()), Union({17}, Range(kTb, kTb + 2)));
}

// Rule 5: after <|0.00|> a, 17 and 18 are gone and 21 timestamps (19..39) remain. With all
// logits 0 their log-sum-exp is log(21) + lp(0) > lp(0) = the best text logprob, so every id
// below timestamp_begin (text, eot, specials) is suppressed.
TEST(TimestampRules, TimestampMassOutweighsTextSuppressesText) {
  std::vector<float> flat(kVocab, 0.0f);
  EXPECT_EQ(ApplyRules({kTb, 3}, flat), Range(0, kTb + 1));
  // A text token at 3.0 < log(21) = 3.0445: still outweighed.
  std::vector<float> below = flat;
  below[5] = 3.0f;
  EXPECT_EQ(ApplyRules({kTb, 3}, below), Range(0, kTb + 1));
  // At 3.1 > log(21) the text token wins: only the rules 1-3 suppressions remain.
  std::vector<float> above = flat;
  above[5] = 3.1f;
  EXPECT_EQ(ApplyRules({kTb, 3}, above), (std::set<int>{17, kTb}));
  // eot counts as "text" on the right side of the comparison too.
  std::vector<float> eot_high = flat;
  eot_high[10] = 3.1f;
  EXPECT_EQ(ApplyRules({kTb, 3}, eot_high), (std::set<int>{17, kTb}));
}

TEST(LogSoftmax, Float32Normalised) {
  const std::vector<float> x = {1.0f, 2.0f, 3.0f, -std::numeric_limits<float>::infinity()};
  std::vector<float> y(x.size());
  LogSoftmaxFloat32(x, y.data());
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  EXPECT_NEAR(y[0], 1.0 - lse, 1e-6);
  EXPECT_NEAR(y[2], 3.0 - lse, 1e-6);
  EXPECT_TRUE(std::isinf(y[3]) && y[3] < 0);
}

TEST(ParseSuppressTokens, DefaultAddsNonSpeechAndSpecials) {
  const SpecialTokenIds ids = ToyIds();
  Result<std::vector<int>> r = ParseSuppressTokens("-1", {2, 5}, ids);
  ASSERT_TRUE(r.ok()) << r.status().message();
  // no_timestamps (17) and eot are not among the specials _get_suppress_tokens adds.
  EXPECT_EQ(r.value(), (std::vector<int>{2, 5, 11, 12, 13, 14, 15, 16}));
  r = ParseSuppressTokens(" 7, 5 ,-1,5", {2, 5}, ids);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value(), (std::vector<int>{2, 5, 7, 11, 12, 13, 14, 15, 16}));
  // Explicit ids without -1: the non-speech set is not added.
  r = ParseSuppressTokens("3", {2, 5}, ids);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), (std::vector<int>{3, 11, 12, 13, 14, 15, 16}));
  // Empty: no SuppressTokens filter at all (not even the specials).
  r = ParseSuppressTokens("", {2, 5}, ids);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value().empty());
}

TEST(ParseSuppressTokens, Errors) {
  const SpecialTokenIds ids = ToyIds();
  Result<std::vector<int>> r = ParseSuppressTokens("1,x", {}, ids);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.status().message().find("'x'"), std::string::npos) << r.status().message();
  r = ParseSuppressTokens("40", {}, ids);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("40"), std::string::npos);
  EXPECT_FALSE(ParseSuppressTokens("-2", {}, ids).ok());
  EXPECT_FALSE(ParseSuppressTokens("1,,2", {}, ids).ok());
}

TEST(MaxInitialTimestampIndex, PythonRound) {
  EXPECT_EQ(MaxInitialTimestampIndex(1.0, 1500), 50);           // round(1.0 / 0.02)
  EXPECT_EQ(MaxInitialTimestampIndex(0.01, 1500), 0);           // round(0.5) == 0 (half to even)
  EXPECT_EQ(MaxInitialTimestampIndex(0.03, 1500), 2);           // round(1.5) == 2
  EXPECT_EQ(MaxInitialTimestampIndex(0.0, 1500), std::nullopt);  // falsy: no limit
}

TEST(MakeLogitFilters, OfficialOrderAndSelection) {
  const SpecialTokenIds ids = ToyIds();
  auto all = MakeLogitFilters(ids, kSampleBegin, true, {7}, {2}, false, 50);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_NE(dynamic_cast<SuppressBlankFilter*>(all[0].get()), nullptr);
  EXPECT_NE(dynamic_cast<SuppressTokensFilter*>(all[1].get()), nullptr);
  EXPECT_NE(dynamic_cast<TimestampRulesFilter*>(all[2].get()), nullptr);
  EXPECT_EQ(MakeLogitFilters(ids, kSampleBegin, false, {7}, {}, true, 50).size(), 0u);
}

// The decoding helpers that need no model.
TEST(InitialTokens, PromptIsTruncatedToHalfTheContext) {
  const std::vector<int> sot_sequence = {11, 20, 13};
  EXPECT_EQ(BuildInitialTokens({}, sot_sequence, 15, 448), sot_sequence);
  std::vector<int> prompt(300);
  for (int i = 0; i < 300; ++i) prompt[i] = 1000 + i;
  const std::vector<int> tokens = BuildInitialTokens(prompt, sot_sequence, 15, 448);
  ASSERT_EQ(tokens.size(), 1u + 223u + 3u);  // sot_prev + prompt[-(448 // 2 - 1):] + sot sequence
  EXPECT_EQ(tokens[0], 15);
  EXPECT_EQ(tokens[1], 1000 + 300 - 223);
  EXPECT_EQ(tokens[223], 1299);
  EXPECT_EQ(tokens[224], 11);
}

TEST(SelectNextToken, ArgmaxTakesTheFirstMaximum) {
  const std::vector<float> logits = {1.0f, 3.0f, 3.0f, -2.0f};
  EXPECT_EQ(SelectNextToken(logits, 0.0, nullptr), 1);
}

TEST(SelectNextToken, ArgmaxOfAVocabularyRowEqualsMaxElement) {
  // A vocabulary-sized row goes through the vector maximum: the first of equal maxima, past the
  // vector width and in the tail, -0 beside +0, -inf rows, and a NaN (max_element's answer).
  const float neg_inf = -std::numeric_limits<float>::infinity();
  std::vector<float> logits(51864);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>((i * 7919) % 1000) * 0.01f - 5.0f;
  logits[30001] = 9.5f;
  logits[40002] = 9.5f;
  auto reference = [&] { return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin()); };
  EXPECT_EQ(SelectNextToken(logits, 0.0, nullptr), 30001);
  logits[51863] = 11.0f;  // the last element, outside any whole vector
  EXPECT_EQ(SelectNextToken(logits, 0.0, nullptr), 51863);
  std::fill(logits.begin(), logits.end(), neg_inf);
  EXPECT_EQ(SelectNextToken(logits, 0.0, nullptr), 0);
  logits[17] = -0.0f;
  logits[18] = 0.0f;
  EXPECT_EQ(SelectNextToken(logits, 0.0, nullptr), 17);
  logits[5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(SelectNextToken(logits, 0.0, nullptr), reference());
}

TEST(SelectNextToken, SamplingFollowsTheTemperedSoftmax) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  // p = softmax([0, log 3] / 1) = [0.25, 0.75]; the -inf tokens are never drawn.
  const std::vector<float> logits = {neg_inf, 0.0f, static_cast<float>(std::log(3.0)), neg_inf};
  std::mt19937_64 rng(1234);
  int counts[4] = {0, 0, 0, 0};
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++counts[SelectNextToken(logits, 1.0, &rng)];
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[3], 0);
  EXPECT_NEAR(counts[2] / static_cast<double>(n), 0.75, 0.02);
  // At T = 0.5 the odds square: 9:1.
  int high = 0;
  for (int i = 0; i < n; ++i) high += SelectNextToken(logits, 0.5, &rng) == 2;
  EXPECT_NEAR(high / static_cast<double>(n), 0.9, 0.02);
}

}  // namespace
}  // namespace wisp
