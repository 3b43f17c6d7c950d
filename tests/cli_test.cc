// The `wisp` binary as a user meets it: exit codes (0 ok, 1 usage, 2 bad input) and the text of
// each message for bad flags, missing or damaged models and audio, --help of every command,
// the model list, and an unreachable download host. Runs build/bin/wisp in a child process.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "model/ggml_writer.h"
#include "wisp_runner.h"

namespace {

using wisp_test::ClosedPort;
using wisp_test::kWisp;
using wisp_test::ReadFile;
using wisp_test::RunResult;
using wisp_test::RunWisp;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kWisp.c_str(), X_OK), 0) << kWisp << " is not built";
    char dir[] = "/tmp/wisp_cli_test_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string dir_;
};

TEST_F(CliTest, TopLevelHelpAndUnknownCommand) {
  RunResult none = RunWisp({});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_CONTAINS(none.err, "usage: wisp <command>");

  RunResult help = RunWisp({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_CONTAINS(help.out, "transcribe");
  EXPECT_CONTAINS(help.out, "models");
  EXPECT_CONTAINS(help.out, "exit codes");

  RunResult unknown = RunWisp({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_CONTAINS(unknown.err, "unknown command 'frobnicate'");
}

TEST_F(CliTest, EveryCommandHasHelp) {
  RunResult t = RunWisp({"transcribe", "--help"});
  EXPECT_EQ(t.exit_code, 0);
  for (const char* flag : {"--model", "--language", "--task", "--threads", "--backend", "--temperature",
                           "--no-timestamps", "--initial-prompt", "--tokenizer-file", "--output-format",
                           "--output-dir", "--print-timestamps", "--verbose", "--base-url"}) {
    EXPECT_CONTAINS(t.out, flag);
  }
  EXPECT_EQ(RunWisp({"transcribe", "-h"}).out, t.out);
  EXPECT_EQ(RunWisp({"help", "transcribe"}).out, t.out);

  RunResult m = RunWisp({"models", "--help"});
  EXPECT_EQ(m.exit_code, 0);
  EXPECT_CONTAINS(m.out, "wisp models download NAME");
  EXPECT_CONTAINS(m.out, "-m /path/to/ggml-NAME.bin");
}

TEST_F(CliTest, UsageErrorsExitOneAndNameTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"transcribe", "-m", "x.bin", "a.wav", "--bogus"}, "unknown option '--bogus'"},
      {{"transcribe", "-m", "x.bin", "a.wav", "-z"}, "unknown option '-z'"},
      {{"transcribe", "a.wav"}, "missing -m/--model"},
      {{"transcribe", "-m", "x.bin"}, "no AUDIO file given"},
      {{"transcribe", "-m", "x.bin", "a.wav", "--threads"}, "option --threads needs a value (N)"},
      {{"transcribe", "-m", "x.bin", "a.wav", "--threads", "abc"}, "--threads: expected an integer in [1, 1024], got 'abc'"},
      {{"transcribe", "-m", "x.bin", "a.wav", "--threads=0"}, "--threads: expected an integer in [1, 1024], got '0'"},
      {{"transcribe", "-m", "x.bin", "a.wav", "--temperature", "-1"}, "--temperature: expected a number in [0, 100], got '-1'"},
      {{"transcribe", "-m", "x.bin", "a.wav", "--temperature", "warm"}, "--temperature: expected a number"},
      {{"transcribe", "-m", "x.bin", "a.wav", "--backend", "gpu"}, "--backend: expected fast or reference, got 'gpu'"},
      {{"transcribe", "-m", "x.bin", "a.wav", "--task", "dance"}, "--task: expected transcribe or translate, got 'dance'"},
      {{"transcribe", "-m", "x.bin", "a.wav", "-f", "docx"}, "--output-format: unknown output format 'docx'"},
      {{"transcribe", "-m", "x.bin", "a.wav", "--no-timestamps=yes"}, "option --no-timestamps takes no value"},
      {{"transcribe", "-m", "x.bin", "a.wav", "--tokenizer-file", "/nonexistent/gpt2.tiktoken"},
       "--tokenizer-file: no such file '/nonexistent/gpt2.tiktoken'"},
      {{"models"}, "missing subcommand: list or download"},
      {{"models", "delete"}, "unknown subcommand 'delete'"},
      {{"models", "download"}, "missing model NAME"},
      {{"models", "download", "tiny.fr"}, "unknown model 'tiny.fr'"},
      {{"models", "list", "--base"}, "unknown option '--base'"},
  };
  for (const Case& c : cases) {
    RunResult r = RunWisp(c.args);
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 1) << joined << "\n" << r.err;
    EXPECT_CONTAINS(r.err, c.message);
    EXPECT_EQ(r.out, "") << joined;
  }
}

TEST_F(CliTest, MissingOrDamagedModelExitsTwo) {
  RunResult missing = RunWisp({"transcribe", "-m", "/nonexistent/ggml-model.bin", "a.wav"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_CONTAINS(missing.err, "model '/nonexistent/ggml-model.bin' not found");

  const std::string bogus = dir_ + "/ggml-bogus.bin";
  { std::ofstream(bogus) << "not a ggml file at all"; }
  RunResult damaged = RunWisp({"transcribe", "-m", bogus, "a.wav"});
  EXPECT_EQ(damaged.exit_code, 2);
  EXPECT_CONTAINS(damaged.err, bogus);
}

TEST_F(CliTest, ModelsListShowsCatalogueAndCache) {
  { std::ofstream(dir_ + "/ggml-tiny.en.bin") << "cached"; }
  { std::ofstream(dir_ + "/ggml-base.bin.part") << "half"; }
  RunResult r = RunWisp({"models", "list"}, {{"WISP_MODELS_DIR", dir_}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "model cache: " + dir_);
  EXPECT_CONTAINS(r.out, "tiny.en");
  EXPECT_CONTAINS(r.out, "yes (6 B)");
  EXPECT_CONTAINS(r.out, "partial download");
  EXPECT_CONTAINS(r.out, "large-v3-turbo-q8_0");
  // 30 models plus the cache line, a blank line and the header.
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 33);
}

TEST_F(CliTest, UnreachableDownloadHostExitsTwoWithAdvice) {
  const std::string mirror = "http://127.0.0.1:" + std::to_string(ClosedPort());
  RunResult download = RunWisp({"models", "download", "tiny.en", "--base-url", mirror}, {{"WISP_MODELS_DIR", dir_}});
  EXPECT_EQ(download.exit_code, 2);
  EXPECT_CONTAINS(download.err, "could not reach 127.0.0.1");
  EXPECT_CONTAINS(download.err, "-m /path/to/ggml-model.bin");

  // A model name given to transcribe is fetched into the cache first; same failure, same advice.
  RunResult transcribe = RunWisp({"transcribe", "-m", "tiny.en", "a.wav"},
                                 {{"WISP_MODELS_DIR", dir_}, {"WISP_MODELS_BASE_URL", mirror}});
  EXPECT_EQ(transcribe.exit_code, 2);
  EXPECT_CONTAINS(transcribe.err, "could not reach 127.0.0.1");
  EXPECT_FALSE(access((dir_ + "/ggml-tiny.en.bin").c_str(), F_OK) == 0);
}

// Needs a loadable model: a random-weight 1-layer model written from whisper.cpp's header-only
// test files (skipped when the shared data is absent).
class CliWithModelTest : public CliTest {
 protected:
  std::string WriteModel(const std::string& header_name) {
    const std::string header = std::string(WISP_SHARED_DATA_DIR) + "/" + header_name;
    if (access(header.c_str(), R_OK) != 0) return "";
    const std::string path = dir_ + "/random-" + header_name;
    wisp::RandomModelOptions options;
    options.seed = 3;
    options.n_layers = 1;
    return wisp::WriteRandomGgmlModel(header, path, options).ok() ? path : "";
  }
};

TEST_F(CliWithModelTest, MissingAudioExitsTwoAndNamesTheFile) {
  const std::string model = WriteModel("for-tests-ggml-tiny.en.bin");
  if (model.empty()) GTEST_SKIP() << "needs " WISP_SHARED_DATA_DIR "/for-tests-ggml-tiny.en.bin";
  RunResult r = RunWisp({"transcribe", "-m", model, "/nonexistent/audio.wav"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_CONTAINS(r.err, "/nonexistent/audio.wav");
  EXPECT_EQ(r.out, "");

  const std::string not_audio = dir_ + "/notes.wav";
  { std::ofstream(not_audio) << "RIFF but not really"; }
  RunResult bad = RunWisp({"transcribe", "-m", model, not_audio});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_CONTAINS(bad.err, not_audio);
}

TEST_F(CliWithModelTest, UnknownLanguageOnMultilingualModelIsUsageError) {
  const std::string model = WriteModel("for-tests-ggml-tiny.bin");
  if (model.empty()) GTEST_SKIP() << "needs " WISP_SHARED_DATA_DIR "/for-tests-ggml-tiny.bin";
  RunResult r = RunWisp({"transcribe", "-m", model, "-l", "xx", "a.wav"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "--language: unknown language code 'xx'");
}

TEST_F(CliWithModelTest, WritesEveryFormatAndPrintsTheTxtOnStdout) {
  const std::string model = WriteModel("for-tests-ggml-tiny.en.bin");
  if (model.empty()) GTEST_SKIP() << "needs " WISP_SHARED_DATA_DIR "/for-tests-ggml-tiny.en.bin";
  const std::string audio = std::string(WISP_TEST_DATA_DIR) + "/speech1.wav";
  const std::string out_dir = dir_ + "/out/nested";
  RunResult r = RunWisp({"transcribe", "-m", model, "-t", "2", "-f", "all", "-o", out_dir, "-v", audio});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.err, "tokenizer: ");
  EXPECT_CONTAINS(r.err, "backend: fast, threads: 2");
  for (const char* ext : {"txt", "vtt", "srt", "tsv", "json"}) {
    EXPECT_EQ(access((out_dir + "/speech1." + ext).c_str(), R_OK), 0) << ext;
  }
  EXPECT_EQ(r.out, ReadFile(out_dir + "/speech1.txt"));
  EXPECT_EQ(ReadFile(out_dir + "/speech1.vtt").rfind("WEBVTT\n\n", 0), 0u);
  EXPECT_EQ(ReadFile(out_dir + "/speech1.json").rfind("{\"text\": ", 0), 0u);

  RunResult stamped = RunWisp({"transcribe", "-m", model, "--print-timestamps", audio});
  ASSERT_EQ(stamped.exit_code, 0) << stamped.err;
  // openai-whisper's verbose line: "[MM:SS.mmm --> MM:SS.mmm] " + the segment text as decoded
  // (random tokens may contain newlines, so only the first line's prefix is checked).
  const std::regex prefix(R"(^\[\d\d:\d\d\.\d\d\d --> \d\d:\d\d\.\d\d\d\] )");
  EXPECT_TRUE(std::regex_search(stamped.out, prefix)) << stamped.out;
}

}  // namespace
