// ggml_convert: every converted tensor is byte for byte what ggml's reference quantizer makes of
// the source's f32 values; conversions that need no rounding (f16 -> f16, q5_1 -> q5_1, CTranslate2
// f16 -> f16) reproduce the source exactly; the file is only ever complete or absent.
#include "model/ggml_convert.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "model/formats/checkpoint_reader.h"
#include "model/formats/ctranslate2_test_writer.h"
#include "model/ggml_writer.h"

namespace wisp {
namespace {

// Width 64, one head, one layer each: every matrix row is two 32-blocks, and the model is small.
HParams SmallHParams() { return {51864, 1500, 64, 1, 1, 448, 64, 1, 1, 80, 0}; }
constexpr uint64_t kSeed = 5;

MelFilters SyntheticFilters(int n_mels) {
  MelFilters f{n_mels, 201, std::vector<float>(static_cast<size_t>(n_mels) * 201)};
  for (size_t i = 0; i < f.data.size(); ++i) f.data[i] = static_cast<float>(i % 7) * 0.125f;
  return f;
}

GgmlHeader SmallHeader() {
  GgmlHeader h;
  h.hparams = SmallHParams();
  h.mel_filters = SyntheticFilters(80);
  h.vocab = {"!", "\"", std::string("\xff\x00", 2), " the"};
  return h;
}

std::string TestDir(const std::string& name) {
  const std::string dir = std::string(WISP_BINARY_DIR) + "/test_convert/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// A random-weight ggml model of `type` written to dir/name, read back as a TensorTable.
TensorTable RandomGgmlTable(const std::string& dir, const std::string& name, GgmlType type,
                            std::vector<uint8_t>* bytes = nullptr) {
  RandomModelOptions options;
  options.seed = kSeed;
  options.type = type;
  Result<std::vector<uint8_t>> model = BuildRandomGgmlModel(SmallHeader(), options);
  EXPECT_TRUE(model.ok()) << model.status().message();
  WriteBytes(dir + "/" + name, *model);
  if (bytes != nullptr) *bytes = *model;
  Result<TensorTable> table = ReadGgmlFile(dir + "/" + name);
  EXPECT_TRUE(table.ok()) << table.status().message();
  return std::move(*table);
}

class ConvertEveryType : public ::testing::TestWithParam<GgmlType> {};

// f32 source -> each type: every tensor's bytes equal QuantizeRow(stored type) of the source's
// values, the file equals what the random writer makes directly in that type (whisper.cpp's
// layout: header, ftype, quantization version, tensor order), and it loads.
TEST_P(ConvertEveryType, TensorsAreQuantizeRowOfTheSource) {
  const GgmlType type = GetParam();
  const std::string dir = TestDir("every_" + GgmlTypeName(static_cast<int32_t>(type)));
  const TensorTable source = RandomGgmlTable(dir, "f32.bin", GgmlType::kF32);
  GgmlConvertOptions options;
  options.type = type;
  Result<std::vector<uint8_t>> out = ConvertToGgmlBytes(source, options);
  ASSERT_TRUE(out.ok()) << out.status().message();

  RandomModelOptions direct;
  direct.seed = kSeed;
  direct.type = type;
  EXPECT_TRUE(*out == BuildRandomGgmlModel(SmallHeader(), direct).value());

  const std::string path = dir + "/out.bin";
  WriteBytes(path, *out);
  Result<GgmlHeader> header = ReadGgmlHeader(path);
  ASSERT_TRUE(header.ok()) << header.status().message();
  EXPECT_EQ(header->hparams.ftype, GgmlFileTypeFor(type));
  EXPECT_EQ(header->quant_version, IsQuantizedGgmlType(type) ? 2 : 0);
  EXPECT_EQ(header->vocab, SmallHeader().vocab);
  EXPECT_EQ(header->mel_filters.data, SmallHeader().mel_filters.data);

  Result<TensorTable> written = ReadGgmlFile(path);
  ASSERT_TRUE(written.ok()) << written.status().message();
  int quantized = 0;
  for (const GgmlTensorSpec& spec : WhisperTensorSpecs(SmallHParams())) {
    const SourceTensor& t = written->tensors[static_cast<size_t>(written->Find(spec.name))];
    const GgmlType want_type = StoredGgmlType(spec, type);
    ASSERT_EQ(t.ggml_type, want_type) << spec.name;
    const std::vector<float> values = RandomTensorValues(spec, SmallHParams(), kSeed);
    std::vector<uint8_t> want(static_cast<size_t>(GgmlTensorBytes(want_type, spec.numel())));
    QuantizeRow(want_type, values.data(), want.data(), spec.numel());
    ASSERT_EQ(t.bytes, want.size()) << spec.name;
    ASSERT_EQ(std::memcmp(t.data, want.data(), want.size()), 0) << spec.name;
    if (want_type == GgmlType::kF16) {  // and so decodes to f32 -> f16 -> f32 of the source
      std::vector<float> got(values.size());
      SourceTensorToF32(t, got.data());
      for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(got[i], F16ToF32(F32ToF16(values[i]))) << spec.name;
    }
    quantized += IsQuantizedGgmlType(want_type);
  }
  // Every matrix but the positional embeddings takes a quantized type: 6 per encoder layer, 10
  // per decoder layer, and the token embedding.
  EXPECT_EQ(quantized, IsQuantizedGgmlType(type) ? 17 : 0);
  EXPECT_TRUE(LoadGgmlModel(path).ok());
}

INSTANTIATE_TEST_SUITE_P(Types, ConvertEveryType,
                         ::testing::Values(GgmlType::kF32, GgmlType::kF16, GgmlType::kQ8_0, GgmlType::kQ5_0,
                                           GgmlType::kQ5_1, GgmlType::kQ4_0, GgmlType::kQ4_1),
                         [](const auto& info) { return GgmlTypeName(static_cast<int32_t>(info.param)); });

// Re-writing a file in its own type is lossless: f16 -> f16 and q5_1 -> q5_1 give the same bytes.
TEST(GgmlConvert, SameTypeReproducesTheFile) {
  const std::string dir = TestDir("same");
  for (GgmlType type : {GgmlType::kF16, GgmlType::kQ5_1, GgmlType::kQ8_0}) {
    std::vector<uint8_t> original;
    const TensorTable source = RandomGgmlTable(dir, "in.bin", type, &original);
    GgmlConvertOptions options;
    options.type = type;
    Result<std::vector<uint8_t>> out = ConvertToGgmlBytes(source, options);
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_TRUE(*out == original) << GgmlTypeName(static_cast<int32_t>(type));
  }
}

// A quantized source to another type goes through its dequantized values.
TEST(GgmlConvert, Q8ToQ4UsesTheDequantizedValues) {
  const std::string dir = TestDir("q8_to_q4");
  const TensorTable source = RandomGgmlTable(dir, "q8.bin", GgmlType::kQ8_0);
  GgmlConvertOptions options;
  options.type = GgmlType::kQ4_0;
  Result<std::vector<uint8_t>> out = ConvertToGgmlBytes(source, options);
  ASSERT_TRUE(out.ok()) << out.status().message();
  WriteBytes(dir + "/q4.bin", *out);
  Result<TensorTable> written = ReadGgmlFile(dir + "/q4.bin");
  ASSERT_TRUE(written.ok()) << written.status().message();
  const SourceTensor& src = source.tensors[static_cast<size_t>(source.Find("decoder.blocks.0.mlp.0.weight"))];
  const SourceTensor& got = written->tensors[static_cast<size_t>(written->Find("decoder.blocks.0.mlp.0.weight"))];
  ASSERT_EQ(src.ggml_type, GgmlType::kQ8_0);
  ASSERT_EQ(got.ggml_type, GgmlType::kQ4_0);
  std::vector<float> values(static_cast<size_t>(src.numel()));
  SourceTensorToF32(src, values.data());
  std::vector<uint8_t> want(static_cast<size_t>(GgmlTensorBytes(GgmlType::kQ4_0, src.numel())));
  QuantizeRow(GgmlType::kQ4_0, values.data(), want.data(), src.numel());
  ASSERT_EQ(got.bytes, want.size());
  EXPECT_EQ(std::memcmp(got.data, want.data(), want.size()), 0);
}

std::string WriteCt2Dir(const std::string& name, ct2_test::Ct2Mode mode) {
  const std::string dir = TestDir(name);
  WriteBytes(dir + "/model.bin", ct2_test::BuildCt2Model(SmallHParams(), kSeed, mode));
  std::ofstream(dir + "/config.json") << R"({"alignment_heads": [[0, 0]]})";
  std::ofstream(dir + "/vocabulary.txt") << ct2_test::SyntheticVocabularyTxt(SmallHParams().n_vocab);
  return dir;
}

// CTranslate2 f16 -> ggml f16: no value changes (every f16 widens and narrows exactly; the fused
// QKV rows split back into query/key/value), the vocabulary's raw bytes and the given filters.
TEST(GgmlConvert, Ct2F16ToGgmlF16KeepsEveryValue) {
  const std::string dir = WriteCt2Dir("ct2_f16", ct2_test::Ct2Mode::kF16);
  Result<TensorTable> ct2 = ReadCheckpoint(dir);
  ASSERT_TRUE(ct2.ok()) << ct2.status().message();
  ASSERT_TRUE(ct2->mel_filters.data.empty());
  GgmlConvertOptions options;
  options.type = GgmlType::kF16;
  options.mel_filters = SyntheticFilters(80);
  Result<std::vector<uint8_t>> out = ConvertToGgmlBytes(*ct2, options);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const std::string path = dir + "/../ct2_f16.bin";
  WriteBytes(path, *out);

  Result<GgmlHeader> header = ReadGgmlHeader(path);
  ASSERT_TRUE(header.ok()) << header.status().message();
  EXPECT_EQ(header->vocab, ct2->metadata.ordinary_tokens);
  EXPECT_EQ(header->vocab.size(), 50256u);
  EXPECT_EQ(header->mel_filters.data, options.mel_filters.data);

  LoadOptions keep;
  keep.keep_f32_matrices = true;
  Result<std::unique_ptr<LoadedModel>> model = LoadGgmlModel(path, keep);
  ASSERT_TRUE(model.ok()) << model.status().message();
  for (const WhisperTensorSpec& spec : WhisperTensorSpecsFor(SmallHParams())) {
    const SourceTensor& src = ct2->tensors[static_cast<size_t>(ct2->Find(spec.name))];
    std::vector<float> want(static_cast<size_t>(src.numel()));
    SourceTensorToF32(src, want.data());
    const std::vector<float> drawn = ct2_test::RandomValues(SmallHParams(), spec.name, kSeed);
    const Tensor* t = WhisperTensorByName((*model)->weights, spec.name);
    ASSERT_NE(t, nullptr) << spec.name;
    ASSERT_EQ(t->numel(), src.numel()) << spec.name;
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(t->data[i], want[i]) << spec.name << " [" << i << "]";
      ASSERT_EQ(want[i], F16ToF32(F32ToF16(drawn[i]))) << spec.name << " [" << i << "]";
    }
  }
}

// CTranslate2 int8 rows -> q8_0: the rows' dequantized values (q / scale) through QuantizeRow.
TEST(GgmlConvert, Ct2Int8ToQ8_0QuantizesTheDequantizedRows) {
  const std::string dir = WriteCt2Dir("ct2_int8", ct2_test::Ct2Mode::kInt8);
  Result<TensorTable> ct2 = ReadCheckpoint(dir);
  ASSERT_TRUE(ct2.ok()) << ct2.status().message();
  GgmlConvertOptions options;
  options.type = GgmlType::kQ8_0;
  options.mel_filters = SyntheticFilters(80);
  Result<std::vector<uint8_t>> out = ConvertToGgmlBytes(*ct2, options);
  ASSERT_TRUE(out.ok()) << out.status().message();
  WriteBytes(dir + "/../ct2_int8.bin", *out);
  Result<TensorTable> written = ReadGgmlFile(dir + "/../ct2_int8.bin");
  ASSERT_TRUE(written.ok()) << written.status().message();
  int int8_sources = 0;
  for (const GgmlTensorSpec& spec : WhisperTensorSpecs(SmallHParams())) {
    const SourceTensor& src = ct2->tensors[static_cast<size_t>(ct2->Find(spec.name))];
    const SourceTensor& got = written->tensors[static_cast<size_t>(written->Find(spec.name))];
    int8_sources += src.dtype == TensorDType::kI8Rows;
    std::vector<float> values(static_cast<size_t>(src.numel()));
    SourceTensorToF32(src, values.data());
    const GgmlType type = StoredGgmlType(spec, GgmlType::kQ8_0);
    std::vector<uint8_t> want(static_cast<size_t>(GgmlTensorBytes(type, spec.numel())));
    QuantizeRow(type, values.data(), want.data(), spec.numel());
    ASSERT_EQ(got.ggml_type, type) << spec.name;
    ASSERT_EQ(got.bytes, want.size()) << spec.name;
    ASSERT_EQ(std::memcmp(got.data, want.data(), want.size()), 0) << spec.name;
  }
  EXPECT_EQ(int8_sources, 17);
}

TEST(GgmlConvert, MissingFiltersVocabOrTensorsAreNamed) {
  const std::string dir = WriteCt2Dir("errors", ct2_test::Ct2Mode::kF32);
  Result<TensorTable> ct2 = ReadCheckpoint(dir);
  ASSERT_TRUE(ct2.ok()) << ct2.status().message();
  GgmlConvertOptions options;
  EXPECT_EQ(ConvertToGgmlBytes(*ct2, options).status().message(),
            "no mel filters: the checkpoint holds none and none were given");
  options.mel_filters = SyntheticFilters(128);
  EXPECT_EQ(ConvertToGgmlBytes(*ct2, options).status().message(),
            "mel filters of 128 x 201 (25728 values) do not fit the model: expected 80 x 201");
  options.mel_filters = SyntheticFilters(80);
  TensorTable no_vocab = std::move(*ct2);
  std::vector<std::string> ordinary = std::move(no_vocab.metadata.ordinary_tokens);
  no_vocab.metadata.ordinary_tokens.clear();
  EXPECT_EQ(ConvertToGgmlBytes(no_vocab, options).status().message(),
            "no vocabulary: the checkpoint holds none (as an OpenAI .pt checkpoint) and no tiktoken ranks were given");
  options.vocab = ordinary;  // given by the caller (a tiktoken file's ranks)
  EXPECT_TRUE(ConvertToGgmlBytes(no_vocab, options).ok());
  options.vocab.assign(51865, "x");
  EXPECT_EQ(ConvertToGgmlBytes(no_vocab, options).status().message(),
            "vocabulary of 51865 tokens exceeds n_vocab = 51864");
  options.vocab = ordinary;

  TensorTable broken = no_vocab;
  broken.tensors[static_cast<size_t>(broken.Find("decoder.blocks.0.mlp.2.bias"))].name = "renamed";
  EXPECT_EQ(ConvertToGgmlBytes(broken, options).status().message(),
            "the checkpoint has no tensor 'decoder.blocks.0.mlp.2.bias'");
  broken = no_vocab;
  broken.tensors[static_cast<size_t>(broken.Find("encoder.conv1.bias"))].bytes -= 4;
  EXPECT_EQ(ConvertToGgmlBytes(broken, options).status().message(),
            "tensor 'encoder.conv1.bias' holds 252 bytes but [64] in f32 takes 256");
  broken = no_vocab;
  broken.tensors[static_cast<size_t>(broken.Find("encoder.ln_post.weight"))].shape = {32, 2};
  EXPECT_EQ(ConvertToGgmlBytes(broken, options).status().message(),
            "tensor 'encoder.ln_post.weight' has shape [32, 2] but the model's dimensions require [64]");
  // Nothing reaches the sink when a tensor is bad: not even the header.
  int calls = 0;
  EXPECT_FALSE(StreamGgmlModel(broken, options, [&](const uint8_t*, size_t) {
                 ++calls;
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(calls, 0);
}

TEST(AtomicFileWriter, RenamesOnCommitAndLeavesNothingOnFailure) {
  const std::string dir = TestDir("atomic");
  const std::string path = dir + "/model.bin";
  {
    auto w = AtomicFileWriter::Create(path);
    ASSERT_TRUE(w.ok()) << w.status().message();
    const uint8_t bytes[3] = {1, 2, 3};
    ASSERT_TRUE((*w)->Write(bytes, 3).ok());
    EXPECT_NE(access((*w)->temp_path().c_str(), F_OK), -1);
    EXPECT_EQ(access(path.c_str(), F_OK), -1);
    ASSERT_TRUE((*w)->Commit().ok());
  }
  EXPECT_EQ(ReadBytes(path), (std::vector<uint8_t>{1, 2, 3}));
  std::string temp;
  {
    auto w = AtomicFileWriter::Create(path);
    ASSERT_TRUE(w.ok());
    temp = (*w)->temp_path();
    const uint8_t bytes[1] = {9};
    ASSERT_TRUE((*w)->Write(bytes, 1).ok());
  }  // abandoned: the old file stays, the temporary goes
  EXPECT_EQ(ReadBytes(path), (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(access(temp.c_str(), F_OK), -1);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);

  EXPECT_EQ(AtomicFileWriter::Create("/nonexistent/dir/out.bin").status().message(),
            "output directory '/nonexistent/dir' does not exist");
  EXPECT_EQ(AtomicFileWriter::Create(dir).status().message(),
            "output '" + dir + "' is a directory: give the file name to write");
  EXPECT_EQ(AtomicFileWriter::Create(path + "/x.bin").status().message(),
            "output directory '" + path + "' is not a directory");
}

TEST(AtomicFileWriter, UnwritableDirectoryFailsAtCreate) {
  std::string dir = TestDir("readonly");
  chmod(dir.c_str(), 0555);
  const bool root_writes = access(dir.c_str(), W_OK) == 0;  // root ignores the mode bits
  if (root_writes) dir = "/sys";                            // sysfs refuses new files even to root
  auto w = AtomicFileWriter::Create(dir + "/out.bin");
  if (w.ok()) GTEST_SKIP() << "no unwritable directory available (running as root outside a container?)";
  EXPECT_EQ(w.status().message(), "cannot create a file in the output directory '" + dir + "': Permission denied");
}

TEST(GgmlConvert, OutputMustNotBeTheInput) {
  const std::string dir = TestDir("same_path");
  const std::string in = dir + "/in.bin";
  WriteBytes(in, {1, 2, 3, 4});
  EXPECT_EQ(CheckOutputIsNotInput(in, in).message(),
            "output '" + in + "' is the input checkpoint: write the converted model to another path");
  std::filesystem::create_symlink(in, dir + "/link.bin");
  EXPECT_FALSE(CheckOutputIsNotInput(in, dir + "/link.bin").ok());
  EXPECT_FALSE(CheckOutputIsNotInput(in, dir + "/../same_path/in.bin").ok());
  EXPECT_TRUE(CheckOutputIsNotInput(in, dir + "/out.bin").ok());  // does not exist yet
  WriteBytes(dir + "/old.bin", {5});
  EXPECT_TRUE(CheckOutputIsNotInput(in, dir + "/old.bin").ok());  // replacing another file is fine
  // A directory checkpoint: its own files are off limits, a new file beside them is not.
  EXPECT_EQ(CheckOutputIsNotInput(dir, in).message(),
            "output '" + in + "' would replace a file of the input checkpoint '" + dir +
                "': write the converted model to another path");
  EXPECT_TRUE(CheckOutputIsNotInput(dir, dir + "/new.bin").ok());
}

}  // namespace
}  // namespace wisp
