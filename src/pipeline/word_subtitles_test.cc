// vtt, srt and json with word timestamps, byte for byte against openai-whisper's writers under
// every combination of writer options in testdata/word_writers_expected.json (written by
// tools/golden/make_word_writers_expected.py from whisper/utils.py), plus the underline rule's
// corner cases, which crafted words reach more easily than real ones.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pipeline/output_writers.h"

namespace wisp {
namespace {

using nlohmann::json;

json LoadExpected() {
  std::ifstream in(std::string(WISP_PIPELINE_TESTDATA_DIR) + "/word_writers_expected.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

TranscriptionResult ToResult(const json& r) {
  TranscriptionResult result;
  result.text = r["text"];
  result.language = r["language"];
  for (const json& s : r["segments"]) {
    Segment seg;
    seg.id = s["id"], seg.seek = s["seek"], seg.start = s["start"], seg.end = s["end"];
    seg.text = s["text"];
    seg.tokens = s["tokens"].get<std::vector<int>>();
    seg.temperature = s["temperature"], seg.avg_logprob = s["avg_logprob"];
    seg.compression_ratio = s["compression_ratio"], seg.no_speech_prob = s["no_speech_prob"];
    for (const json& w : s["words"]) {
      Word word{w["word"], w["start"], w["end"], w["probability"]};
      word.start_is_int_zero = w["start"].is_number_integer();
      seg.words.push_back(word);
    }
    result.segments.push_back(seg);
  }
  return result;
}

WriterOptions ToOptions(const json& o) {
  WriterOptions options;
  options.word_timestamps = true;
  options.highlight_words = o.value("highlight_words", false);
  options.max_line_width = o.value("max_line_width", 0);
  options.max_line_count = o.value("max_line_count", 0);
  options.max_words_per_line = o.value("max_words_per_line", 0);
  return options;
}

TEST(WordSubtitles, MatchOfficialWritersByteForByte) {
  const json expected = LoadExpected();
  ASSERT_FALSE(expected.is_null());
  int compared = 0;
  for (const json& e : expected["expected"]) {
    const TranscriptionResult result = ToResult(expected["results"][e["result"].get<std::string>()]);
    const WriterOptions options = ToOptions(expected["options"][e["options"].get<std::string>()]);
    const std::string format = e["format"];
    const OutputFormat f = format == "vtt" ? OutputFormat::kVtt : format == "srt" ? OutputFormat::kSrt
                                                                                   : OutputFormat::kJson;
    EXPECT_EQ(RenderOutput(f, result, options), e["text"].get<std::string>())
        << e["result"] << " " << format << " " << e["options"];
    ++compared;
  }
  EXPECT_EQ(compared, 3 * (1 + 2 * 9));
}

TEST(WordSubtitles, WithoutWordTimestampsTheSegmentWritersRemain) {
  const json expected = LoadExpected();
  const TranscriptionResult result = ToResult(expected["results"]["speech"]);
  const WriterOptions none;
  EXPECT_EQ(RenderVtt(result, none), RenderVtt(result));
  EXPECT_EQ(RenderSrt(result, none), RenderSrt(result));
  EXPECT_EQ(RenderJson(result, none), RenderJson(result));
  EXPECT_EQ(RenderOutput(OutputFormat::kTxt, result, none), RenderTxt(result));
  EXPECT_EQ(RenderJson(result).find("\"words\""), std::string::npos);
}

// re.sub(r"^(\s*)(.*)$", r"\1<u>\2</u>", word) on words python's regex treats specially:
// expected strings computed with python 3.11's re.
TEST(WordSubtitles, UnderlineFollowsPythonRegex) {
  TranscriptionResult result;
  Segment s;
  s.start = 0, s.end = 3;
  s.words = {{"\n", 0.0, 1.0, 1.0}, {" a\nb", 1.0, 2.0, 1.0}, {" c\n", 2.0, 3.0, 1.0}};
  result.segments.push_back(s);
  WriterOptions o;
  o.word_timestamps = true;
  o.highlight_words = true;
  // "\n" is stripped to "" (an empty line), so " a\nb" starts the line again, stripped; its inner
  // newline defeats the pattern; " c\n" is underlined before its final newline.
  EXPECT_EQ(RenderVtt(result, o),
            "WEBVTT\n\n"
            "00:00.000 --> 00:01.000\n<u></u>a\nb c\n\n\n"
            "00:01.000 --> 00:02.000\na\nb c\n\n\n"
            "00:02.000 --> 00:03.000\na\nb <u>c</u>\n\n\n");
}

}  // namespace
}  // namespace wisp
