// The writers against byte strings produced by openai-whisper 20250625's whisper/utils.py
// (WriteTXT/WriteVTT/WriteSRT/WriteTSV/WriteJSON.write_result) for the same crafted result:
// non-ASCII and astral characters, quotes, backslashes, control characters, invalid UTF-8 bytes,
// "-->" inside text, timestamps beyond an hour, and half-millisecond rounding.
#include "pipeline/output_writers.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace wisp {
namespace {

// Python's round() at half milliseconds: 0.0025 s is 2.5 ms in binary too -> 2 (half to even).
TEST(FormatTimestamp, MatchesOpenAiRoundingAndLayout) {
  EXPECT_EQ(FormatTimestamp(0.0005, false, '.'), "00:00.000");
  EXPECT_EQ(FormatTimestamp(0.0015, false, '.'), "00:00.002");
  EXPECT_EQ(FormatTimestamp(0.0025, false, '.'), "00:00.002");
  EXPECT_EQ(FormatTimestamp(1.0005, false, '.'), "00:01.000");
  EXPECT_EQ(FormatTimestamp(3599.9995, false, '.'), "01:00:00.000");
  EXPECT_EQ(FormatTimestamp(59.9999, false, '.'), "01:00.000");
  EXPECT_EQ(FormatTimestamp(59.9999, true, ','), "00:01:00,000");
  EXPECT_EQ(FormatTimestamp(0.0, true, ','), "00:00:00,000");
  EXPECT_EQ(FormatTimestamp(36000.0005, false, '.'), "10:00:00.000");
  EXPECT_EQ(FormatTimestamp(3723.0025, true, ','), "01:02:03,002");
}

TEST(PythonFloatRepr, MatchesRepr) {
  const std::pair<double, const char*> cases[] = {
      {0.0, "0.0"}, {-0.0, "-0.0"}, {1.0, "1.0"}, {0.1, "0.1"}, {1e16, "1e+16"},
      {1e15, "1000000000000000.0"}, {123456789012345.6, "123456789012345.6"},
      {0.0001, "0.0001"}, {0.00001, "1e-05"}, {1.5e-7, "1.5e-07"}, {1.5e300, "1.5e+300"},
      {5e-324, "5e-324"}, {1.7976931348623157e308, "1.7976931348623157e+308"}, {-2.5, "-2.5"},
      {100.0, "100.0"}, {9007199254740992.0, "9007199254740992.0"},
      {0.1 + 0.2, "0.30000000000000004"}};
  for (const auto& [value, expected] : cases) EXPECT_EQ(PythonFloatRepr(value), expected) << value;
}

TEST(JsonStringAscii, EscapesLikeJsonDump) {
  EXPECT_EQ(JsonStringAscii("a\"b\\c\n\r\t\b\f\x01\x7f/"),
            "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u007f/\"");
  EXPECT_EQ(JsonStringAscii("\xc3\xa9\xf0\x9f\x8e\x89"), "\"\\u00e9\\ud83c\\udf89\"");
}

TranscriptionResult CraftedResult() {
  TranscriptionResult r;
  Segment a;
  a.id = 0; a.seek = 0; a.start = 0.0; a.end = 4.0;
  a.text = " Hello, \"world\"!\n";
  a.tokens = {50364, 2425, 11, 50564};
  a.temperature = 0.0; a.avg_logprob = -0.25341796875; a.compression_ratio = 1.2;
  a.no_speech_prob = 0.0123;
  Segment b;
  b.id = 1; b.seek = 400; b.start = 3723.0025; b.end = 3725.0015;
  b.text = "\xe3\x80\x80Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
           "\xf0\x9f\x8e\x89 tab\there --> arrow\xc2\xa0 ";
  b.tokens = {1, 2};
  b.temperature = 0.2; b.avg_logprob = -1e-05; b.compression_ratio = 1e16;
  b.no_speech_prob = 0.1 + 0.2;
  Segment c;
  c.id = 2; c.seek = 3000; c.start = 7199.9995; c.end = 36000.0005;
  c.text = "\xe2\x82 ok \xff\\back\x01\x7f\xf0\x9f\x98";  // raw token bytes, not valid UTF-8
  c.temperature = 1.0; c.avg_logprob = -0.0; c.compression_ratio = 123456789.125;
  c.no_speech_prob = 1.5e-7;
  r.segments = {a, b, c};
  r.text = a.text + b.text + c.text;
  r.language = "de";
  return r;
}

TEST(OutputWriters, TxtMatchesOpenAi) {
  EXPECT_EQ(RenderTxt(CraftedResult()),
      "Hello, \"world\"!\n"
      "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x8e\x89 tab\there --> arrow\n"
      "\xef\xbf\xbd ok \xef\xbf\xbd\\back\x01\x7f\xef\xbf\xbd\n");
}

TEST(OutputWriters, VttMatchesOpenAi) {
  EXPECT_EQ(RenderVtt(CraftedResult()),
      "WEBVTT\n"
      "\n"
      "00:00.000 --> 00:04.000\n"
      "Hello, \"world\"!\n"
      "\n"
      "01:02:03.002 --> 01:02:05.002\n"
      "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x8e\x89 tab\there -> arrow\n"
      "\n"
      "02:00:00.000 --> 10:00:00.000\n"
      "\xef\xbf\xbd ok \xef\xbf\xbd\\back\x01\x7f\xef\xbf\xbd\n"
      "\n");
}

TEST(OutputWriters, SrtMatchesOpenAi) {
  EXPECT_EQ(RenderSrt(CraftedResult()),
      "1\n"
      "00:00:00,000 --> 00:00:04,000\n"
      "Hello, \"world\"!\n"
      "\n"
      "2\n"
      "01:02:03,002 --> 01:02:05,002\n"
      "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x8e\x89 tab\there -> arrow\n"
      "\n"
      "3\n"
      "02:00:00,000 --> 10:00:00,000\n"
      "\xef\xbf\xbd ok \xef\xbf\xbd\\back\x01\x7f\xef\xbf\xbd\n"
      "\n");
}

TEST(OutputWriters, TsvMatchesOpenAi) {
  EXPECT_EQ(RenderTsv(CraftedResult()),
      "start\tend\ttext\n"
      "0\t4000\tHello, \"world\"!\n"
      "3723002\t3725002\tGr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x8e\x89 tab here --> arrow\n"
      "7200000\t36000000\t\xef\xbf\xbd ok \xef\xbf\xbd\\back\x01\x7f\xef\xbf\xbd\n");
}

TEST(OutputWriters, JsonMatchesOpenAi) {
  EXPECT_EQ(RenderJson(CraftedResult()),
      "{\"text\": \" Hello, \\\"world\\\"!\\n\\u3000Gr\\u00fc\\u00dfe \\u2014 \\u65e5\\u672c\\u8a9e \\ud83c\\udf89 tab\\there --> arrow\\u00a0 \\ufffd ok \\ufffd\\\\back\\u0001\\u007f\\ufffd\", "
      "\"segments\": [{\"id\": 0, \"seek\": 0, \"start\": 0.0, \"end\": 4.0, \"text\": \" Hello, \\\"world\\\"!\\n\", \"tokens\": [50364, 2425, 11, 50564], \"temperature\": 0.0, \"avg_logprob\": -0.25341796875, \"compression_ratio\": 1.2, \"no_speech_prob\": 0.0123}, "
      "{\"id\": 1, \"seek\": 400, \"start\": 3723.0025, \"end\": 3725.0015, \"text\": \"\\u3000Gr\\u00fc\\u00dfe \\u2014 \\u65e5\\u672c\\u8a9e \\ud83c\\udf89 tab\\there --> arrow\\u00a0 \", \"tokens\": [1, 2], \"temperature\": 0.2, \"avg_logprob\": -1e-05, \"compression_ratio\": 1e+16, \"no_speech_prob\": 0.30000000000000004}, "
      "{\"id\": 2, \"seek\": 3000, \"start\": 7199.9995, \"end\": 36000.0005, \"text\": \"\\ufffd ok \\ufffd\\\\back\\u0001\\u007f\\ufffd\", \"tokens\": [], \"temperature\": 1.0, \"avg_logprob\": -0.0, \"compression_ratio\": 123456789.125, \"no_speech_prob\": 1.5e-07}], "
      "\"language\": \"de\"}");
}

TEST(OutputWriters, EmptyResult) {
  TranscriptionResult empty;
  empty.language = "en";
  EXPECT_EQ(RenderTxt(empty), "");
  EXPECT_EQ(RenderVtt(empty), "WEBVTT\n\n");
  EXPECT_EQ(RenderSrt(empty), "");
  EXPECT_EQ(RenderJson(empty), "{\"text\": \"\", \"segments\": [], \"language\": \"en\"}");
}

TEST(OutputWriters, ParseOutputFormats) {
  auto all = ParseOutputFormats("all");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  EXPECT_STREQ(OutputFormatExtension((*all)[0]), "txt");
  EXPECT_STREQ(OutputFormatExtension((*all)[4]), "json");
  auto srt = ParseOutputFormats("srt");
  ASSERT_TRUE(srt.ok());
  EXPECT_EQ((*srt)[0], OutputFormat::kSrt);
  auto bad = ParseOutputFormats("docx");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("docx"), std::string::npos);
}

// os.path.join(dir, os.path.splitext(os.path.basename(path))[0] + "." + ext)
TEST(OutputWriters, OutputPathFollowsPythonSplitext) {
  EXPECT_EQ(OutputPath("out", "/a/b/jfk.wav", OutputFormat::kSrt), "out/jfk.srt");
  EXPECT_EQ(OutputPath("out/", "a.b.flac", OutputFormat::kTxt), "out/a.b.txt");
  EXPECT_EQ(OutputPath(".", "noext", OutputFormat::kJson), "./noext.json");
  EXPECT_EQ(OutputPath(".", "/x/.hidden", OutputFormat::kVtt), "./.hidden.vtt");
  EXPECT_EQ(OutputPath(".", "..wav", OutputFormat::kTsv), "./..wav.tsv");
  EXPECT_EQ(OutputPath(".", "a..wav", OutputFormat::kTsv), "./a..tsv");
  // Standard input is named stdin (not "-"); a chosen name is used as it is, dots and all.
  EXPECT_EQ(OutputPath("out", "-", OutputFormat::kSrt), "out/stdin.srt");
  EXPECT_EQ(OutputBaseName("./-"), "-");  // a file really called "-" keeps its name
  EXPECT_EQ(OutputPathForName("", "talk.v2", OutputFormat::kVtt), "./talk.v2.vtt");
}

TEST(OutputWriters, WriteOutputFileWritesRenderedBytes) {
  char dir_template[] = "/tmp/wisp_writers_XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  std::string written;
  ASSERT_TRUE(WriteOutputFile(OutputFormat::kJson, CraftedResult(), dir, "/in/clip.mp3", &written).ok());
  EXPECT_EQ(written, dir + "/clip.json");
  std::ifstream in(written, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  EXPECT_EQ(contents.str(), RenderJson(CraftedResult()));
  std::remove(written.c_str());

  const Status missing = WriteOutputFile(OutputFormat::kTxt, CraftedResult(), dir + "/no/such", "x.wav");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find(dir + "/no/such/x.txt"), std::string::npos);
  rmdir(dir.c_str());
}

}  // namespace
}  // namespace wisp
