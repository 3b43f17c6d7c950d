#include "model/formats/ctranslate2_reader.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "model/formats/checkpoint_reader.h"
#include "model/formats/ctranslate2_test_writer.h"

namespace wisp {
namespace {

using ct2_test::BuildCt2Model;
using ct2_test::Ct2Mode;
using ct2_test::Ct2Writer;

// Width 64, one head, one layer each: small, valid for the architecture.
HParams SmallHParams() { return {51864, 1500, 64, 1, 1, 448, 64, 1, 1, 80, 0}; }
constexpr uint64_t kSeed = 11;

std::string WriteDir(const std::string& name, const std::vector<uint8_t>& model_bin, const std::string& config,
                     const std::string& vocabulary) {
  const std::string dir = std::string(WISP_BINARY_DIR) + "/test_ct2/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/model.bin", std::ios::binary).write(reinterpret_cast<const char*>(model_bin.data()),
                                                            static_cast<std::streamsize>(model_bin.size()));
  if (!config.empty()) std::ofstream(dir + "/config.json") << config;
  if (!vocabulary.empty()) std::ofstream(dir + "/vocabulary.txt") << vocabulary;
  return dir;
}

const std::string kConfig = R"({"alignment_heads": [[0, 0]], "suppress_ids": [1, 2], "suppress_ids_begin": [220, 50256]})";

class Ct2Formats : public ::testing::TestWithParam<Ct2Mode> {};

// Every tensor the reader hands over, after binding, holds the writer's values: exactly for f32
// and f16 (f16-rounded), within half a quantization step for int8 rows.
TEST_P(Ct2Formats, ValuesMatchTheWrittenWeights) {
  const HParams hp = SmallHParams();
  const Ct2Mode mode = GetParam();
  const std::string dir = WriteDir("values" + std::to_string(static_cast<int>(mode)), BuildCt2Model(hp, kSeed, mode),
                                   kConfig, ct2_test::SyntheticVocabularyTxt(hp.n_vocab));
  ASSERT_EQ(SniffCheckpoint(dir).value(), CheckpointFormat::kCTranslate2Dir);
  LoadOptions keep;
  keep.keep_f32_matrices = true;
  auto model = LoadModel(dir, keep);
  ASSERT_TRUE(model.ok()) << model.status().message();
  const ModelWeights& w = (*model)->weights;
  EXPECT_EQ(w.hparams.n_vocab, 51864);
  EXPECT_EQ(w.hparams.n_audio_state, 64);
  EXPECT_EQ(w.hparams.n_text_layer, 1);
  EXPECT_EQ((*model)->metadata.format, "ctranslate2");
  EXPECT_EQ((*model)->metadata.ordinary_tokens.size(), 50256u);
  EXPECT_EQ((*model)->metadata.ordinary_tokens[0], std::string(1, '\0'));
  EXPECT_EQ((*model)->metadata.ordinary_tokens[' '], " ");
  ASSERT_EQ((*model)->metadata.alignment_heads.size(), 1u);
  EXPECT_EQ((*model)->metadata.suppress_tokens, (std::vector<int>{1, 2}));
  const bool f16 = mode == Ct2Mode::kF16 || mode == Ct2Mode::kInt8F16;
  const bool int8 = mode == Ct2Mode::kInt8 || mode == Ct2Mode::kInt8F16;
  int checked = 0;
  for (const WhisperTensorSpec& spec : WhisperTensorSpecsFor(hp)) {
    const Tensor* t = WhisperTensorByName(w, spec.name);
    ASSERT_NE(t, nullptr) << spec.name;
    ASSERT_NE(t->data, nullptr) << spec.name;
    const std::vector<float> want = ct2_test::RandomValues(hp, spec.name, kSeed);
    ASSERT_EQ(static_cast<int64_t>(want.size()), t->numel()) << spec.name;
    const bool quantized = int8 && spec.shape.size() == 2 && spec.name.find("positional") == std::string::npos;
    const int64_t rows = spec.shape[0], cols = t->numel() / rows;
    for (int64_t r = 0; r < rows; ++r) {
      float amax = 0;
      for (int64_t c = 0; c < cols; ++c) amax = std::max(amax, std::fabs(want[r * cols + c]));
      for (int64_t c = 0; c < cols; ++c) {
        const float v = want[r * cols + c], got = t->data[r * cols + c];
        if (quantized) {
          ASSERT_LE(std::fabs(got - v), 0.5f * amax / 127.0f * 1.0001f) << spec.name << " [" << r << "," << c << "]";
        } else {
          ASSERT_EQ(got, f16 ? F16ToF32(F32ToF16(v)) : v) << spec.name << " [" << r << "," << c << "]";
        }
      }
    }
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(WhisperTensorSpecsFor(hp).size()));
}

INSTANTIATE_TEST_SUITE_P(Modes, Ct2Formats,
                         ::testing::Values(Ct2Mode::kF32, Ct2Mode::kF16, Ct2Mode::kInt8, Ct2Mode::kInt8F16));

// Every vocabulary size and mel count of the published models (width kept small): English
// (51864, 80 mels), multilingual (51865) and large-v3 (51866 tokens, 128 mels).
TEST(Ct2Reader, EveryVocabularyAndMelShape) {
  for (const auto& [n_vocab, n_mels] : {std::pair{51864, 80}, std::pair{51865, 80}, std::pair{51866, 128}}) {
    HParams hp = SmallHParams();
    hp.n_vocab = n_vocab;
    hp.n_mels = n_mels;
    const std::string dir = WriteDir("shape" + std::to_string(n_vocab), BuildCt2Model(hp, kSeed, Ct2Mode::kF16), kConfig,
                                     ct2_test::SyntheticVocabularyTxt(n_vocab));
    auto model = LoadModel(dir);
    ASSERT_TRUE(model.ok()) << n_vocab << ": " << model.status().message();
    EXPECT_EQ((*model)->weights.hparams.n_vocab, n_vocab);
    EXPECT_EQ((*model)->weights.hparams.n_mels, n_mels);
    EXPECT_EQ((*model)->weights.conv1_w.shape[1], n_mels);
    EXPECT_EQ((*model)->metadata.ordinary_tokens.size(), n_vocab == 51864 ? 50256u : 50257u);
  }
}

std::string ParseError(const std::vector<uint8_t>& bytes) {
  auto t = ParseCTranslate2ModelBin(bytes.data(), bytes.size(), "m.bin");
  if (!t.ok()) return t.status().message();
  TensorTable table = std::move(*t);
  table.data_outlives_load = false;
  auto bound = BindTensorTable(std::move(table), LoadOptions{});
  return bound.ok() ? "loaded" : bound.status().message();
}

TEST(Ct2Reader, EveryPrefixFailsCleanly) {
  const std::vector<uint8_t> full = BuildCt2Model(SmallHParams(), kSeed, Ct2Mode::kF16);
  ASSERT_EQ(ParseError(full), "loaded");
  for (size_t n = 0; n < full.size(); n += 1 + n / 16) {
    const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    const std::string e = ParseError(cut);
    EXPECT_NE(e, "loaded") << n;
    EXPECT_EQ(e.rfind("m.bin: ", 0), 0u) << n << ": " << e;
  }
}

TEST(Ct2Reader, HostileHeaders) {
  Ct2Writer w;
  EXPECT_EQ(ParseError(w.Bytes("WhisperSpec", 99)), "m.bin: CTranslate2 binary version 99 (this reader takes 4..6)");
  EXPECT_EQ(ParseError(w.Bytes("TransformerSpec")), "m.bin: a CTranslate2 TransformerSpec model, not Whisper (WhisperSpec)");
  Ct2Writer bad_dtype;
  bad_dtype.Var("encoder/conv1/weight", {2}, 9, {0, 0});
  EXPECT_EQ(ParseError(bad_dtype.Bytes()), "m.bin: variable 0 at offset 26 (encoder/conv1/weight) has unknown dtype 9");
  Ct2Writer lying;
  lying.Var("x", {1000000, 1000000}, 0, {0, 0, 0, 0});
  EXPECT_EQ(ParseError(lying.Bytes()),
            "m.bin: variable 0 at offset 26 (x) holds 4 bytes but its shape and float32 need 4000000000000");
  Ct2Writer twice;
  twice.Var("x", {1}, 0, {0, 0, 0, 0});
  twice.Var("x", {1}, 0, {0, 0, 0, 0});
  EXPECT_EQ(ParseError(twice.Bytes()), "m.bin: variable x appears twice");
  Ct2Writer untied;
  untied.Alias("decoder/projection/weight", "encoder/conv1/weight");
  EXPECT_EQ(ParseError(untied.Bytes()),
            "m.bin: decoder/projection/weight is encoder/conv1/weight, not the token embedding (untied output "
            "projections are not Whisper)");
  EXPECT_EQ(ParseError(Ct2Writer().Bytes()),
            "m.bin: not a Whisper model: conv1, position encodings or embeddings missing or misshapen");
}

TEST(Ct2Reader, MissingScaleAndExtraLayer) {
  const HParams hp = SmallHParams();
  std::vector<uint8_t> good = BuildCt2Model(hp, kSeed, Ct2Mode::kInt8);
  // Rename the first "_scale" variable: its weight is int8 without scales.
  const std::string key = "decoder/embeddings/weight_scale";
  auto it = std::search(good.begin(), good.end(), key.begin(), key.end());
  ASSERT_NE(it, good.end());
  *(it + static_cast<std::ptrdiff_t>(key.size()) - 1) = 'X';
  EXPECT_EQ(ParseError(good), "m.bin: int8 variable decoder/embeddings/weight has no decoder/embeddings/weight_scale");
}

TEST(Ct2Reader, ConfigAndVocabularyErrors) {
  const HParams hp = SmallHParams();
  const std::vector<uint8_t> bin = BuildCt2Model(hp, kSeed, Ct2Mode::kF16);
  const std::string vocab = ct2_test::SyntheticVocabularyTxt(hp.n_vocab);
  auto err = [&](const std::string& name, const std::string& config, const std::string& v) {
    auto t = ReadCTranslate2Dir(WriteDir(name, bin, config, v));
    return t.ok() ? std::string("read") : t.status().message();
  };
  const std::string base = std::string(WISP_BINARY_DIR) + "/test_ct2/";
  EXPECT_EQ(err("heads", R"({"alignment_heads": [[3, 0]]})", vocab),
            base + "heads/config.json: alignment head [3,0] is not a [layer, head] of a 1-layer, 1-head decoder");
  EXPECT_EQ(err("suppress", R"({"suppress_ids": [99999]})", vocab),
            base + "suppress/config.json: suppress_ids holds 99999, not a token id below 51864");
  EXPECT_EQ(err("notjson", "{", vocab), base + "notjson/config.json: not a JSON object");
  EXPECT_EQ(err("novocab", kConfig, ""),
            base + "novocab: no vocabulary.txt, vocabulary.json or tokenizer.json next to model.bin");
  EXPECT_EQ(err("short", kConfig, "a\nb\n"),
            base + "short/vocabulary.txt: 2 tokens, but the model's embedding has 51864 rows");
  std::string no_eot = vocab;
  no_eot.replace(no_eot.find("<|endoftext|>"), 13, "endoftext");
  EXPECT_EQ(err("noeot", kConfig, no_eot),
            base + "noeot/vocabulary.txt: no <|endoftext|> token among 51864 entries: not a Whisper vocabulary");
  EXPECT_EQ(err("ok", kConfig, vocab), "read");
}

TEST(Ct2Reader, ConfigDimsDisagreeingWithTensorsAreCaughtByTheBinder) {
  // A model.bin whose decoder has 2 heads declared over a width the heads do not divide.
  HParams hp = SmallHParams();
  std::vector<uint8_t> bin = BuildCt2Model(hp, kSeed, Ct2Mode::kF32);
  const std::string key = "decoder/num_heads";
  auto it = std::search(bin.begin(), bin.end(), key.begin(), key.end());
  ASSERT_NE(it, bin.end());
  // name, NUL, rank 0, dtype, u32 n_bytes, then the int16 value.
  *(it + static_cast<std::ptrdiff_t>(key.size()) + 1 + 1 + 1 + 4) = 3;
  EXPECT_EQ(ParseError(bin), "hparam n_text_head = 3 is invalid: expected 1..256 dividing n_text_state = 64");
}

TEST(Sniff, UnrelatedDirectoryAndFiles) {
  const std::string dir = std::string(WISP_BINARY_DIR) + "/test_ct2/unrelated";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/notes.txt") << "hello";
  auto s = SniffCheckpoint(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("a directory without a Whisper model"), std::string::npos);
  auto f = SniffCheckpoint(dir + "/notes.txt");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("unknown model format (first bytes 0x6c6c6568)"), std::string::npos);
  EXPECT_EQ(SniffCheckpoint(dir + "/none").status().message(), "'" + dir + "/none': no such file or directory");
}

}  // namespace
}  // namespace wisp
