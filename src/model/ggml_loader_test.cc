// The ggml loader against files from the random-model writer: exact round trips for every tensor
// type, and one test per class of malformed file asserting the error text. Most tests use a small
// synthetic model (n_audio_state 64, one layer) built in memory, so they need no shared data; the
// full tiny.en round trips read whisper.cpp's for-tests header from WISP_SHARED_DATA_DIR.
#include "model/ggml_loader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "model/ggml_test_util.h"
#include "model/ggml_types.h"
#include "model/ggml_writer.h"

namespace wisp {
namespace {

const std::string kTinyEnHeader = std::string(WISP_SHARED_DATA_DIR) + "/for-tests-ggml-tiny.en.bin";

#define SKIP_WITHOUT_SHARED_DATA(path)                                                             \
  if (!std::filesystem::exists(path)) {                                                          \
    GTEST_SKIP() << "shared test data absent: " << (path) << " not found (WISP_SHARED_DATA_DIR)"; \
  }

// A header no published model has, but valid for the architecture: width 64, one head.
GgmlHeader SyntheticHeader() {
  GgmlHeader h;
  h.hparams = {51864, 1500, 64, 1, 1, 448, 64, 1, 1, 80, 1};
  h.mel_filters.n_mels = 80;
  h.mel_filters.n_fft = 201;
  for (int i = 0; i < 80 * 201; ++i) h.mel_filters.data.push_back(static_cast<float>(i % 201) / 1024.0f);
  h.vocab = {"!", "hello", ""};
  return h;
}

// The synthetic q8_0 model, built once: conv weights are f16, 1-D tensors f32, matrices q8_0.
const std::vector<uint8_t>& SmallModel() {
  static const std::vector<uint8_t> bytes = [] {
    auto built = BuildRandomGgmlModel(SyntheticHeader(), {/*seed=*/7, GgmlType::kQ8_0, 0});
    EXPECT_TRUE(built.ok()) << built.status().message();
    return built.ok() ? *built : std::vector<uint8_t>();
  }();
  return bytes;
}

// File offsets of every tensor header in a model from the writer, plus the end of the file.
std::vector<size_t> TensorOffsets(const GgmlHeader& header, GgmlType type) {
  std::vector<uint8_t> head;
  AppendGgmlHeader(RandomModelHeader(header, {0, type, 0}), &head);
  std::vector<size_t> offsets = {head.size()};
  for (const GgmlTensorSpec& s : WhisperTensorSpecs(header.hparams)) {
    const size_t header_bytes = 12 + 4 * s.n_dims + s.name.size();
    offsets.push_back(offsets.back() + header_bytes +
                      static_cast<size_t>(GgmlTensorBytes(StoredGgmlType(s, type), s.numel())));
  }
  return offsets;
}

void PatchI32(std::vector<uint8_t>* bytes, size_t offset, int32_t value) {
  std::memcpy(bytes->data() + offset, &value, 4);
}

std::string LoadError(const std::vector<uint8_t>& bytes) {
  auto model = LoadGgmlModelFromMemory(bytes.data(), bytes.size());
  return model.ok() ? std::string("loaded") : model.status().message();
}

size_t SpecIndex(const HParams& hp, const std::string& name) {
  const auto specs = WhisperTensorSpecs(hp);
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].name == name) return i;
  }
  ADD_FAILURE() << "no spec " << name;
  return 0;
}

TEST(GgmlLoader, SmallSyntheticModelLoads) {
  const auto& bytes = SmallModel();
  auto model = LoadGgmlModelFromMemory(bytes.data(), bytes.size());
  ASSERT_TRUE(model.ok()) << model.status().message();
  const LoadedModel& m = **model;
  EXPECT_EQ(m.weights.hparams.ftype, 7);  // q8_0
  EXPECT_EQ(m.vocab, (std::vector<std::string>{"!", "hello", ""}));
  EXPECT_EQ(m.mel_filters.data, SyntheticHeader().mel_filters.data);
  EXPECT_EQ(m.weights.conv1_b.ndim, 1);
  EXPECT_EQ(m.weights.conv1_b.shape[0], 64);
  EXPECT_EQ(m.weights.conv1_w.shape, (std::array<int64_t, 3>{64, 80, 3}));
  EXPECT_EQ(m.weights.token_embedding.shape[0], 51864);
  EXPECT_EQ(m.weights.token_embedding.shape[1], 64);
  EXPECT_EQ(m.weights.encoder_blocks[0].attn.key.b.data, nullptr);
  EXPECT_NE(m.weights.encoder_blocks[0].attn.value.b.data, nullptr);
  EXPECT_EQ(m.weights.decoder_blocks[0].mlp_up.w.shape[0], 256);
  const int n_tensors = static_cast<int>(WhisperTensorSpecs(m.weights.hparams).size());
  EXPECT_EQ(n_tensors, 5 + 15 + 2 + 2 + 24 + 2);
  // From memory nothing is borrowed: every tensor lives in owned storage.
  EXPECT_EQ(m.stats.tensors_in_place, 0);
  EXPECT_EQ(m.stats.tensors_copied + m.stats.tensors_converted, n_tensors);
}

TEST(GgmlLoader, WriterIsDeterministic) {
  auto again = BuildRandomGgmlModel(SyntheticHeader(), {7, GgmlType::kQ8_0, 0});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*again == SmallModel());
  auto other_seed = BuildRandomGgmlModel(SyntheticHeader(), {8, GgmlType::kQ8_0, 0});
  ASSERT_TRUE(other_seed.ok());
  EXPECT_EQ(other_seed->size(), SmallModel().size());
  EXPECT_FALSE(*other_seed == SmallModel());
  EXPECT_EQ(TensorOffsets(SyntheticHeader(), GgmlType::kQ8_0).back(), SmallModel().size());
}

TEST(GgmlLoader, EmptyFile) {
  const std::string path = ::testing::TempDir() + "/wisp_empty.bin";
  std::fclose(std::fopen(path.c_str(), "wb"));
  auto model = LoadGgmlModel(path);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().message(), "'" + path + "': empty file: not a ggml whisper model");
  EXPECT_EQ(model.status().kind(), ErrorKind::kBadInput);
  std::remove(path.c_str());
  EXPECT_EQ(LoadGgmlModel(path).status().kind(), ErrorKind::kNotFound);
}

TEST(GgmlLoader, BadMagic) {
  std::vector<uint8_t> bytes(SmallModel().begin(), SmallModel().begin() + 100);
  std::memcpy(bytes.data(), "GGUF", 4);
  EXPECT_EQ(LoadError(bytes), "not a ggml whisper model: bad magic 0x46554747 at offset 0 (expected 0x67676d6c)");
  EXPECT_EQ(LoadError({0x6c, 0x6d}), "not a ggml whisper model: 2 bytes is too short for the magic");
}

TEST(GgmlLoader, TruncatedInEachSection) {
  const auto& full = SmallModel();
  const std::vector<size_t> tensors = TensorOffsets(SyntheticHeader(), GgmlType::kQ8_0);
  auto prefix = [&](size_t n) { return LoadError(std::vector<uint8_t>(full.begin(), full.begin() + n)); };
  EXPECT_EQ(prefix(22), "truncated header: hparam n_audio_layer at offset 20 runs past the end of the file (22 bytes)");
  EXPECT_EQ(prefix(52), "truncated mel filters: their dimensions at offset 48 run past the end of the file");
  EXPECT_EQ(prefix(1000), "truncated mel filters: 64320 bytes at offset 56 run past the end of the file (944 bytes left)");
  EXPECT_EQ(prefix(56 + 64320 + 2), "truncated vocab: the token count at offset 64376 runs past the end of the file");
  EXPECT_EQ(prefix(64390), "truncated vocab: 3 tokens need at least 12 bytes after offset 64380 but only 10 are left");
  EXPECT_EQ(prefix(64392), "truncated vocab: token 1 of 3 at offset 64385 runs past the end of the file");
  EXPECT_EQ(prefix(tensors[0] - 1), "truncated vocab: token 2 of 3 at offset 64394 runs past the end of the file");
  const std::string at = std::to_string(tensors[0]);
  EXPECT_EQ(prefix(tensors[0] + 7), "truncated tensor header at offset " + at + ": 7 trailing bytes are not a tensor header");
  EXPECT_EQ(prefix(tensors[0] + 14), "truncated tensor header at offset " + at + ": dimensions run past the end of the file");
  EXPECT_EQ(prefix(tensors[0] + 25), "truncated tensor header at offset " + at +
                                         ": name of 28 bytes runs past the end of the file");
  const size_t data_at = tensors[0] + 20 + 28;
  EXPECT_EQ(prefix(data_at + 10), "tensor 'encoder.positional_embedding' at offset " + at + ": 384000 bytes of f32 data at offset " +
                                      std::to_string(data_at) + " run past the end of the file (10 bytes left)");
  EXPECT_EQ(prefix(tensors[1]), "missing tensor encoder.conv1.weight (and 48 more)");
  EXPECT_EQ(prefix(tensors[tensors.size() - 2]), "missing tensor decoder.ln.bias");
}

// Every prefix must fail with a message, never crash or over-read (run under ASan in CI).
TEST(GgmlLoader, EveryPrefixFailsCleanly) {
  const auto& full = SmallModel();
  const std::vector<size_t> tensors = TensorOffsets(SyntheticHeader(), GgmlType::kQ8_0);
  std::vector<size_t> lengths;
  for (size_t n = 0; n < 600; ++n) lengths.push_back(n);
  for (size_t n = 600; n < full.size(); n += 4093) lengths.push_back(n);
  for (size_t t : tensors) {
    for (size_t d : {size_t{1}, size_t{2}, size_t{13}, size_t{47}, size_t{61}}) {
      if (t >= d) lengths.push_back(t - d);
      if (t + d < full.size()) lengths.push_back(t + d);
    }
  }
  for (size_t n : lengths) {
    if (n >= full.size()) continue;
    const std::string error = LoadError(std::vector<uint8_t>(full.begin(), full.begin() + n));
    const bool explained = error.find("truncated") != std::string::npos ||
                           error.find("missing tensor") != std::string::npos ||
                           error.find("run past the end") != std::string::npos ||
                           error.find("empty file") != std::string::npos ||
                           error.find("too short for the magic") != std::string::npos;
    ASSERT_TRUE(explained) << "prefix of " << n << " bytes: " << error;
  }
}

TEST(GgmlLoader, AbsurdHParams) {
  const auto& full = SmallModel();
  auto patched = [&](size_t offset, int32_t value) {
    std::vector<uint8_t> bytes(full.begin(), full.begin() + 200);
    PatchI32(&bytes, offset, value);
    return LoadError(bytes);
  };
  EXPECT_EQ(patched(4, 7), "hparam n_vocab = 7 (header offset 4) is invalid: expected 51864..51866");
  EXPECT_EQ(patched(8, -1500), "hparam n_audio_ctx = -1500 (header offset 8) is invalid: expected 1500");
  EXPECT_EQ(patched(12, 1 << 30), "hparam n_audio_state = 1073741824 (header offset 12) is invalid: expected 1..8192");
  EXPECT_EQ(patched(16, 3), "hparam n_audio_head = 3 (header offset 16) is invalid: expected 1..256 dividing n_audio_state = 64");
  EXPECT_EQ(patched(20, 0), "hparam n_audio_layer = 0 (header offset 20) is invalid: expected 1..64");
  EXPECT_EQ(patched(28, 384), "hparam n_text_state = 384 (header offset 28) is invalid: expected n_audio_state = 64 "
                              "(cross-attention needs equal widths)");
  EXPECT_EQ(patched(36, 100000), "hparam n_text_layer = 100000 (header offset 36) is invalid: expected 1..64");
  EXPECT_EQ(patched(40, 81), "hparam n_mels = 81 (header offset 40) is invalid: expected 80 or 128");
  EXPECT_EQ(patched(44, -1), "hparam ftype = -1 (header offset 44) is negative");
  EXPECT_EQ(patched(44, 3008), "hparam ftype carries quantization version 3; this loader reads versions up to 2");
  EXPECT_NE(patched(44, 12).find("hparam ftype = 12 (header offset 44) is not supported"), std::string::npos);
  EXPECT_EQ(patched(48, 128), "mel filters at offset 48: n_mel = 128 does not match hparam n_mels = 80");
  EXPECT_EQ(patched(52, 200), "mel filters at offset 52: n_fft = 200, expected 201");
  std::vector<uint8_t> bytes = full;
  PatchI32(&bytes, 64376, 0x7fffffff);
  EXPECT_EQ(LoadError(bytes), "vocab at offset 64376: token count 2147483647 out of range 1..n_vocab (51864)");
  PatchI32(&bytes, 64376, 51864);  // in range, but more tokens than the rest of the file can hold
  bytes.resize(64376 + 4 + 100);
  EXPECT_EQ(LoadError(bytes), "truncated vocab: 51864 tokens need at least 207456 bytes after offset 64380 but only 100 are left");
}

class MalformedTensor : public ::testing::Test {
 protected:
  void SetUp() override {
    bytes_ = SmallModel();
    offsets_ = TensorOffsets(SyntheticHeader(), GgmlType::kQ8_0);
  }
  size_t HeaderAt(const std::string& name) { return offsets_[SpecIndex(SyntheticHeader().hparams, name)]; }
  std::vector<uint8_t> bytes_;
  std::vector<size_t> offsets_;
};

TEST_F(MalformedTensor, WrongShape) {
  const size_t at = HeaderAt("encoder.conv1.weight");
  PatchI32(&bytes_, at + 16, 128);  // ne[1]: n_mels
  EXPECT_EQ(LoadError(bytes_), "tensor 'encoder.conv1.weight' at offset " + std::to_string(at) +
                                   " has shape ne=[3, 128, 64] but the hparams require ne=[3, 80, 64]");
}

TEST_F(MalformedTensor, UnknownName) {
  const size_t at = HeaderAt("encoder.conv2.bias");
  bytes_[at + 12 + 8 + std::strlen("encoder.conv")] = '9';
  EXPECT_EQ(LoadError(bytes_), "unknown tensor 'encoder.conv9.bias' at offset " + std::to_string(at));
  bytes_[at + 12 + 8] = 0x01;  // unprintable bytes are escaped in the message
  EXPECT_EQ(LoadError(bytes_), "unknown tensor '\\x01ncoder.conv9.bias' at offset " + std::to_string(at));
}

TEST_F(MalformedTensor, Duplicate) {
  const size_t first = HeaderAt("encoder.conv1.bias"), second = HeaderAt("encoder.conv2.bias");
  bytes_[second + 12 + 8 + std::strlen("encoder.conv")] = '1';  // same length and shape
  EXPECT_EQ(LoadError(bytes_), "duplicate tensor 'encoder.conv1.bias' at offset " + std::to_string(second) +
                                   " (first at offset " + std::to_string(first) + ")");
}

TEST_F(MalformedTensor, UnsupportedType) {
  const size_t at = HeaderAt("encoder.conv1.weight");
  PatchI32(&bytes_, at + 8, 12);  // q4_K
  EXPECT_EQ(LoadError(bytes_), "tensor 'encoder.conv1.weight' at offset " + std::to_string(at) +
                                   " has unsupported ggml type 12 (supported: f32, f16, q4_0, q4_1, q5_0, q5_1, q8_0)");
  PatchI32(&bytes_, at + 8, 8);  // q8_0 needs rows of 32: conv rows have 3 elements
  EXPECT_EQ(LoadError(bytes_), "tensor 'encoder.conv1.weight' at offset " + std::to_string(at) +
                                   " is q8_0 but ne[0] = 3 is not a multiple of the block size 32");
}

TEST_F(MalformedTensor, OldQuantizationVersion) {
  PatchI32(&bytes_, 44, 1007);
  const size_t at = HeaderAt("encoder.blocks.0.attn.query.weight");
  EXPECT_EQ(LoadError(bytes_), "tensor 'encoder.blocks.0.attn.query.weight' at offset " + std::to_string(at) +
                                   " is q8_0 but the file's quantization version is 1 (only version 2 blocks are "
                                   "read; re-quantize with a current whisper.cpp)");
}

TEST_F(MalformedTensor, NDimsOutOfRange) {
  const size_t at = HeaderAt("decoder.ln.weight");
  PatchI32(&bytes_, at, 4);
  EXPECT_EQ(LoadError(bytes_), "tensor header at offset " + std::to_string(at) + ": n_dims = 4 out of range 1..3");
  PatchI32(&bytes_, at, 0);
  EXPECT_EQ(LoadError(bytes_), "tensor header at offset " + std::to_string(at) + ": n_dims = 0 out of range 1..3");
}

TEST_F(MalformedTensor, HugeNameLength) {
  const size_t at = HeaderAt("encoder.ln_post.bias");
  PatchI32(&bytes_, at + 4, 0x7fffffff);
  EXPECT_EQ(LoadError(bytes_), "tensor header at offset " + std::to_string(at) +
                                   ": name length 2147483647 out of range 1..256");
}

TEST_F(MalformedTensor, TrailingBytesAndExtraTensors) {
  std::vector<uint8_t> trailing = bytes_;
  trailing.insert(trailing.end(), {1, 2, 3, 4, 5});
  EXPECT_EQ(LoadError(trailing), "truncated tensor header at offset " + std::to_string(bytes_.size()) +
                                     ": 5 trailing bytes are not a tensor header");
  const int64_t ne[1] = {64};
  const std::vector<float> zeros(64, 0.0f);
  std::vector<uint8_t> extra = bytes_;
  AppendGgmlTensor("decoder.ln.bias", 1, ne, GgmlType::kF32, zeros.data(), &extra);
  EXPECT_NE(LoadError(extra).find("duplicate tensor 'decoder.ln.bias' at offset " + std::to_string(bytes_.size())),
            std::string::npos);
  std::vector<uint8_t> alignment_heads = bytes_;
  AppendGgmlTensor("alignment_heads", 1, ne, GgmlType::kF32, zeros.data(), &alignment_heads);
  EXPECT_EQ(LoadError(alignment_heads), "unknown tensor 'alignment_heads' at offset " + std::to_string(bytes_.size()));
}

TEST(GgmlLoader, HeaderOnlyForTestsFile) {
  SKIP_WITHOUT_SHARED_DATA(kTinyEnHeader);
  auto header = ReadGgmlHeader(kTinyEnHeader);
  ASSERT_TRUE(header.ok()) << header.status().message();
  EXPECT_EQ(header->hparams.n_vocab, 51864);
  EXPECT_EQ(header->hparams.n_audio_state, 384);
  EXPECT_EQ(header->hparams.n_audio_layer, 4);
  EXPECT_EQ(header->hparams.ftype, 1);
  EXPECT_EQ(header->vocab.size(), 50257u);
  EXPECT_EQ(header->vocab[0], "!");
  EXPECT_EQ(header->vocab.back(), "<|endoftext|>");
  EXPECT_EQ(header->mel_filters.data.size(), 80u * 201u);
  EXPECT_EQ(header->tensors_offset, std::filesystem::file_size(kTinyEnHeader));
  auto model = LoadGgmlModel(kTinyEnHeader);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().message(), "'" + kTinyEnHeader + "': missing tensor encoder.positional_embedding (and 166 more): "
                                      "the file holds no tensors (a header-only file such as whisper.cpp's "
                                      "for-tests-ggml-*.bin)");
}

class RoundTrip : public ::testing::TestWithParam<GgmlType> {};

TEST_P(RoundTrip, TinyEnValuesSurviveWriteAndLoad) {
  SKIP_WITHOUT_SHARED_DATA(kTinyEnHeader);
  const GgmlType type = GetParam();
  const std::string path = ::testing::TempDir() + "/wisp_roundtrip_" + GgmlTypeName(static_cast<int32_t>(type)) + ".bin";
  const uint64_t seed = 42;
  ASSERT_TRUE(WriteRandomGgmlModel(kTinyEnHeader, path, {seed, type, 0}).ok());
  const auto start = std::chrono::steady_clock::now();
  auto loaded = LoadGgmlModel(path);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  std::remove(path.c_str());  // the mapping stays valid until the model is destroyed
  const LoadedModel& m = **loaded;
  const HParams& hp = m.weights.hparams;
  std::cout << "tiny.en " << GgmlTypeName(static_cast<int32_t>(type)) << ": loaded in " << ms << " ms; "
            << m.stats.tensors_in_place << " tensors in place, " << m.stats.tensors_copied << " copied (unaligned), "
            << m.stats.tensors_converted << " converted\n";
  RecordProperty("load_ms", std::to_string(ms));
  EXPECT_EQ(hp.ftype, GgmlFileTypeFor(type));
  EXPECT_EQ(hp.n_audio_layer, 4);
  EXPECT_EQ(m.vocab.size(), 50257u);
  const auto specs = WhisperTensorSpecs(hp);
  EXPECT_EQ(m.stats.tensors_in_place + m.stats.tensors_copied + m.stats.tensors_converted,
            static_cast<int>(specs.size()));
  if (type == GgmlType::kF32) {
    EXPECT_GT(m.stats.tensors_in_place, 0);
    EXPECT_EQ(m.stats.tensors_converted, 0);
  }
  for (const GgmlTensorSpec& spec : specs) {
    const Tensor* t = WhisperTensorByName(m.weights, spec.name);
    ASSERT_NE(t, nullptr) << spec.name;
    ASSERT_NE(t->data, nullptr) << spec.name;
    ASSERT_EQ(t->numel(), spec.numel()) << spec.name;
  }
  for (const std::string name : {"encoder.positional_embedding", "encoder.conv1.weight", "encoder.conv1.bias",
                                 "encoder.blocks.0.attn.query.weight", "encoder.blocks.2.mlp_ln.weight",
                                 "decoder.token_embedding.weight", "decoder.blocks.3.cross_attn.out.weight",
                                 "decoder.ln.bias"}) {
    const GgmlTensorSpec& spec = specs[SpecIndex(hp, name)];
    const std::vector<float> drawn = RandomTensorValues(spec, hp, seed);
    const GgmlType stored = StoredGgmlType(spec, type);
    std::vector<uint8_t> encoded(static_cast<size_t>(GgmlTensorBytes(stored, spec.numel())));
    std::vector<float> expected(drawn.size());
    QuantizeRow(stored, drawn.data(), encoded.data(), spec.numel());
    DequantizeRow(stored, encoded.data(), expected.data(), spec.numel());
    const float* got = WhisperTensorByName(m.weights, name)->data;
    for (int64_t i = 0; i < spec.numel(); ++i) {
      ASSERT_EQ(got[i], expected[i]) << name << " element " << i;
      const double err = std::fabs(static_cast<double>(got[i]) - drawn[i]);
      if (stored == GgmlType::kF32) {
        ASSERT_EQ(err, 0.0) << name << " element " << i;
      } else if (stored == GgmlType::kF16) {
        ASSERT_LE(err, std::fabs(drawn[i]) * 0x1p-11 + 0x1p-25) << name << " element " << i;
      } else {
        ASSERT_LE(err, BlockErrorBound(stored, &drawn[i / 32 * 32]) + 1e-12) << name << " element " << i;
      }
    }
  }
  // Spot-check the documented scales through the loaded views.
  EXPECT_EQ(m.weights.conv1_b.ndim, 1);
  EXPECT_EQ(m.weights.encoder_positional.data[0 * 384 + 200], 1.0f);  // cos(0) in the second half
  EXPECT_EQ(m.weights.decoder_blocks[0].attn.key.b.data, nullptr);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, RoundTrip,
                         ::testing::Values(GgmlType::kF32, GgmlType::kF16, GgmlType::kQ8_0, GgmlType::kQ5_0,
                                           GgmlType::kQ5_1, GgmlType::kQ4_0, GgmlType::kQ4_1),
                         [](const auto& info) { return GgmlTypeName(static_cast<int32_t>(info.param)); });

}  // namespace
}  // namespace wisp
