// timing.py's pieces against openai-whisper's own answers on crafted inputs
// (testdata/word_timing_expected.json, written by tools/golden/make_word_timing_expected.py):
// median filter and DTW bit for bit, word splitting and punctuation merging exactly, the
// add_word_timestamps heuristics to the last bit of every time, and find_alignment on a
// stand-in model whose scores and logits both sides compute from the same formulas.
#include "pipeline/word_timestamps.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

namespace wisp {
namespace {

using nlohmann::json;

const std::string kData = WISP_SHARED_DATA_DIR;

const json& Expected() {
  static const json j = [] {
    std::ifstream in(std::string(WISP_PIPELINE_TESTDATA_DIR) + "/word_timing_expected.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str());
  }();
  return j;
}

// The .en and the multilingual tokenizer from the shared tiktoken files (null when absent).
const Tokenizer* GetTokenizer(bool multilingual) {
  static const auto load = [](const char* file, int n_vocab) -> std::unique_ptr<Tokenizer> {
    Result<Tokenizer> t = Tokenizer::FromTiktokenFile(kData + "/" + file, n_vocab);
    return t.ok() ? std::make_unique<Tokenizer>(std::move(t.value())) : nullptr;
  };
  static const std::unique_ptr<Tokenizer> en = load("gpt2.tiktoken", 51864);
  static const std::unique_ptr<Tokenizer> multi = load("multilingual.tiktoken", 51865);
  return multilingual ? multi.get() : en.get();
}

#define REQUIRE_TOKENIZERS()                                                                      \
  if (GetTokenizer(false) == nullptr || GetTokenizer(true) == nullptr)                            \
  GTEST_SKIP() << "gpt2.tiktoken / multilingual.tiktoken not found in " << kData

TEST(WordTimestamps, MedianFilterMatchesOfficial) {
  for (const json& c : Expected()["median_filter"]) {
    const std::vector<int64_t> shape = c["shape"];
    const std::vector<float> x = c["x"], want = c["y"];
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < shape.size(); ++i) rows *= shape[i];
    EXPECT_EQ(MedianFilter(x, rows, shape.back(), c["filter_width"]), want) << c["shape"].dump();
  }
}

// Width 7 without NaN runs a sorting network (kernels::Median7); its medians must be nth_element's
// on rows with many ties, every tail length of the 8-lane blocks, and rows holding a NaN (which
// take the nth_element path) beside rows that do not.
TEST(WordTimestamps, MedianFilterNetworkEqualsSelection) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> level(-6, 6);
  for (int64_t width : {4, 7, 8, 9, 15, 16, 17, 1500}) {
    const int64_t rows = 3;
    std::vector<float> x(rows * width);
    for (float& v : x) v = level(rng) * 0.25f;
    if (width > 8) x[width + 5] = std::nanf("");  // row 1
    std::vector<float> want(x);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t t = 0; t < width; ++t) {
        std::vector<float> w;
        for (int64_t i = t - 3; i <= t + 3; ++i) {
          int64_t j = i < 0 ? -i : i;
          if (j >= width) j = 2 * (width - 1) - j;
          w.push_back(x[r * width + j]);
        }
        std::nth_element(w.begin(), w.begin() + 3, w.end(),
                         [](float a, float b) { return std::isnan(b) ? !std::isnan(a) : a < b; });
        want[r * width + t] = w[3];
      }
    }
    const std::vector<float> got = MedianFilter(x, rows, width, 7);
    for (size_t i = 0; i < x.size(); ++i) {
      if (std::isnan(want[i])) {
        EXPECT_TRUE(std::isnan(got[i])) << width << " " << i;
      } else {
        EXPECT_EQ(got[i], want[i]) << width << " " << i;
      }
    }
  }
}

TEST(WordTimestamps, DtwMatchesOfficialIncludingTies) {
  for (const json& c : Expected()["dtw"]) {
    const std::vector<double> x = c["x"];
    const DtwPath path = Dtw(x, c["n"], c["m"]);
    EXPECT_EQ(path.text_indices, c["text_indices"].get<std::vector<int>>()) << c["n"] << "x" << c["m"];
    EXPECT_EQ(path.time_indices, c["time_indices"].get<std::vector<int>>()) << c["n"] << "x" << c["m"];
  }
}

TEST(WordTimestamps, SplitToWordTokensMatchesOfficial) {
  REQUIRE_TOKENIZERS();
  for (const json& c : Expected()["split"]) {
    const Tokenizer& tok = *GetTokenizer(c["multilingual"]);
    const WordSplit split = SplitToWordTokens(tok, c["tokens"].get<std::vector<int>>(), c["language"].get<std::string>());
    EXPECT_EQ(split.words, c["words"].get<std::vector<std::string>>()) << c["tokens"].dump();
    EXPECT_EQ(split.word_tokens, c["word_tokens"].get<std::vector<std::vector<int>>>());
  }
}

TEST(WordTimestamps, MergePunctuationsMatchesOfficial) {
  for (const json& c : Expected()["merge"]) {
    std::vector<WordTiming> alignment;
    for (const json& w : c["in"]) alignment.push_back({w["word"], w["tokens"].get<std::vector<int>>()});
    MergePunctuations(&alignment, kDefaultPrependPunctuations, kDefaultAppendPunctuations);
    ASSERT_EQ(alignment.size(), c["out"].size());
    for (size_t i = 0; i < alignment.size(); ++i) {
      EXPECT_EQ(alignment[i].word, c["out"][i]["word"].get<std::string>()) << c["in"].dump();
      EXPECT_EQ(alignment[i].tokens, c["out"][i]["tokens"].get<std::vector<int>>()) << c["in"].dump();
    }
  }
}

TEST(WordTimestamps, HeuristicsMatchOfficialAddWordTimestamps) {
  int words_seen = 0, int_starts = 0;
  for (const json& c : Expected()["add_words"]) {
    std::vector<WordTiming> alignment;
    for (const json& w : c["alignment"]) {
      alignment.push_back({w["word"], w["tokens"].get<std::vector<int>>(), w["start"], w["end"], w["probability"]});
    }
    std::vector<Segment> segments;
    for (const json& s : c["segments_in"]) {
      Segment seg;
      seg.seek = s["seek"];
      seg.start = s["start"];
      seg.end = s["end"];
      seg.tokens = s["tokens"].get<std::vector<int>>();
      segments.push_back(seg);
    }
    ApplyWordAlignment(alignment, segments, /*eot=*/50256, c["last_speech_timestamp"], kDefaultPrependPunctuations,
                       kDefaultAppendPunctuations);
    const json& out = c["segments_out"];
    ASSERT_EQ(segments.size(), out.size());
    for (size_t s = 0; s < segments.size(); ++s) {
      const std::string where = c["alignment"].dump() + " segment " + std::to_string(s);
      EXPECT_EQ(segments[s].start, out[s]["start"].get<double>()) << where;
      EXPECT_EQ(segments[s].end, out[s]["end"].get<double>()) << where;
      ASSERT_EQ(segments[s].words.size(), out[s]["words"].size()) << where;
      for (size_t w = 0; w < segments[s].words.size(); ++w) {
        const Word& got = segments[s].words[w];
        const json& want = out[s]["words"][w];
        EXPECT_EQ(got.word, want["word"].get<std::string>()) << where;
        EXPECT_EQ(got.start, want["start"].get<double>()) << where << " word " << w;
        EXPECT_EQ(got.end, want["end"].get<double>()) << where << " word " << w;
        EXPECT_EQ(got.probability, want["probability"].get<double>()) << where;
        EXPECT_EQ(got.start_is_int_zero, want["start_is_int"].get<bool>()) << where;
        ++words_seen;
        int_starts += got.start_is_int_zero;
      }
    }
  }
  EXPECT_GT(words_seen, 100);
  EXPECT_GE(int_starts, 1);
}

// The stand-in model of make_word_timing_expected.py (score / logit there), in float32.
float StandInScore(int64_t h, int64_t i, int64_t t, double slope) {
  const double noise = static_cast<double>(((h * 73856093) ^ (i * 19349663) ^ (t * 83492791)) % 1000) / 1000.0;
  return static_cast<float>(-std::abs(static_cast<double>(t) - slope * static_cast<double>(i)) / (2.0 + h) +
                            0.5 * noise);
}

TEST(WordTimestamps, FindAlignmentMatchesOfficialOnStandInModel) {
  REQUIRE_TOKENIZERS();
  for (const json& c : Expected()["find_alignment"]) {
    const bool multilingual = c["multilingual"];
    const Tokenizer& tok = *GetTokenizer(multilingual);
    const std::string language = c["language"];
    const std::vector<int> text = c["text_tokens"], sot = c["sot_sequence"];
    EXPECT_EQ(tok.SotSequence(language.empty() ? "en" : language, "transcribe"), sot);
    const int n_head = c["n_head"], n_ctx = c["n_ctx"], n_vocab = tok.n_vocab();
    const int n_tok = static_cast<int>(sot.size() + 2 + text.size());
    const std::vector<std::pair<int, int>> heads = c["heads"];
    std::vector<float> scores;
    for (auto [l, h] : heads) {
      for (int i = 0; i < n_tok; ++i) {
        for (int t = 0; t < n_ctx; ++t) scores.push_back(StandInScore(l * n_head + h, i, t, c["slope"]));
      }
    }
    std::vector<float> logits(static_cast<size_t>(n_tok) * n_vocab);
    for (int64_t i = 0; i < n_tok; ++i) {
      for (int64_t v = 0; v < n_vocab; ++v) {
        logits[i * n_vocab + v] = static_cast<float>(static_cast<double>((i * 7919 + v * 104729) % 1000) / 100.0);
      }
    }
    const std::vector<double> probs =
        TextTokenProbabilities(logits, n_vocab, static_cast<int>(sot.size()), text, tok.eot());
    const std::vector<WordTiming> got =
        FindAlignmentFromScores(scores, static_cast<int>(heads.size()), n_ctx, static_cast<int>(sot.size()), text,
                                probs, c["num_frames"], tok, language);
    ASSERT_EQ(got.size(), c["words"].size()) << c["text_tokens"].dump();
    for (size_t w = 0; w < got.size(); ++w) {
      const json& want = c["words"][w];
      EXPECT_EQ(got[w].word, want["word"].get<std::string>());
      EXPECT_EQ(got[w].tokens, want["tokens"].get<std::vector<int>>());
      EXPECT_EQ(got[w].start, want["start"].get<double>()) << got[w].word;
      EXPECT_EQ(got[w].end, want["end"].get<double>()) << got[w].word;
      // torch's float32 softmax (a float32 sum over 50k terms: ~1e-6 relative) against a double
      // one rounded to float32.
      EXPECT_NEAR(got[w].probability, want["probability"].get<double>(), 1e-5 * want["probability"].get<double>())
          << got[w].word;
    }
  }
}

TEST(WordTimestamps, NoTextTokensGiveNoWords) {
  REQUIRE_TOKENIZERS();
  EXPECT_TRUE(FindAlignmentFromScores({}, 1, 10, 1, {}, {}, 20, *GetTokenizer(false), "en").empty());
  std::vector<Segment> segments(2);
  segments[0].start = 1.0, segments[0].end = 2.0;
  ApplyWordAlignment({}, segments, 50256, 0.0, kDefaultPrependPunctuations, kDefaultAppendPunctuations);
  EXPECT_TRUE(segments[0].words.empty());
  EXPECT_EQ(segments[0].start, 1.0);
  EXPECT_EQ(LastWordEnd(segments), 0.0);  // the last segment's end
  segments[0].words.push_back({" a", 1.0, 1.5, 0.9});
  EXPECT_EQ(LastWordEnd(segments), 1.5);
  EXPECT_EQ(LastWordEnd(std::span<const Segment>()), std::nullopt);
}

HParams Dims(int state, int layers, int heads, int vocab) {
  HParams hp;
  hp.n_text_state = state, hp.n_text_layer = layers, hp.n_text_head = heads, hp.n_vocab = vocab;
  return hp;
}

TEST(WordTimestamps, AlignmentHeadsFromMetadataTableOrDefault) {
  using Heads = std::vector<std::pair<int, int>>;
  EXPECT_EQ(PublishedAlignmentHeads(Dims(384, 4, 6, 51864)),
            (Heads{{1, 0}, {2, 0}, {2, 5}, {3, 0}, {3, 1}, {3, 2}, {3, 3}, {3, 4}}));
  EXPECT_EQ(PublishedAlignmentHeads(Dims(1280, 4, 20, 51866)), (Heads{{2, 4}, {2, 11}, {3, 3}, {3, 6}, {3, 11}, {3, 14}}));
  EXPECT_TRUE(PublishedAlignmentHeads(Dims(1280, 32, 20, 51865)).empty()) << "large-v1 and v2 share their dims";
  EXPECT_EQ(PublishedAlignmentHeads(Dims(1280, 32, 20, 51866)).size(), 10u);
  EXPECT_EQ(DefaultAlignmentHeads(Dims(64, 3, 2, 51864)), (Heads{{1, 0}, {1, 1}, {2, 0}, {2, 1}}));
  ModelMetadata meta;
  EXPECT_EQ(ResolveAlignmentHeads(meta, Dims(1280, 32, 20, 51865)).size(), 16u * 20u);
  EXPECT_EQ(ResolveAlignmentHeads(meta, Dims(384, 4, 6, 51864)).size(), 8u);
  meta.alignment_heads = {{0, 1}};
  EXPECT_EQ(ResolveAlignmentHeads(meta, Dims(384, 4, 6, 51864)), (Heads{{0, 1}}));
}

}  // namespace
}  // namespace wisp
