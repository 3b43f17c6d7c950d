// `wisp serve`'s timestamp_granularities[]=word, word by word: the verbose_json "words" list is
// the library's word timestamps (TranscribeFile with word_timestamps, as `wisp transcribe
// --word_timestamps True` computes them) flattened over the segments, each word without its
// leading space as OpenAI's API gives it, with the exact start and end; the segments are the
// word run's (word timestamps move segment ends). Both random-weight models of server_fixture.h:
// tiny.en, and tiny in German. And the `wisp transcribe` json file of the same run has the same
// words. Without "word" there is no "words" key.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pipeline/text_metrics.h"
#include "server_fixture.h"

namespace {

using namespace server_fixture;  // NOLINT: the shared helpers of the server tests

// The words a verbose_json response must list for this result.
Json ExpectedWords(const wisp::TranscriptionResult& result) {
  Json words = Json::array();
  for (const wisp::Segment& s : result.segments) {
    for (const wisp::Word& w : s.words) {
      std::string word = wisp::ReplaceInvalidUtf8(w.word);
      word.erase(0, word.find_first_not_of(' '));
      words.push_back(Json{{"word", word}, {"start", w.start}, {"end", w.end}});
    }
  }
  return words;
}

void ExpectWordsResponse(const httplib::Result& r, const wisp::TranscriptionResult& expected) {
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  ASSERT_EQ(r->status, 200) << r->body;
  const Json v = Json::parse(r->body);
  EXPECT_EQ(v["text"], wisp::ReplaceInvalidUtf8(expected.text));
  ASSERT_TRUE(v.contains("words")) << r->body;
  const Json want = ExpectedWords(expected);
  ASSERT_GT(want.size(), 3u) << "the model gave too few words to test";
  ASSERT_EQ(v["words"].size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const Json& got = v["words"][i];
    EXPECT_EQ(got.size(), 3u) << got;
    EXPECT_EQ(got["word"], want[i]["word"]) << i;
    // Exact doubles: the same rounding (timing.py's round(x, 2)) on the same numbers.
    EXPECT_EQ(got["start"].get<double>(), want[i]["start"].get<double>()) << i << " " << got["word"];
    EXPECT_EQ(got["end"].get<double>(), want[i]["end"].get<double>()) << i << " " << got["word"];
  }
  ASSERT_EQ(v["segments"].size(), expected.segments.size());
  for (size_t i = 0; i < expected.segments.size(); ++i) {
    EXPECT_EQ(v["segments"][i]["start"].get<double>(), expected.segments[i].start) << i;
    EXPECT_EQ(v["segments"][i]["end"].get<double>(), expected.segments[i].end) << i;
    EXPECT_EQ(v["segments"][i]["tokens"].get<std::vector<int>>(), expected.segments[i].tokens) << i;
  }
}

TEST_F(ServerTest, WordGranularityListsTheLibraryWords) {
  RunningServer server({});
  httplib::Client client = server.Client();
  const std::string audio = Slurp(kJfk);
  const std::string path = "/v1/audio/transcriptions";

  const wisp::TranscriptionResult en = LibraryResult(*SharedModels()->en, kJfk, "transcribe", "en", true);
  ExpectWordsResponse(client.Post(path, Form(audio, "jfk.wav",
                                             {{"model", "tiny.en"},
                                              {"response_format", "verbose_json"},
                                              {"timestamp_granularities[]", "word"}})),
                      en);
  // Both granularities, as the openai client sends a list: still the words.
  ExpectWordsResponse(client.Post(path, Form(audio, "jfk.wav",
                                             {{"response_format", "verbose_json"},
                                              {"timestamp_granularities[]", "segment"},
                                              {"timestamp_granularities[]", "word"}})),
                      en);
  const wisp::TranscriptionResult de = LibraryResult(*SharedModels()->multi, kJfk, "transcribe", "de", true);
  ExpectWordsResponse(client.Post(path, Form(audio, "jfk.wav",
                                             {{"model", "tiny"},
                                              {"language", "de"},
                                              {"response_format", "verbose_json"},
                                              {"timestamp_granularities[]", "word"}})),
                      de);

  // Segment granularity alone: no words, and the segments of a run without word timestamps.
  auto segments = client.Post(path, Form(audio, "jfk.wav",
                                         {{"response_format", "verbose_json"}, {"timestamp_granularities[]", "segment"}}));
  ASSERT_TRUE(segments);
  ASSERT_EQ(segments->status, 200) << segments->body;
  const Json s = Json::parse(segments->body);
  EXPECT_FALSE(s.contains("words"));
  const wisp::TranscriptionResult plain = LibraryResult(*SharedModels()->en, kJfk);
  ASSERT_EQ(s["segments"].size(), plain.segments.size());
  for (size_t i = 0; i < plain.segments.size(); ++i) {
    EXPECT_EQ(s["segments"][i]["end"].get<double>(), plain.segments[i].end) << i;
  }
}

// The words equal those `wisp transcribe --word_timestamps True -f json` writes for the file.
TEST_F(ServerTest, WordGranularityEqualsTheCommandLineJson) {
  const std::string out = SharedModels()->dir + "/cli-words";
  const wisp_test::RunResult cli =
      wisp_test::RunWisp({"transcribe", "-m", SharedModels()->en_path, "--tokenizer-file", kRanks, "--compute", "f32", "-f", "json",
                          "--word_timestamps", "True", "-o", out, "-q", kJfk});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const Json file = Json::parse(Slurp(out + "/jfk.json"));
  Json want = Json::array();
  for (const Json& segment : file["segments"]) {
    for (const Json& w : segment["words"]) {
      std::string word = w["word"];
      word.erase(0, word.find_first_not_of(' '));
      want.push_back(Json{{"word", word}, {"start", w["start"]}, {"end", w["end"]}});
    }
  }
  ASSERT_GT(want.size(), 3u);
  RunningServer server({});
  auto r = server.Client().Post("/v1/audio/transcriptions",
                                Form(Slurp(kJfk), "jfk.wav",
                                     {{"response_format", "verbose_json"}, {"timestamp_granularities[]", "word"}}));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Json::parse(r->body)["words"], want);
}

}  // namespace
