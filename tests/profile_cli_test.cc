// `wisp profile` and `wisp bench` as a user runs them (build/bin/wisp in a child process, a
// one-layer random-weight tiny.en model, a few seconds of generated audio), and the FLOP/byte
// model behind `wisp bench` against figures known from the seed report.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "cli/hardware_limits.h"
#include "model/ggml_loader.h"
#include "model/ggml_writer.h"
#include "wisp_runner.h"

namespace {

const std::string kTinyEnHeader = std::string(WISP_SHARED_DATA_DIR) + "/for-tests-ggml-tiny.en.bin";

using wisp_test::kWisp;
using wisp_test::ReadFile;
using wisp_test::RunResult;
using wisp_test::RunWisp;

// 16-kHz mono 16-bit PCM: a vowel-like tone whose pitch glides, with a little noise.
void WriteTestWav(const std::string& path, double seconds) {
  const int rate = 16000;
  const uint32_t n = static_cast<uint32_t>(seconds * rate);
  std::vector<int16_t> pcm(n);
  uint32_t seed = 1;
  double phase = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / rate;
    phase += 2 * M_PI * (140 + 60 * std::sin(2 * M_PI * 0.5 * t)) / rate;
    seed = seed * 1664525u + 1013904223u;
    const double noise = ((seed >> 8) / 16777216.0 - 0.5) * 0.05;
    const double v = 0.3 * std::sin(phase) + 0.15 * std::sin(3 * phase) + noise;
    pcm[i] = static_cast<int16_t>(std::lround(v * 32767));
  }
  std::ofstream f(path, std::ios::binary);
  auto u32 = [&](uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
  f.write("RIFF", 4);
  u32(36 + 2 * n);
  f.write("WAVEfmt ", 8);
  u32(16);
  u16(1);
  u16(1);
  u32(rate);
  u32(rate * 2);
  u16(2);
  u16(16);
  f.write("data", 4);
  u32(2 * n);
  f.write(reinterpret_cast<const char*>(pcm.data()), 2 * n);
}

// Section `name` of the profile output: from "## name" to the next "## " heading (or the end).
std::string Section(const std::string& out, const std::string& name) {
  const size_t begin = out.find("## " + name + "\n");
  if (begin == std::string::npos) return "";
  const size_t end = out.find("\n## ", begin + 3);
  return out.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// The "Fast path (%)" column of the section's total row.
std::string TotalFastShare(const std::string& section) {
  const size_t row = section.find("total (Method::execute)** |");
  if (row == std::string::npos) return "";
  const size_t eol = section.find('\n', row);
  const std::string line = section.substr(row, eol - row);
  const size_t last_bar = line.rfind('|');
  const size_t prev_bar = line.rfind('|', last_bar - 1);
  std::string cell = line.substr(prev_bar + 1, last_bar - prev_bar - 1);
  cell.erase(0, cell.find_first_not_of(' '));
  cell.erase(cell.find_last_not_of(' ') + 1);
  return cell;
}

class ProfileCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kWisp.c_str(), X_OK), 0) << kWisp << " is not built";
    if (access(kTinyEnHeader.c_str(), R_OK) != 0) {
      GTEST_SKIP() << kTinyEnHeader << " is absent (shared data not mounted); the profile tests need its header";
    }
    char dir[] = "/tmp/wisp_profile_test_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    model_ = dir_ + "/ggml-random-tiny.en-1layer.bin";
    wisp::RandomModelOptions options;
    options.type = wisp::GgmlType::kF32;
    options.n_layers = 1;
    ASSERT_TRUE(wisp::WriteRandomGgmlModel(kTinyEnHeader, model_, options).ok());
    audio_ = dir_ + "/tone.wav";
    WriteTestWav(audio_, 3.0);
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  std::string dir_, model_, audio_;
};

TEST_F(ProfileCliTest, FastBackendTablesAndTrace) {
  const std::string trace = dir_ + "/trace.json";
  RunResult r = RunWisp({"profile", "-m", model_, "--threads", "2", "--backend", "fast", "--trace", trace, audio_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string encoder = Section(r.out, "encoder");
  const std::string decoder = Section(r.out, "decoder");
  ASSERT_FALSE(encoder.empty()) << r.out;
  ASSERT_FALSE(decoder.empty()) << r.out;
  for (const std::string* s : {&encoder, &decoder}) {
    EXPECT_CONTAINS(*s, "| Op Name | Total Time (ms) | Share (%) | Calls | Fast path | Fast path (%) |");
    EXPECT_CONTAINS(*s, "total (Method::execute)**");
    for (const char* op : {"| linear |", "| attention |", "| layer_norm |", "| gelu |", "| add |"}) {
      EXPECT_CONTAINS(*s, op);
    }
  }
  EXPECT_CONTAINS(encoder, "| conv1d |");
  EXPECT_EQ(decoder.find("| conv1d |"), std::string::npos) << "conv1d is encoder work:\n" << decoder;
  EXPECT_EQ(TotalFastShare(encoder), "100.0");
  EXPECT_EQ(TotalFastShare(decoder), "100.0");
  // One 3-s clip: one window, so exactly one encoder call and (with 1 layer) 2 conv1d calls.
  EXPECT_CONTAINS(encoder, "| conv1d | ");
  EXPECT_CONTAINS(encoder, "1 call(s) (30-s windows)");
  EXPECT_CONTAINS(decoder, "ms per call");

  // The trace: a JSON object with one "X" event per op call. A small structural check: balanced
  // brackets outside strings, and the X events counted.
  const std::string json = ReadFile(trace);
  ASSERT_FALSE(json.empty());
  EXPECT_EQ(json.rfind("{\"traceEvents\":[", 0), 0u);
  int depth = 0, min_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') min_depth = std::min(min_depth, --depth);
  }
  EXPECT_EQ(depth, 0);
  EXPECT_EQ(min_depth, 0);
  EXPECT_FALSE(in_string);
  size_t x_events = 0;
  for (size_t pos = json.find("\"ph\":\"X\""); pos != std::string::npos; pos = json.find("\"ph\":\"X\"", pos + 1)) {
    ++x_events;
  }
  EXPECT_GT(x_events, 0u);
  EXPECT_CONTAINS(json, "\"cat\":\"encoder\"");
  EXPECT_CONTAINS(json, "\"cat\":\"decoder\"");
}

// --no-fallback: a random model never ends a window, so with whisper's fallback the plain loops
// would decode 224 tokens at 0 and again 5 candidates at each of 0.2, ..., 1.0 (~80 s in Release,
// ~300 s under the sanitizers); one pass runs every op of the decoder just as well.
TEST_F(ProfileCliTest, ReferenceBackendRunsOffTheFastPath) {
  RunResult r = RunWisp(
      {"profile", "-m", model_, "--threads", "2", "--backend", "reference", "--no-fallback", "-q", audio_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(TotalFastShare(Section(r.out, "encoder")), "0.0") << r.out;
  EXPECT_EQ(TotalFastShare(Section(r.out, "decoder")), "0.0") << r.out;
  EXPECT_CONTAINS(Section(r.out, "encoder"), "| linear |");
}

TEST_F(ProfileCliTest, UsageErrors) {
  RunResult help = RunWisp({"profile", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* flag : {"--model", "--threads", "--backend", "--trace", "--language", "--no-fallback", "--quiet"}) {
    EXPECT_CONTAINS(help.out, flag);
  }
  RunResult no_model = RunWisp({"profile", audio_});
  EXPECT_EQ(no_model.exit_code, 1);
  EXPECT_CONTAINS(no_model.err, "missing -m/--model");
  RunResult bad_backend = RunWisp({"profile", "-m", model_, "--backend", "gpu", audio_});
  EXPECT_EQ(bad_backend.exit_code, 1);
  EXPECT_CONTAINS(bad_backend.err, "--backend: expected fast or reference, got 'gpu'");
  RunResult missing_audio = RunWisp({"profile", "-m", model_, dir_ + "/none.wav"});
  EXPECT_EQ(missing_audio.exit_code, 2);

  RunResult bench_help = RunWisp({"bench", "--help"});
  EXPECT_EQ(bench_help.exit_code, 0);
  for (const char* flag :
       {"--model", "--random", "--header", "--type", "--threads", "--backend", "--reps", "--compute"}) {
    EXPECT_CONTAINS(bench_help.out, flag);
  }
  RunResult bench_compute = RunWisp({"bench", "--random", "tiny.en", "--compute", "fp8"});
  EXPECT_EQ(bench_compute.exit_code, 1);
  EXPECT_CONTAINS(bench_compute.err, "--compute: expected auto, f32, bf16 or int8, got 'fp8'");
  RunResult bench_both = RunWisp({"bench", "-m", model_, "--random", "tiny.en"});
  EXPECT_EQ(bench_both.exit_code, 1);
  EXPECT_CONTAINS(bench_both.err, "exactly one of -m MODEL and --random NAME");
  RunResult bench_type = RunWisp({"bench", "--random", "tiny.en", "--type", "q3"});
  EXPECT_EQ(bench_type.exit_code, 1);
  EXPECT_CONTAINS(bench_type.err, "--type: expected f32, f16 or q8_0, got 'q3'");
}

// The bench on the one-layer model, with a 64-MB bandwidth buffer instead of 1 GB: every row
// and the bound line are there.
TEST_F(ProfileCliTest, BenchPrintsTheTable) {
  RunResult r = RunWisp({"bench", "-m", model_, "--threads", "1", "--reps", "1", "--warmup", "0", "--bandwidth-mb", "64"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "| Figure | Median (ms) | Work | Rate | % of limit |");
  EXPECT_CONTAINS(r.out, "| load (ggml) |");  // the row names the format (c930f43)
  EXPECT_CONTAINS(r.out, "| encoder, one 30-s window |");
  EXPECT_CONTAINS(r.out, "| decoder: static call, 128 tokens, all logits, cross K/V included |");
  EXPECT_CONTAINS(r.out, "| decoder: static call, 128 tokens, last logits, cross K/V excluded |");
  EXPECT_CONTAINS(r.out, "| decoder: static call, 128 tokens, last logits, cross K/V included |");
  EXPECT_CONTAINS(r.out, "| decode step at position 64 (per token) |");
  EXPECT_CONTAINS(r.out, "decode step bandwidth bound:");
  EXPECT_CONTAINS(r.out, "% of FMA peak");
  EXPECT_CONTAINS(r.out, "peak RSS");
  EXPECT_CONTAINS(r.out, "- FMA peak (");
  EXPECT_CONTAINS(r.out, "- read bandwidth (sum over 64 MB)");
  EXPECT_CONTAINS(r.out, "(asked: auto)");  // which type auto takes: BenchComputeType
}

// --compute: bf16 where the CPU has AVX512_BF16 (else f32 with the reason), int8 where it has
// AVX-512 VNNI, for a float model too.
TEST_F(ProfileCliTest, BenchComputeType) {
  RunResult bf16 = RunWisp({"bench", "-m", model_, "--only", "encoder", "--compute", "bf16", "--reps", "1", "--warmup",
                            "0", "--bandwidth-mb", "64"});
  ASSERT_EQ(bf16.exit_code, 0) << bf16.err;
  EXPECT_CONTAINS(bf16.out, "(asked: bf16)");
  const bool have_bf16 = bf16.out.find("- compute bf16 (asked: bf16)") != std::string::npos;
  if (!have_bf16) EXPECT_CONTAINS(bf16.out, "- compute f32 (asked: bf16): compute bf16 needs AVX512_BF16");
  // auto on a float model: bf16 where the CPU has it (within the drift budget), else exact f32.
  RunResult automatic = RunWisp({"bench", "-m", model_, "--only", "encoder", "--reps", "1", "--warmup", "0"});
  ASSERT_EQ(automatic.exit_code, 0) << automatic.err;
  EXPECT_CONTAINS(automatic.out, have_bf16 ? "- compute bf16 (asked: auto)" : "- compute f32 (asked: auto)");
  // int8 on a float model: its matrices quantized at load (AVX-512 VNNI; else f32 with the reason).
  RunResult int8 = RunWisp({"bench", "-m", model_, "--only", "encoder", "--compute", "int8", "--reps", "1", "--warmup",
                            "0", "--bandwidth-mb", "64"});
  ASSERT_EQ(int8.exit_code, 0) << int8.err;
  if (int8.out.find("- compute int8 (asked: int8)") == std::string::npos) {
    EXPECT_CONTAINS(int8.out, "- compute f32 (asked: int8): compute int8 needs AVX-512 VNNI");
  }
}

// --- The FLOP / byte model of `wisp bench` ---

wisp::HParams TinyEn() {
  wisp::HParams hp;
  hp.n_vocab = 51864;
  hp.n_audio_ctx = 1500;
  hp.n_audio_state = 384;
  hp.n_audio_head = 6;
  hp.n_audio_layer = 4;
  hp.n_text_ctx = 448;
  hp.n_text_state = 384;
  hp.n_text_head = 6;
  hp.n_text_layer = 4;
  hp.n_mels = 80;
  return hp;
}

TEST(BenchWorkModel, EncoderWindowOfTinyIsAbout37Gflop) {
  const wisp::HParams hp = TinyEn();
  const double gflop = wisp::EncoderWindowFlops(hp) / 1e9;
  EXPECT_NEAR(gflop, 37.0, 0.03 * 37.0);
  // By hand: conv1 2*3000*384*240 + conv2 2*1500*384*1152, per layer 24*1500*384^2 (GEMMs)
  // + 4*1500^2*384 (QK^T, PV).
  const double exact = 2.0 * 3000 * 384 * 240 + 2.0 * 1500 * 384 * 1152 +
                       4 * (24.0 * 1500 * 384 * 384 + 4.0 * 1500 * 1500 * 384);
  EXPECT_DOUBLE_EQ(wisp::EncoderWindowFlops(hp), exact);
}

TEST(BenchWorkModel, StaticDecoderCallOfTinyIsAbout12Gflop) {
  const wisp::HParams hp = TinyEn();
  const double with_kv = (wisp::DecoderCallFlops(hp, 128, 0, true) + wisp::CrossKvFlops(hp)) / 1e9;
  EXPECT_NEAR(with_kv, 12.0, 0.03 * 12.0);
  // The logits (2*128*384*51864 = 5.1 GFLOP) dominate the call without cross K/V.
  EXPECT_NEAR(wisp::DecoderCallFlops(hp, 128, 0, true) / 1e9, 8.44, 0.05);
  EXPECT_DOUBLE_EQ(wisp::CrossKvFlops(hp), 4 * 4.0 * 1500 * 384 * 384);
  // Only the last token's logits: 127 rows of the logits GEMM fewer.
  EXPECT_DOUBLE_EQ(wisp::DecoderCallFlops(hp, 128, 0, true) - wisp::DecoderCallFlops(hp, 128, 0, false),
                   2.0 * 127 * 384 * 51864);
  // Causal self-attention: a token at position p sees p + 1 keys.
  EXPECT_DOUBLE_EQ(wisp::DecoderCallFlops(hp, 1, 64, false) - wisp::DecoderCallFlops(hp, 1, 63, false),
                   4 * 2 * 2.0 * 384);
}

// The work each peer's "decoder static 128" figure covers (docs/PEERS.md): all rows of logits
// with K/V (openai-whisper, ONNX, ExecuTorch), last row with K/V (CTranslate2's prompt pass),
// last row without K/V (whisper_decode; whisper_encode makes the K/V).
TEST(BenchWorkModel, StaticDecoderCallWithLastLogitsOfTinyIsAbout7Gflop) {
  const wisp::HParams hp = TinyEn();
  // By hand, per layer: self Q/K/V/out 4*2*128*384^2, causal QK^T and PV over 128*129/2 keys
  // 2*2*8256*384, cross Q/out 2*2*128*384^2, cross attention 2*2*128*1500*384, MLP
  // 2*2*128*384*1536; then one row onto the vocabulary 2*384*51864.
  const double layer = 4 * 2.0 * 128 * 384 * 384 + 2 * 2.0 * 8256 * 384 + 2 * 2.0 * 128 * 384 * 384 +
                       2 * 2.0 * 128 * 1500 * 384 + 2 * 2.0 * 128 * 384 * 1536;
  const double last_no_kv = 4 * layer + 2.0 * 384 * 51864;
  EXPECT_DOUBLE_EQ(wisp::StaticDecoderFlops(hp, 128, /*all_logits=*/false, /*with_cross_kv=*/false), last_no_kv);
  EXPECT_NEAR(last_no_kv / 1e9, 3.38, 0.01);
  EXPECT_DOUBLE_EQ(wisp::StaticDecoderFlops(hp, 128, false, true), last_no_kv + wisp::CrossKvFlops(hp));
  EXPECT_NEAR(wisp::StaticDecoderFlops(hp, 128, false, true) / 1e9, 6.92, 0.01);
  // The all-logits call with K/V is the ~12 GFLOP figure; the difference is 127 rows of logits.
  EXPECT_DOUBLE_EQ(wisp::StaticDecoderFlops(hp, 128, true, true),
                   wisp::DecoderCallFlops(hp, 128, 0, true) + wisp::CrossKvFlops(hp));
  EXPECT_DOUBLE_EQ(wisp::StaticDecoderFlops(hp, 128, true, true) - wisp::StaticDecoderFlops(hp, 128, false, true),
                   2.0 * 127 * 384 * 51864);
}

TEST(BenchWorkModel, DecodeStepReadsWeightsEmbeddingAndKvCache) {
  const wisp::HParams hp = TinyEn();
  const wisp::DecodeStepBytes b = wisp::DecodeStepReadBytes(hp, 64);
  // 14 d^2 matrices per layer plus the 51864 x 384 embedding, f32: ~112.8 MB.
  EXPECT_NEAR(b.weights / 1e6, (4 * 14.0 * 384 * 384 + 51864.0 * 384) * 4 / 1e6, 0.2);
  EXPECT_EQ(b.kv_cache, int64_t{4} * 4 * (2 * 65 * 384 + 2 * 1500 * 384));
  EXPECT_EQ(b.total(), b.weights + b.kv_cache);
  // Under compute bf16: bf16 matrices and cross-attention K/V, the self-attention cache still f32.
  const wisp::DecodeStepBytes bf16 = wisp::DecodeStepReadBytes(hp, 64, 2.0, 2);
  EXPECT_EQ(bf16.kv_cache, int64_t{4} * (4 * 2 * 65 * 384 + 2 * 2 * 1500 * 384));
}

}  // namespace
