// LoadOptions::compute: which panels every matrix gets for each compute type and stored type, the
// errors and fallbacks, and the drift of a bf16 encoder and decoder against f32 on the same
// random-weight file (bounds stated below; the real-speech drift is tests/real_weights_test.cc's
// "ctranslate2-f16 compute bf16" variant).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "model/decoder.h"
#include "model/encoder.h"
#include "model/ggml_loader.h"
#include "model/ggml_types.h"
#include "model/ggml_writer.h"
#include "model/transformer_block.h"
#include "model/weight_packing.h"

namespace wisp {
namespace {

const std::string kHeader = std::string(WISP_SHARED_DATA_DIR) + "/for-tests-ggml-tiny.en.bin";

std::string WriteModel(GgmlType type) {
  const std::string path =
      std::string(WISP_BINARY_DIR) + "/compute_type_test_" + std::to_string(static_cast<int>(type)) + ".bin";
  RandomModelOptions opt;
  opt.seed = 5;
  opt.type = type;
  opt.n_layers = 2;
  EXPECT_TRUE(WriteRandomGgmlModel(kHeader, path, opt).ok());
  return path;
}

double RelRms(const std::vector<float>& got, const std::vector<float>& want) {
  double e = 0, r = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    e += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    r += double(want[i]) * want[i];
  }
  return std::sqrt(e / r);
}

class ComputeTypeTest : public ::testing::TestWithParam<GgmlType> {};

TEST_P(ComputeTypeTest, Bf16PanelsForEveryMatrixAndBoundedDrift) {
  if (!std::ifstream(kHeader).good()) GTEST_SKIP() << "shared test data absent: " << kHeader << " not found";
  const std::string path = WriteModel(GetParam());
  auto f32 = LoadGgmlModel(path, LoadOptions{.keep_f32_matrices = false, .compute = ComputeType::kF32});
  auto bf16 = LoadGgmlModel(path, LoadOptions{.keep_f32_matrices = false, .compute = ComputeType::kBf16});
  ASSERT_TRUE(f32.ok()) << f32.status().message();
  ASSERT_TRUE(bf16.ok()) << bf16.status().message();
  std::remove(path.c_str());
  ModelWeights& wf = (*f32)->weights;
  ModelWeights& wb = (*bf16)->weights;
  EXPECT_EQ(wf.compute, ComputeType::kF32);
  if (!Bf16ProductsAvailable()) {
    EXPECT_EQ(wb.compute, ComputeType::kF32);
    EXPECT_NE((*bf16)->compute_note.find("AVX512_BF16"), std::string::npos) << (*bf16)->compute_note;
    GTEST_SKIP() << "no AVX512_BF16 on this CPU: compute bf16 fell back to f32 with a note";
  }
  EXPECT_EQ(wb.compute, ComputeType::kBf16);
  EXPECT_TRUE((*bf16)->compute_note.empty());
  ForEachMatrix(&wb, [&](Tensor* t) {
    EXPECT_NE(t->packed_bf16, nullptr);
    EXPECT_TRUE(!t->packed && !t->packed_f16 && !t->packed_q8_0 && !t->packed_q8_0_int && !t->packed_q8_min_int);
  });

  const HParams& hp = wf.hparams;
  const int64_t d = hp.n_audio_state, feat = int64_t(hp.n_audio_ctx) * d;
  std::vector<float> mel(hp.n_mels * 3000);
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.f, 1.f);
  for (auto& v : mel) v = dist(rng);
  ThreadPool pool(2);
  OpContext ctx;
  ctx.pool = &pool;
  std::vector<float> ef(feat), eb(feat);
  EncoderScratch s1, s2;
  RunEncoder(wf, ctx, mel.data(), &s1, ef.data());
  RunEncoder(wb, ctx, mel.data(), &s2, eb.data());
  // Stated drift of a 2-layer random-weight encoder: relative RMS < 1.5 % (measured 0.27-0.29 %
  // for every stored type: every product rounds its inputs to 8 significant bits).
  const double enc = RelRms(eb, ef);
  std::printf("[compute bf16] %s: encoder output relative RMS %.4f\n",
              GgmlTypeName(static_cast<int32_t>(GetParam())).c_str(), enc);
  EXPECT_LT(enc, 0.015);
  EXPECT_GT(enc, 0.0);

  // The decoder on the same features (cross K/V prepared in bf16), all logits of a prompt.
  DecoderState d1, d2;
  SetAudioFeatures(wf, ctx, ef.data(), &d1);
  SetAudioFeatures(wb, ctx, ef.data(), &d2);
  EXPECT_FALSE(d2.cross_kv[0].kt_bf16.empty());
  const std::vector<int32_t> tokens = {50257, 50362, 1000, 2000, 3000, 4000, 220};
  const int n = static_cast<int>(tokens.size());
  std::vector<float> lf(n * hp.n_vocab), lb(lf.size());
  RunDecoder(wf, ctx, &d1, tokens.data(), n, true, lf.data());
  RunDecoder(wb, ctx, &d2, tokens.data(), n, true, lb.data());
  double max_abs = 0, max_logit = 0;
  for (size_t i = 0; i < lf.size(); ++i) {
    max_abs = std::max(max_abs, std::fabs(double(lb[i]) - lf[i]));
    max_logit = std::max(max_logit, std::fabs(double(lf[i])));
  }
  std::printf("[compute bf16] logits relative RMS %.4f, max abs error %.4f (|logit| <= %.2f)\n", RelRms(lb, lf),
              max_abs, max_logit);
  // Logits: relative RMS < 1.5 % (measured ~0.4 %, max abs error ~0.04 for |logit| <= 10).
  EXPECT_LT(RelRms(lb, lf), 0.015);
}

INSTANTIATE_TEST_SUITE_P(Types, ComputeTypeTest, ::testing::Values(GgmlType::kF32, GgmlType::kF16, GgmlType::kQ8_0,
                                                                 GgmlType::kQ4_1));

TEST(ComputeType, Int8QuantizesFloatModelsAndF32IsExact) {
  if (!std::ifstream(kHeader).good()) GTEST_SKIP() << "shared test data absent: " << kHeader << " not found";
  const std::string f16 = WriteModel(GgmlType::kF16), q8 = WriteModel(GgmlType::kQ8_0);
  // int8 on a float model: every matrix with K a multiple of 32 becomes q8_0 blocks at load (ggml's
  // rounding of the stored values, as `wisp convert --type q8_0` writes them), then integer panels.
  auto int8_f16 = LoadGgmlModel(f16, LoadOptions{.keep_f32_matrices = false, .compute = ComputeType::kInt8});
  auto f32_f16 = LoadGgmlModel(f16, LoadOptions{.keep_f32_matrices = true, .compute = ComputeType::kF32});
  ASSERT_TRUE(int8_f16.ok()) << int8_f16.status().message();
  ASSERT_TRUE(f32_f16.ok()) << f32_f16.status().message();
  if (Q8IntegerProductsAvailable()) {
    const ModelWeights &a = (*int8_f16)->weights, &b = (*f32_f16)->weights;
    EXPECT_EQ(a.compute, ComputeType::kInt8);
    ASSERT_NE(a.token_embedding.packed_q8_0_int, nullptr);
    EXPECT_EQ(a.token_embedding.packed_f16, nullptr) << "no second copy of the matrix";
    EXPECT_EQ(a.token_embedding.data, nullptr);
    // Embedding rows from the panels: the stored values through ggml's q8_0 round trip, exactly.
    const int64_t d = a.hparams.n_text_state;
    std::vector<float> got(d), want(d);
    std::vector<uint8_t> blocks(d / 32 * 34);
    for (int64_t row : {int64_t{0}, int64_t{1234}, int64_t{a.hparams.n_vocab} - 1}) {
      UnpackWeightRow(Packed(a.token_embedding), d, row, got.data());
      QuantizeRow(GgmlType::kQ8_0, b.token_embedding.data + row * d, blocks.data(), d);
      DequantizeRow(GgmlType::kQ8_0, blocks.data(), want.data(), d);
      EXPECT_EQ(got, want) << "row " << row;
    }
    ASSERT_NE(a.encoder_blocks[0].mlp_up.w.packed_q8_0_int, nullptr);
  } else {
    EXPECT_EQ((*int8_f16)->weights.compute, ComputeType::kF32);
    EXPECT_NE((*int8_f16)->compute_note.find("compute int8 needs AVX-512 VNNI"), std::string::npos);
  }
  // auto: bf16 panels for f16 where the CPU has AVX512_BF16 (within the drift budget), else the
  // exact f16 panels; integer panels for q8_0 where VNNI exists.
  auto auto_f16 = LoadGgmlModel(f16, LoadOptions{.keep_f32_matrices = false});
  ASSERT_TRUE(auto_f16.ok());
  EXPECT_EQ((*auto_f16)->weights.compute, Bf16ProductsAvailable() ? ComputeType::kBf16 : ComputeType::kF32);
  EXPECT_NE(Bf16ProductsAvailable() ? (*auto_f16)->weights.token_embedding.packed_bf16
                                    : (*auto_f16)->weights.token_embedding.packed_f16,
            nullptr);
  auto auto_q8 = LoadGgmlModel(q8, LoadOptions{.keep_f32_matrices = false});
  auto int8_q8 = LoadGgmlModel(q8, LoadOptions{.keep_f32_matrices = false, .compute = ComputeType::kInt8});
  auto f32_q8 = LoadGgmlModel(q8, LoadOptions{.keep_f32_matrices = false, .compute = ComputeType::kF32});
  ASSERT_TRUE(auto_q8.ok() && int8_q8.ok() && f32_q8.ok());
  const bool vnni = Q8IntegerProductsAvailable();
  EXPECT_EQ((*auto_q8)->weights.compute, vnni ? ComputeType::kInt8 : ComputeType::kF32);
  EXPECT_EQ((*int8_q8)->weights.token_embedding.packed_q8_0_int != nullptr, vnni);
  EXPECT_EQ((*int8_q8)->compute_note.empty(), vnni);
  // int8 on q8_0 takes the cross-attention K/V in bf16 where the CPU has bf16 products (its row of
  // kAutoCompute); the f16 file under --compute int8 keeps them f32 (not measured so).
  EXPECT_EQ((*auto_q8)->weights.cross_kv_bf16, vnni && Bf16ProductsAvailable());
  EXPECT_EQ((*int8_q8)->weights.cross_kv_bf16, vnni && Bf16ProductsAvailable());
  if (vnni) {
    EXPECT_FALSE((*int8_f16)->weights.cross_kv_bf16);
    DecoderState state;
    const HParams& hp = (*auto_q8)->weights.hparams;
    std::vector<float> features(static_cast<size_t>(hp.n_audio_ctx) * hp.n_audio_state, 0.25f);
    SetAudioFeatures((*auto_q8)->weights, OpContext{}, features.data(), &state);
    EXPECT_EQ(state.cross_kv[0].kt_bf16.empty(), !Bf16ProductsAvailable());
    EXPECT_EQ(state.cross_kv[0].kt_panels.empty(), Bf16ProductsAvailable());
  }
  // f32 on q8_0: the exact widening panels, never integer products.
  EXPECT_EQ((*f32_q8)->weights.compute, ComputeType::kF32);
  EXPECT_NE((*f32_q8)->weights.token_embedding.packed_q8_0, nullptr);
  EXPECT_EQ((*f32_q8)->weights.token_embedding.packed_q8_0_int, nullptr);
  std::remove(f16.c_str());
  std::remove(q8.c_str());
}

// auto runs q4_0 / q5_0 exactly: their integer path measured outside the drift budget on real
// speech (real_weights_test's ComputeBudget); --compute int8 still gives it.
TEST(ComputeType, AutoRunsQ4_0AndQ5_0Exactly) {
  if (!std::ifstream(kHeader).good()) GTEST_SKIP() << "shared test data absent: " << kHeader << " not found";
  for (GgmlType type : {GgmlType::kQ4_0, GgmlType::kQ5_0}) {
    const std::string path = WriteModel(type);
    auto automatic = LoadGgmlModel(path, LoadOptions{.keep_f32_matrices = false});
    auto int8 = LoadGgmlModel(path, LoadOptions{.keep_f32_matrices = false, .compute = ComputeType::kInt8});
    ASSERT_TRUE(automatic.ok() && int8.ok());
    EXPECT_EQ((*automatic)->weights.compute, ComputeType::kF32) << GgmlTypeName(static_cast<int32_t>(type));
    EXPECT_EQ((*automatic)->weights.token_embedding.packed_q8_0_int, nullptr) << GgmlTypeName(static_cast<int32_t>(type));
    EXPECT_EQ((*int8)->weights.compute, Q8IntegerProductsAvailable() ? ComputeType::kInt8 : ComputeType::kF32);
    EXPECT_FALSE((*int8)->weights.cross_kv_bf16) << "not measured within the budget";
    std::remove(path.c_str());
  }
}

}  // namespace
}  // namespace wisp
