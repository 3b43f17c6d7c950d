// Loading with keep_f32_matrices = false keeps the fast backend's panels as the only copy of the
// matrices: same logits as a normal load (the same panels run), embedding rows recovered from
// the packed vocabulary projection, for f32, f16 and q8_0 files, and q5_0 / q4_0 files, which
// run as q8_0 (exact repacking), and q5_1 / q4_1 files (integer panels with mins).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "model/decoder.h"
#include "model/encoder.h"
#include "model/ggml_loader.h"
#include "model/ggml_writer.h"
#include "model/transformer_block.h"

namespace wisp {
namespace {

const std::string kHeader = std::string(WISP_SHARED_DATA_DIR) + "/for-tests-ggml-tiny.en.bin";

class PackedLoadTest : public ::testing::TestWithParam<GgmlType> {};

TEST_P(PackedLoadTest, SameLogitsAsFullLoadAndNoF32Matrices) {
  if (!std::ifstream(kHeader).good()) GTEST_SKIP() << "shared test data absent: " << kHeader << " not found";
  const std::string path = std::string(WISP_BINARY_DIR) + "/packed_load_test_" +
                           std::to_string(static_cast<int>(GetParam())) + ".bin";
  RandomModelOptions opt;
  opt.seed = 9;
  opt.type = GetParam();
  opt.n_layers = 1;
  ASSERT_TRUE(WriteRandomGgmlModel(kHeader, path, opt).ok());
  // Float files compute exactly here (auto would take bf16 panels where the CPU has AVX512_BF16:
  // compute_type_test); quantized ones as auto chooses.
  const bool float_type = GetParam() == GgmlType::kF32 || GetParam() == GgmlType::kF16;
  const ComputeType compute = float_type ? ComputeType::kF32 : ComputeType::kAuto;
  auto full = LoadGgmlModel(path, LoadOptions{.compute = compute});
  auto packed = LoadGgmlModel(path, LoadOptions{.keep_f32_matrices = false, .compute = compute});
  ASSERT_TRUE(full.ok()) << full.status().message();
  ASSERT_TRUE(packed.ok()) << packed.status().message();
  const ModelWeights& wf = (*full)->weights;
  const ModelWeights& wp = (*packed)->weights;
  EXPECT_TRUE(wf.f32_matrices);
  EXPECT_FALSE(wp.f32_matrices);
  EXPECT_EQ(wp.token_embedding.data, nullptr);
  EXPECT_EQ(wp.decoder_blocks[0].mlp_up.w.data, nullptr);
  EXPECT_NE(wp.decoder_blocks[0].mlp_up.b.data, nullptr);  // vectors stay f32
  EXPECT_TRUE(wp.token_embedding.packed || wp.token_embedding.packed_f16 || wp.token_embedding.packed_q8_0 ||
              wp.token_embedding.packed_q8_0_int || wp.token_embedding.packed_q8_min_int);
  if (GetParam() == GgmlType::kQ5_1 || GetParam() == GgmlType::kQ4_1) {
    // Integer-product panels with mins where the CPU has VNNI, f32 panels otherwise.
    EXPECT_EQ(wp.token_embedding.packed_q8_min_int != nullptr, Q8IntegerProductsAvailable());
    EXPECT_EQ(wf.token_embedding.q8_min_blocks, nullptr);  // no dangling blocks
  }
  if (GetParam() == GgmlType::kQ8_0 || GetParam() == GgmlType::kQ5_0 || GetParam() == GgmlType::kQ4_0) {
    // Integer-product panels for q8_0 where the CPU has VNNI (auto), the exact ones otherwise and
    // for q5_0 / q4_0, whose integer path auto does not take (outside the drift budget).
    const bool integer = Q8IntegerProductsAvailable() && GetParam() == GgmlType::kQ8_0;
    EXPECT_EQ(wp.token_embedding.packed_q8_0_int != nullptr, integer);
    EXPECT_EQ(wp.token_embedding.packed_q8_0 != nullptr, !integer);
    EXPECT_EQ(wf.token_embedding.q8_0_blocks == nullptr, GetParam() != GgmlType::kQ8_0);  // no dangling blocks
  }

  // Embedding rows from the packed vocabulary projection equal the f32 rows of the full load.
  const int64_t d = wf.hparams.n_text_state;
  std::vector<float> row(d);
  for (int64_t token : {0, 1, 220, 50256, 51863}) {
    UnpackWeightRow(Packed(wp.token_embedding), d, token, row.data());
    for (int64_t k = 0; k < d; ++k) ASSERT_EQ(row[k], wf.token_embedding.data[token * d + k]) << token << " " << k;
  }

  // Same encoder output and logits (fast backend; identical panels -> identical numbers).
  std::vector<float> mel(wf.hparams.n_mels * 3000);
  std::mt19937 rng(2);
  std::normal_distribution<float> dist(0.f, 1.f);
  for (auto& v : mel) v = dist(rng);
  OpContext ctx;
  const int64_t feat = int64_t(wf.hparams.n_audio_ctx) * d;
  std::vector<float> f1(feat), f2(feat);
  EncoderScratch s1, s2;
  RunEncoder(wf, ctx, mel.data(), &s1, f1.data());
  RunEncoder(wp, ctx, mel.data(), &s2, f2.data());
  EXPECT_EQ(f1, f2);
  DecoderState d1, d2;
  SetAudioFeatures(wf, ctx, f1.data(), &d1);
  SetAudioFeatures(wp, ctx, f2.data(), &d2);
  const std::vector<int32_t> tokens = {50257, 50362, 1000, 2000};
  std::vector<float> l1(tokens.size() * wf.hparams.n_vocab), l2(l1.size());
  RunDecoder(wf, ctx, &d1, tokens.data(), 4, true, l1.data());
  RunDecoder(wp, ctx, &d2, tokens.data(), 4, true, l2.data());
  EXPECT_EQ(l1, l2);
  std::remove(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(Types, PackedLoadTest, ::testing::Values(GgmlType::kF32, GgmlType::kF16, GgmlType::kQ8_0,
                                                                GgmlType::kQ5_0, GgmlType::kQ4_0, GgmlType::kQ5_1,
                                                                GgmlType::kQ4_1));

}  // namespace
}  // namespace wisp
