// The tokenizer against openai-whisper's own answers (testdata/tokenizer_expected.txt, written
// by tools/tokenizer/make_expected.py with python-tiktoken), plus error paths, robustness on
// arbitrary bytes, the ggml-vocab path and speed.
#include "pipeline/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

namespace wisp {
namespace {

const std::string kData = WISP_SHARED_DATA_DIR;
const std::string kExpected = std::string(WISP_PIPELINE_TESTDATA_DIR) + "/tokenizer_expected.txt";

bool Exists(const std::string& path) { return std::ifstream(path).good(); }

std::vector<std::string> SplitTabs(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string f;
  while (std::getline(ss, f, '\t')) out.push_back(f);
  if (!line.empty() && line.back() == '\t') out.emplace_back();
  return out;
}

std::vector<int> ParseIds(const std::string& s) {
  std::vector<int> ids;
  std::stringstream ss(s);
  int v;
  while (ss >> v) ids.push_back(v);
  return ids;
}

std::string Unhex(const std::string& h) {
  if (h == "-") return "";
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

struct Expected {
  std::map<std::string, std::vector<std::vector<std::string>>> by_key;  // key -> records
};

Expected LoadExpected() {
  Expected e;
  std::ifstream in(kExpected);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto f = SplitTabs(line);
    if (f.size() >= 2) e.by_key[f[1]].push_back(f);
  }
  return e;
}

int NVocabOf(const std::string& key) { return key == "en" ? 51864 : key == "multi" ? 51865 : 51866; }
std::string FileOf(const std::string& key) {
  return kData + (key == "en" ? "/gpt2.tiktoken" : "/multilingual.tiktoken");
}

#define SKIP_WITHOUT(path)                                                           \
  if (!Exists(path)) {                                                               \
    GTEST_SKIP() << "shared data missing: " << (path)                                \
                 << " (tokenizer tests need ../shared/data next to the repo)";       \
  }

class TokenizerVsPython : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerVsPython, MatchesOpenaiWhisper) {
  const std::string key = GetParam();
  SKIP_WITHOUT(FileOf(key));
  ASSERT_TRUE(Exists(kExpected)) << kExpected;
  auto tok_or = Tokenizer::FromTiktokenFile(FileOf(key), NVocabOf(key));
  ASSERT_TRUE(tok_or.ok()) << tok_or.status().message();
  const Tokenizer& tok = tok_or.value();
  const Expected e = LoadExpected();
  const auto& recs = e.by_key.at(key);
  const std::map<std::string, int> named = {
      {"eot", tok.eot()}, {"sot", tok.sot()}, {"translate", tok.translate()},
      {"transcribe", tok.transcribe()}, {"sot_lm", tok.sot_lm()}, {"sot_prev", tok.sot_prev()},
      {"no_speech", tok.no_speech()}, {"no_timestamps", tok.no_timestamps()},
      {"timestamp_begin", tok.timestamp_begin()}};
  int n_encode = 0, n_special = 0;
  for (const auto& f : recs) {
    const std::string& kind = f[0];
    if (kind == "vocab") {
      EXPECT_EQ(tok.n_vocab(), std::stoi(f[2]));
      EXPECT_EQ(tok.multilingual(), f[3] == "1");
      EXPECT_EQ(tok.num_languages(), std::stoi(f[4]));
      EXPECT_EQ(static_cast<int>(tok.AllLanguageTokens().size()), std::stoi(f[4]));
    } else if (kind == "special") {
      ++n_special;
      const int id = std::stoi(f[3]);
      if (named.count(f[2])) {
        EXPECT_EQ(named.at(f[2]), id) << f[2];
      } else {
        EXPECT_EQ(tok.TokenText(id), f[2]) << id;
        if (f[2].size() <= 7 && f[2].find('.') == std::string::npos) {  // a language token
          const std::string code = f[2].substr(2, f[2].size() - 4);
          EXPECT_EQ(tok.LanguageToken(code), id) << code;
          EXPECT_EQ(tok.LanguageCode(id), code);
        }
      }
    } else if (kind == "nonspeech") {
      EXPECT_EQ(tok.NonSpeechTokens(), ParseIds(f[2]));
    } else if (kind == "sot") {
      const std::string lang = f[2] == "-" ? "" : f[2], task = f[3] == "-" ? "" : f[3];
      EXPECT_EQ(tok.SotSequence(lang, task), ParseIds(f[4])) << lang << " " << task;
    } else if (kind == "encode") {
      ++n_encode;
      const std::string text = Unhex(f[2]);
      const std::vector<int> ids = tok.Encode(text);
      EXPECT_EQ(ids, ParseIds(f.size() > 3 ? f[3] : "")) << "text hex " << f[2];
      EXPECT_EQ(tok.Decode(ids), text) << "round trip, hex " << f[2];
    } else if (kind == "decode") {
      const std::vector<int> ids = ParseIds(f[2]);
      EXPECT_EQ(tok.DecodeWithSpecials(ids), Unhex(f[3]));
      EXPECT_EQ(tok.DecodeWithTimestamps(ids), Unhex(f[4]));
      std::vector<int> text_only;
      for (int t : ids)
        if (t < tok.eot()) text_only.push_back(t);
      EXPECT_EQ(tok.Decode(ids), tok.DecodeWithSpecials(text_only));
    }
  }
  EXPECT_GE(n_special, 9);
  if (key != "v3") {
    EXPECT_GE(n_encode, 150);
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabs, TokenizerVsPython, ::testing::Values("en", "multi", "v3"));

// The vocab of a whisper.cpp ggml file (header layout in the brief of this test's data).
std::vector<std::string> ReadGgmlVocab(const std::string& path, int* n_vocab) {
  std::ifstream in(path, std::ios::binary);
  auto rd = [&](void* p, size_t n) { in.read(static_cast<char*>(p), static_cast<std::streamsize>(n)); };
  uint32_t magic = 0;
  int32_t hp[11] = {}, n_mel = 0, n_fft = 0, n_tok = 0;
  rd(&magic, 4);
  rd(hp, sizeof hp);
  rd(&n_mel, 4);
  rd(&n_fft, 4);
  in.seekg(static_cast<std::streamoff>(n_mel) * n_fft * 4, std::ios::cur);
  rd(&n_tok, 4);
  std::vector<std::string> vocab;
  if (!in || magic != 0x67676d6c) return vocab;
  *n_vocab = hp[0];
  for (int i = 0; i < n_tok && in; ++i) {
    uint32_t len = 0;
    rd(&len, 4);
    std::string s(len, '\0');
    rd(s.data(), len);
    vocab.push_back(std::move(s));
  }
  return vocab;
}

class GgmlVocab : public ::testing::TestWithParam<std::string> {};

TEST_P(GgmlVocab, AgreesWithTiktokenOnSpecialsAndAscii) {
  const std::string model = kData + "/for-tests-ggml-" + GetParam() + ".bin";
  SKIP_WITHOUT(model);
  int n_vocab = 0;
  const auto vocab = ReadGgmlVocab(model, &n_vocab);
  ASSERT_GT(vocab.size(), 50000u) << model;
  const std::string key = n_vocab == 51864 ? "en" : "multi";
  SKIP_WITHOUT(FileOf(key));
  auto g = Tokenizer::FromGgmlVocab(vocab, n_vocab);
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto t = Tokenizer::FromTiktokenFile(FileOf(key), n_vocab);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(g->multilingual(), t->multilingual());
  EXPECT_EQ(g->eot(), t->eot());
  EXPECT_EQ(g->sot(), t->sot());
  EXPECT_EQ(g->transcribe(), t->transcribe());
  EXPECT_EQ(g->no_timestamps(), t->no_timestamps());
  EXPECT_EQ(g->timestamp_begin(), t->timestamp_begin());
  EXPECT_EQ(g->LanguageToken("de"), t->LanguageToken("de"));
  // openai-whisper's suppress_tokens="-1" set, exactly (from the committed table; computing it
  // from this vocab would wrongly give 220 " " and 158, as the "\xE2\x99" prefixes are lost).
  EXPECT_EQ(g->NonSpeechTokens(), t->NonSpeechTokens());
  const std::vector<int> ns = g->NonSpeechTokens();
  EXPECT_EQ(std::count(ns.begin(), ns.end(), 220), 0);
  EXPECT_EQ(std::count(ns.begin(), ns.end(), 158), 0);
  // Every token the vocab kept (or that was restored) has tiktoken's bytes; the others are the
  // U+FFFD forms: 344 / 1476 lost by the converter, minus 128 single bytes and the two
  // musical-symbol prefixes restored.
  EXPECT_EQ(g->lost_tokens(), n_vocab == 51864 ? 344 - 130 : 1476 - 130);
  EXPECT_EQ(t->lost_tokens(), 0);
  int same = 0;
  for (int id = 0; id < t->eot(); ++id) same += g->TokenText(id) == t->TokenText(id);
  EXPECT_EQ(same, t->eot() - g->lost_tokens());
  EXPECT_EQ(g->TokenText(n_vocab == 51864 ? 17992 : 3268), "\xE2\x99");
  // Genuine U+FFFD tokens keep their ids although lost tokens are stored with the same bytes.
  for (const char* s : {"\xEF\xBF\xBD", " \xEF\xBF\xBD", ".\xEF\xBF\xBD"}) {
    EXPECT_EQ(g->Encode(s), t->Encode(s)) << s;
  }
  // Every ASCII text of the python expectations encodes identically.
  int n_ascii = 0;
  const Expected expected = LoadExpected();
  for (const auto& f : expected.by_key.at(key)) {
    if (f[0] != "encode") continue;
    const std::string text = Unhex(f[2]);
    if (!std::all_of(text.begin(), text.end(), [](char c) { return (c & 0x80) == 0; })) continue;
    ++n_ascii;
    EXPECT_EQ(g->Encode(text), ParseIds(f.size() > 3 ? f[3] : "")) << text;
  }
  EXPECT_GE(n_ascii, 30);
  // Restored single bytes: the high bytes are stored as U+FFFD in these files.
  EXPECT_EQ(g->TokenText(94), std::string("\xA1"));
  const std::string bytes = "\xA1\xFF\x80 \xC3";
  EXPECT_EQ(g->Decode(g->Encode(bytes)), bytes);
}

INSTANTIATE_TEST_SUITE_P(Files, GgmlVocab, ::testing::Values("tiny", "tiny.en", "base", "base.en"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '.', '_');
                           return n;
                         });

// A vocab that is not openai-whisper's (one table token changed) gets the set computed from its
// own ranks rather than the table.
TEST(GgmlVocab, UnknownVocabComputesNonSpeechTokens) {
  const std::string model = kData + "/for-tests-ggml-tiny.en.bin";
  SKIP_WITHOUT(model);
  int n_vocab = 0;
  auto vocab = ReadGgmlVocab(model, &n_vocab);
  ASSERT_EQ(n_vocab, 51864);
  auto known = Tokenizer::FromGgmlVocab(vocab, n_vocab);
  ASSERT_TRUE(known.ok());
  ASSERT_EQ(vocab[4210], "\xEF\xBF\xBD");  // a genuine U+FFFD token of gpt2
  vocab[4210] = "not the replacement character";
  auto other = Tokenizer::FromGgmlVocab(vocab, n_vocab);
  ASSERT_TRUE(other.ok()) << other.status().message();
  const std::vector<int> ns = other->NonSpeechTokens();
  EXPECT_NE(ns, known->NonSpeechTokens());
  EXPECT_EQ(std::count(ns.begin(), ns.end(), 220), 1);  // the lost " \xE2\x99" prefix
  EXPECT_GT(other->lost_tokens(), 0);
}

TEST(GgmlVocab, TooShortIsAnError) {
  auto r = Tokenizer::FromGgmlVocab(std::vector<std::string>(1000, "x"), 51865);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("1000 tokens"), std::string::npos) << r.status().message();
}

TEST(Tokenizer, SpecialLayoutAndText) {
  SKIP_WITHOUT(FileOf("multi"));
  auto t = Tokenizer::FromTiktokenFile(FileOf("multi"), 51865);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->eot(), 50257);
  EXPECT_EQ(t->sot(), 50258);
  EXPECT_EQ(t->timestamp_begin(), 50364);
  EXPECT_EQ(t->TokenText(t->eot()), "<|endoftext|>");
  EXPECT_EQ(t->TokenText(t->sot()), "<|startoftranscript|>");
  EXPECT_EQ(t->TokenText(t->no_timestamps()), "<|notimestamps|>");
  EXPECT_EQ(t->TokenText(t->sot() + 1), "<|en|>");
  EXPECT_EQ(t->TokenText(t->timestamp_begin() + 1500), "<|30.00|>");
  EXPECT_EQ(t->TokenText(-1), "");
  EXPECT_EQ(t->TokenText(51865), "");
  EXPECT_EQ(t->LanguageToken("yue"), -1);  // only large-v3 has the 100th language
  EXPECT_EQ(t->LanguageToken("xx"), -1);
  EXPECT_EQ(t->LanguageCode(t->sot()), "");
  EXPECT_TRUE(t->SotSequence("xx", "transcribe").empty());
  EXPECT_TRUE(t->SotSequence("en", "dance").empty());
  EXPECT_EQ(t->SotSequence("", ""), (std::vector<int>{50258, 50259, 50359}));
  // Out-of-range ids are ignored rather than read out of bounds.
  const int hello = t->Encode("Hello")[0];
  EXPECT_EQ(t->Decode({-5, hello, 100000, t->eot()}), "Hello");
}

TEST(Tokenizer, ArbitraryBytesRoundTrip) {
  SKIP_WITHOUT(FileOf("multi"));
  auto t = Tokenizer::FromTiktokenFile(FileOf("multi"), 51865);
  ASSERT_TRUE(t.ok());
  std::mt19937 rng(7);
  for (int iter = 0; iter < 2000; ++iter) {
    std::string s(rng() % 64, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 4 == 0 ? rng() % 256 : 0x80 + rng() % 64);
    const auto ids = t->Encode(s);
    for (int id : ids) ASSERT_TRUE(id >= 0 && id < t->eot());
    ASSERT_EQ(t->Decode(ids), s);
  }
  // Malformed sequences: truncated, overlong, surrogate, beyond U+10FFFF, lone continuation.
  for (const char* s : {"\xE2\x82", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\x80 a\xBF",
                        " \xFF\xFE 's", "\xF0\x9F\x98"}) {
    EXPECT_EQ(t->Decode(t->Encode(s)), s);
  }
}

TEST(Tokenizer, EncodesTenKilobytesInMilliseconds) {
  SKIP_WITHOUT(FileOf("en"));
  auto t = Tokenizer::FromTiktokenFile(FileOf("en"), 51864);
  ASSERT_TRUE(t.ok());
  std::string text;
  while (text.size() < 10000)
    text += "And so, my fellow Americans: ask not what your country can do for you — ask what "
            "you can do for your country. 1961! ";
  text += std::string(2000, 'z');  // one long piece: BPE must not be quadratic-slow
  const auto start = std::chrono::steady_clock::now();
  const auto ids = t->Encode(text);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(t->Decode(ids), text);
  EXPECT_LT(ms, 250.0) << "encoding 12 kB took " << ms << " ms";
}

TEST(TiktokenParse, ReportsTheProblemAndLine) {
  std::string good;
  static const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int b = 0; b < 256; ++b) {  // base64 of one byte: two symbols and "=="
    good += kB64[b >> 2];
    good += kB64[(b & 3) << 4];
    good += "== " + std::to_string(b) + "\n";
  }
  auto ok = ParseTiktokenRanks(good);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  ASSERT_EQ(ok->size(), 256u);
  EXPECT_EQ((*ok)[65], "A");

  auto expect_error = [&](const std::string& contents, const std::string& needle) {
    auto r = ParseTiktokenRanks(contents);
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_EQ(r.status().kind(), ErrorKind::kBadInput);
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  };
  expect_error("", "empty");
  expect_error(good + "QQ== 256\nQ!== 257\n", "line 258: bad base64");
  expect_error(good + "QUI= x1\n", "line 257: rank is not a non-negative integer");
  expect_error(good + "QUI= -1\n", "line 257: rank is not");
  expect_error(good + "QUI=\n", "line 257: expected `base64 rank`");
  expect_error(good + "\nQUI= 256\n", "line 257: expected");
  expect_error(good + "QUI 256\n", "line 257: bad base64");
  // Padding alone is python's empty token (multilingual.tiktoken has one at rank 50256).
  auto with_empty = ParseTiktokenRanks(good + "= 256\n");
  ASSERT_TRUE(with_empty.ok()) << with_empty.status().message();
  EXPECT_EQ(with_empty->back(), "");
  expect_error(good + "QUI= 300\n", "line 257: rank 300 outside 0..256");
  expect_error(good + "QUI= 5\n", "line 257: rank 5 repeats line 6");
  expect_error(good + "QQ== 256\n", "token repeats");
  expect_error(good.substr(good.find('\n') + 1), "line 255: rank 255 outside 0..254");  // drops byte 0's line
  // Dense ranks but no token for byte 0x00: every byte needs a rank to encode any input.
  std::string no_zero = good.substr(good.find('\n') + 1) + "QUI= 0\n";
  expect_error(no_zero, "no token for the byte 0x00");
}

TEST(TiktokenFile, CountMustMatchNVocab) {
  auto missing = Tokenizer::FromTiktokenFile("/nonexistent/gpt2.tiktoken", 51864);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/gpt2.tiktoken"), std::string::npos);
  SKIP_WITHOUT(FileOf("en"));
  auto wrong = Tokenizer::FromTiktokenFile(FileOf("en"), 51865);  // gpt2 ranks, multilingual size
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("needs 50257 ordinary tokens"), std::string::npos)
      << wrong.status().message();
  auto silly = Tokenizer::FromTiktokenFile(FileOf("en"), 1000);
  ASSERT_FALSE(silly.ok());
  EXPECT_EQ(silly.status().kind(), ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace wisp
