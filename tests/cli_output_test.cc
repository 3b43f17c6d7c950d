// What `wisp transcribe` writes, byte for byte: segments on stdout as they are decoded (adding up
// to the whole result's text), progress lines on a stderr that is not a terminal, the result
// files' writability checked before any work, several formats per run in every spelling, and the
// names of the files of stdin and of --output-name. Runs build/bin/wisp on random-weight models:
// the text is noise, but every comparison is between two runs of the same deterministic decode
// (temperature 0 only, --no-fallback).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "cli_fixture.h"
#include "wisp_runner.h"

namespace {

using wisp_test::ReadFile;
using wisp_test::RunResult;
using wisp_test::RunWisp;

class CliOutputTest : public wisp_test::CliWithModelTest {
 protected:
  void SetUp() override {
    CliWithModelTest::SetUp();
    model_ = WriteModel("for-tests-ggml-tiny.en.bin");
  }
  // 16-bit 16 kHz mono: a few drifting tones and noise, seconds long. Over 30 s it takes several
  // windows, which is what progress and live printing are about.
  std::string WriteLongWav(const std::string& name, double seconds) {
    const uint32_t n = static_cast<uint32_t>(seconds * 16000);
    std::string bytes = "RIFF";
    auto put = [&bytes](uint32_t v, int size) {
      for (int i = 0; i < size; ++i) bytes += static_cast<char>((v >> (8 * i)) & 0xFF);
    };
    put(36 + 2 * n, 4);
    bytes += "WAVEfmt ";
    put(16, 4), put(1, 2), put(1, 2), put(16000, 4), put(32000, 4), put(2, 2), put(16, 2);
    bytes += "data";
    put(2 * n, 4);
    uint32_t lcg = 12345;
    for (uint32_t i = 0; i < n; ++i) {
      const double t = i / 16000.0;
      lcg = lcg * 1664525u + 1013904223u;
      const double noise = (static_cast<double>(lcg >> 8) / (1 << 24) - 0.5) * 0.1;
      const double v = 0.3 * std::sin(2 * M_PI * (200 + 40 * std::sin(t)) * t) * (0.5 + 0.5 * std::sin(3 * t)) + noise;
      put(static_cast<uint32_t>(static_cast<int16_t>(v * 30000)), 2);
    }
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  // Every file under dir, relative, for "nothing was created" and "exactly these were written".
  static std::set<std::string> Tree(const std::string& dir) {
    std::set<std::string> names;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      names.insert(std::filesystem::relative(e.path(), dir).string());
    }
    return names;
  }
  RunResult Transcribe(std::vector<std::string> args, const wisp_test::RunIo& io = {}) {
    args.insert(args.begin(), {"transcribe", "-m", model_, "-t", "2", "--no-fallback"});
    return RunWisp(args, {}, io);
  }
  const std::string short_audio_ = std::string(WISP_TEST_DATA_DIR) + "/speech1.wav";  // 3.7 s
  std::string model_;
};

#define NEED_MODEL() \
  if (model_.empty()) GTEST_SKIP() << "needs " WISP_SHARED_DATA_DIR "/for-tests-ggml-tiny.en.bin"

// Splits merged stdout+stderr into what is not progress (stdout's bytes) and the progress lines.
struct Merged {
  std::string text;
  std::vector<std::string> progress;
  bool text_before_a_later_window = false;  // a segment, then a progress line below 100%
};
Merged SplitMerged(const std::string& out) {
  Merged m;
  size_t begin = 0;
  while (begin < out.size()) {
    const size_t end = std::min(out.find('\n', begin), out.size() - 1) + 1;
    const std::string line = out.substr(begin, end - begin);
    if (line.rfind("progress: ", 0) == 0) {
      m.progress.push_back(line);
      if (!m.text.empty() && line.rfind("progress: 100%", 0) != 0) m.text_before_a_later_window = true;
    } else {
      m.text += line;
    }
    begin = end;
  }
  return m;
}

TEST_F(CliOutputTest, SegmentsArePrintedAsDecodedAndAddUpToTheFinalOutput) {
  NEED_MODEL();
  const std::string audio = WriteLongWav("long.wav", 65);
  for (const bool timestamps : {false, true}) {
    std::vector<std::string> flags = {"-f", "txt", "-o", dir_ + "/out", audio, "--no_speech_threshold", "None"};
    if (timestamps) flags.push_back("--print-timestamps");
    RunResult alone = Transcribe(flags);
    ASSERT_EQ(alone.exit_code, 0) << alone.err;
    if (!timestamps) {
      EXPECT_EQ(alone.out, ReadFile(dir_ + "/out/long.txt"));  // stdout is the .txt file
    } else {
      EXPECT_TRUE(std::regex_search(alone.out, std::regex(R"(^\[00:00\.000 --> \d\d:\d\d\.\d\d\d\] )"))) << alone.out;
    }
    EXPECT_GT(alone.out.size(), 100u);
    // stdout and stderr into one file, a progress line before every window: the segments of the
    // first window land before the second window's line, so they were printed as decoded, and
    // without the progress lines the bytes are stderr's warnings (the tokenizer's, printed at
    // load) and stdout's.
    flags.insert(flags.end(), {"--progress-interval", "0"});
    const Merged merged = SplitMerged(Transcribe(flags, {.merge_stderr = true}).out);
    EXPECT_EQ(merged.text, SplitMerged(alone.err).text + alone.out);
    EXPECT_TRUE(merged.text_before_a_later_window);
    ASSERT_GE(merged.progress.size(), 3u);  // 0%, at least one later window, 100%
    EXPECT_EQ(merged.progress.front(), "progress: 0% (0.0/65.0 s audio)\n");
  }
}

TEST_F(CliOutputTest, ProgressLinesOnAFileAndNoneWithNoProgressOrShortAudio) {
  NEED_MODEL();
  const std::string audio = WriteLongWav("long.wav", 65);
  RunResult r = Transcribe({audio});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // A line every 5 s at most, always the last one; every line in the one format.
  const std::regex line(R"(progress: \d+% \(\d+\.\d/65\.0 s audio, \d+\.\dx real time, ETA [^)]+\)\n)");
  const std::regex last(R"(progress: 100% \(65\.0/65\.0 s audio, \d+\.\dx real time, ETA 0 s\)\n$)");
  EXPECT_TRUE(std::regex_search(r.err, last)) << r.err;
  for (const std::string& l : SplitMerged(r.err).progress) EXPECT_TRUE(std::regex_match(l, line)) << l;
  EXPECT_EQ(r.out.find("progress"), std::string::npos);  // never on stdout

  RunResult off = Transcribe({audio, "--no-progress"});
  ASSERT_EQ(off.exit_code, 0) << off.err;
  EXPECT_EQ(off.err, SplitMerged(r.err).text);  // the same stderr (warnings), minus progress
  EXPECT_EQ(off.err.find("progress"), std::string::npos);
  EXPECT_EQ(off.out, r.out);

  // One window of audio: nothing to report.
  RunResult short_run = Transcribe({short_audio_});
  ASSERT_EQ(short_run.exit_code, 0) << short_run.err;
  EXPECT_EQ(short_run.err.find("progress"), std::string::npos) << short_run.err;

  // Several inputs: each line names its file.
  RunResult two = Transcribe({audio, short_audio_, audio, "--progress-interval", "1e6"});
  ASSERT_EQ(two.exit_code, 0) << two.err;
  const std::vector<std::string> lines = SplitMerged(two.err).progress;
  ASSERT_EQ(lines.size(), 2u) << two.err;  // the end of each long file only
  for (const std::string& l : lines) EXPECT_EQ(l.rfind("progress: " + audio + ": 100% (65.0/65.0 s audio, ", 0), 0u);
}

TEST_F(CliOutputTest, UnwritableOutputsAreRefusedBeforeAnyWork) {
  NEED_MODEL();
  const std::string audio = WriteLongWav("long.wav", 65);
  const std::string file = dir_ + "/a-file";
  std::ofstream(file) << "x";
  std::filesystem::create_directories(dir_ + "/out/long.srt");
  std::filesystem::create_directories(dir_ + "/out/named.vtt");
  std::ofstream(dir_ + "/out/long.txt") << "old";
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  std::vector<Case> cases = {
      {{"-o", file}, "--output-dir: '" + file + "' is not a directory"},
      {{"-f", "txt", "-o", file + "/sub/dir"}, "--output-dir: cannot create '" + file + "/sub/dir': '" + file +
                                                   "' is not a directory"},
      {{"-f", "srt", "-o", dir_ + "/out"}, "output file '" + dir_ + "/out/long.srt' is a directory"},
      {{"-f", "json,srt", "-o", dir_ + "/out"}, "output file '" + dir_ + "/out/long.srt' is a directory"},
      {{"-f", "vtt", "--output-name", "named", "-o", dir_ + "/out"},
       "output file '" + dir_ + "/out/named.vtt' is a directory"},
  };
  // A directory nobody may write into, root included (procfs checks permissions itself; the
  // reason is EACCES or EPERM depending on the user).
  struct stat st;
  if (stat("/proc/1", &st) == 0 && access("/proc/1", W_OK | X_OK) != 0) {
    const std::string reason = std::strerror(errno);
    cases.push_back({{"-o", "/proc/1"}, "--output-dir: cannot write into '/proc/1': " + reason});
    cases.push_back({{"-o", "/proc/1/new"}, "--output-dir: cannot create '/proc/1/new' in '/proc/1': " + reason});
  }
  // An existing file without write permission stops only other users than root.
  if (geteuid() != 0) {
    chmod((dir_ + "/out/long.txt").c_str(), 0444);
    cases.push_back({{"-f", "txt", "-o", dir_ + "/out"},
                     "output file '" + dir_ + "/out/long.txt' is not writable: Permission denied"});
  }
  const std::set<std::string> before = Tree(dir_);
  for (const Case& c : cases) {
    std::vector<std::string> args = c.flags;
    args.push_back(audio);
    RunResult r = Transcribe(args);
    // Exactly one line: no model was loaded (no tokenizer or model messages), no progress.
    EXPECT_EQ(r.err, "wisp transcribe: " + c.message + "\n");
    EXPECT_EQ(r.exit_code, 1) << c.message;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(Tree(dir_), before) << c.message;  // nothing created by the check
  }
  EXPECT_EQ(ReadFile(dir_ + "/out/long.txt"), "old");
  // A missing directory under a writable one is fine (created when the model has loaded).
  RunResult made = Transcribe({"-f", "txt", "-o", dir_ + "/new/nested", short_audio_, "-q"});
  EXPECT_EQ(made.exit_code, 0) << made.err;
  EXPECT_EQ(Tree(dir_ + "/new"), (std::set<std::string>{"nested", "nested/speech1.txt"}));
}

TEST_F(CliOutputTest, SeveralFormatsInEverySpellingWriteEachAsAloneWouldBeWritten) {
  NEED_MODEL();
  std::map<std::string, std::string> alone;
  for (const char* ext : {"txt", "vtt", "srt", "tsv", "json"}) {
    const std::string out = dir_ + "/alone-" + ext;
    RunResult r = Transcribe({"-f", ext, "-o", out, short_audio_, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(Tree(out), (std::set<std::string>{std::string("speech1.") + ext}));
    alone[ext] = ReadFile(out + "/speech1." + ext);
  }
  const std::vector<std::vector<std::string>> srt_and_vtt = {
      {"-f", "srt", "-f", "vtt"},
      {"-f", "srt,vtt"},
      {"--output_format", "vtt,srt"},
      {"--output-format=vtt", "--output-format", "srt"},
      {"-f", "srt,vtt,srt", "-f", "vtt"},  // each once
  };
  int n = 0;
  for (std::vector<std::string> flags : srt_and_vtt) {
    const std::string out = dir_ + "/both-" + std::to_string(n++);
    flags.insert(flags.end(), {"-o", out, short_audio_, "-q"});
    RunResult r = Transcribe(flags);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(Tree(out), (std::set<std::string>{"speech1.srt", "speech1.vtt"})) << flags[1];
    EXPECT_EQ(ReadFile(out + "/speech1.srt"), alone["srt"]) << flags[1];
    EXPECT_EQ(ReadFile(out + "/speech1.vtt"), alone["vtt"]) << flags[1];
  }
  // "all" (alone, or in a list) is the official's five.
  for (const std::string& formats : {"all", "json,all"}) {
    const std::string out = dir_ + "/all-" + std::to_string(n++);
    RunResult r = Transcribe({"-f", formats, "-o", out, short_audio_, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(Tree(out).size(), 5u);
    for (const auto& [ext, bytes] : alone) EXPECT_EQ(ReadFile(out + "/speech1." + ext), bytes) << formats << ext;
  }
  for (const auto& [flag, message] : std::vector<std::pair<std::string, std::string>>{
           {"srt,", "--output-format: empty format in 'srt,' (expected txt, vtt, srt, tsv, json or all)"},
           {"srt,docx", "--output-format: unknown output format 'docx' (expected txt, vtt, srt, tsv, json or all)"}}) {
    RunResult r = Transcribe({"-f", flag, short_audio_});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "wisp transcribe: " + message + " (see `wisp transcribe --help`)\n");
  }
}

TEST_F(CliOutputTest, StdinIsNamedStdinAndOutputNameNamesTheFiles) {
  NEED_MODEL();
  RunResult file = Transcribe({"-f", "txt,json", "-o", dir_ + "/file", short_audio_});
  ASSERT_EQ(file.exit_code, 0) << file.err;
  const std::string txt = ReadFile(dir_ + "/file/speech1.txt");
  const std::string json = ReadFile(dir_ + "/file/speech1.json");
  ASSERT_FALSE(txt.empty());

  RunResult in = Transcribe({"-f", "txt,json", "-o", dir_ + "/in", "-"}, {.stdin_path = short_audio_});
  ASSERT_EQ(in.exit_code, 0) << in.err;
  EXPECT_EQ(in.out, file.out);
  EXPECT_EQ(Tree(dir_ + "/in"), (std::set<std::string>{"stdin.json", "stdin.txt"}));
  EXPECT_EQ(ReadFile(dir_ + "/in/stdin.txt"), txt);
  EXPECT_EQ(ReadFile(dir_ + "/in/stdin.json"), json);

  RunResult named = Transcribe({"-f", "txt", "-o", dir_ + "/named", "--output-name", "talk.v2", "-", "-q"},
                               {.stdin_path = short_audio_});
  ASSERT_EQ(named.exit_code, 0) << named.err;
  EXPECT_EQ(Tree(dir_ + "/named"), (std::set<std::string>{"talk.v2.txt"}));
  EXPECT_EQ(ReadFile(dir_ + "/named/talk.v2.txt"), txt);

  RunResult renamed = Transcribe({"-f", "json", "-o", dir_ + "/renamed", "--output_name", "x", short_audio_, "-q"});
  ASSERT_EQ(renamed.exit_code, 0) << renamed.err;
  EXPECT_EQ(Tree(dir_ + "/renamed"), (std::set<std::string>{"x.json"}));
  EXPECT_EQ(ReadFile(dir_ + "/renamed/x.json"), json);

  for (const auto& [args, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--output-name", "x", "-f", "txt", short_audio_, short_audio_},
            "--output-name names the files of one AUDIO input, got 2 (their files would overwrite each other)"},
           {{"--output-name", "sub/x", "-f", "txt", short_audio_},
            "--output-name: expected a file name without '/', got 'sub/x' (--output-dir chooses the directory)"}}) {
    RunResult r = Transcribe(args);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "wisp transcribe: " + message + " (see `wisp transcribe --help`)\n");
  }
  // Without a result file the name has nothing to name; said, not silently ignored.
  RunResult alone = Transcribe({"--output-name", "x", short_audio_, "-q"});
  EXPECT_EQ(alone.exit_code, 0);
  EXPECT_CONTAINS(alone.err, "wisp transcribe: warning: --output-name has no effect without --output-format or "
                             "--output-dir\n");
}

}  // namespace
