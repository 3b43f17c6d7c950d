// Batched decoding against independent single-row decoding: for N rows with different tokens,
// RunDecoderBatch's logits must be those of N DecoderStates each stepped by RunDecoder, also
// after ReorderRows (identity, permutations, duplicated sources). Random-weight models of the
// ggml writer (width 64, 2 heads, 2 decoder layers, 51864 tokens) in f32, f16, q8_0 on the
// integer (VNNI) path and q8_0 on the exact path, loaded as the CLI loads them (packed only),
// and an f32 model on the reference backend.
//
// The fast backend's kernels compute every output row independently of the other rows (the
// GEMMs' row tiles accumulate each row in the same k order whatever their height; q8_0
// activations are quantized per row), so the batch is expected to be bit-exact; the tests
// assert exact equality.
#include "model/decoder_batch.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "model/ggml_loader.h"
#include "model/ggml_writer.h"

namespace wisp {
namespace {

GgmlHeader SmallHeader() {
  GgmlHeader h;
  //           n_vocab n_audio_ctx/state/head/layer n_text_ctx/state/head/layer n_mels ftype
  h.hparams = {51864, 1500, 64, 2, 1, 448, 64, 2, 2, 80, 1};
  h.mel_filters.n_mels = 80;
  h.mel_filters.n_fft = 201;
  h.mel_filters.data.assign(80 * 201, 0.01f);
  h.vocab = {"!", "hello", ""};
  return h;
}

struct Case {
  const char* name;
  GgmlType type;
  bool keep_f32;  // else packed-only, as the CLI loads
  bool q8_int;    // q8_0 integer products (where the CPU has VNNI)
  Backend backend;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::unique_ptr<LoadedModel> LoadCase(const Case& c) {
  RandomModelOptions random;
  random.seed = 11;
  random.type = c.type;
  Result<std::vector<uint8_t>> bytes = BuildRandomGgmlModel(SmallHeader(), random);
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  if (!bytes.ok()) return nullptr;
  // Through a file: the memory loader takes no LoadOptions.
  char path[] = "/tmp/wisp_decoder_batch_XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  if (fd < 0) return nullptr;
  const bool written = write(fd, bytes->data(), bytes->size()) == static_cast<ssize_t>(bytes->size());
  close(fd);
  EXPECT_TRUE(written);
  LoadOptions options;
  options.keep_f32_matrices = c.keep_f32;
  options.q8_0_int8_activations = c.q8_int;
  Result<std::unique_ptr<LoadedModel>> loaded = LoadGgmlModel(path, options);
  std::remove(path);
  EXPECT_TRUE(loaded.ok()) << loaded.status().message();
  return loaded.ok() ? std::move(*loaded) : nullptr;
}

class DecoderBatchTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    model_ = LoadCase(GetParam());
    ASSERT_NE(model_, nullptr);
    if (GetParam().type == GgmlType::kQ8_0) {  // the path this case means to test is the one loaded
      const bool int_path = GetParam().q8_int && Q8IntegerProductsAvailable();
      EXPECT_EQ(model_->weights.decoder_blocks[0].mlp_up.w.packed_q8_0_int != nullptr, int_path);
      EXPECT_EQ(model_->weights.token_embedding.packed_q8_0_int != nullptr, int_path);
    }
    const HParams& hp = model_->weights.hparams;
    ctx_ = OpContext{&pool_, nullptr, GetParam().backend};
    std::mt19937 rng(3);
    std::normal_distribution<float> dist(0.f, 1.f);
    features_.resize(static_cast<size_t>(hp.n_audio_ctx) * hp.n_text_state);
    for (float& v : features_) v = dist(rng);
    SetAudioFeatures(model_->weights, ctx_, features_.data(), &single_);
    std::vector<float> logits(hp.n_vocab);
    RunDecoder(model_->weights, ctx_, &single_, kPrompt, 3, false, logits.data());
  }

  // n_rows independent states, each with the same prefill as single_.
  std::vector<DecoderState> References(int n_rows) {
    std::vector<DecoderState> refs(n_rows);
    std::vector<float> logits(model_->weights.hparams.n_vocab);
    for (DecoderState& r : refs) {
      SetAudioFeatures(model_->weights, ctx_, features_.data(), &r);
      RunDecoder(model_->weights, ctx_, &r, kPrompt, 3, false, logits.data());
    }
    return refs;
  }

  // One step of the batch and of every reference with token tokens[i] for row i; expects the
  // same logits bit for bit.
  void StepAndCompare(DecoderBatchState* batch, std::vector<DecoderState>* refs, const std::vector<int32_t>& tokens) {
    const int64_t n_vocab = model_->weights.hparams.n_vocab;
    const int n = batch->n_rows;
    std::vector<float> got(n * n_vocab), want(n_vocab);
    RunDecoderBatch(model_->weights, ctx_, batch, tokens.data(), got.data());
    for (int i = 0; i < n; ++i) {
      RunDecoder(model_->weights, ctx_, &(*refs)[i], &tokens[i], 1, false, want.data());
      int64_t differ = 0;
      double max_rel = 0;
      for (int64_t j = 0; j < n_vocab; ++j) {
        const float a = got[i * n_vocab + j], b = want[j];
        if (a != b) ++differ;
        max_rel = std::max(max_rel, std::abs(double(a) - b) / std::max(1e-3, std::abs(double(b))));
      }
      EXPECT_EQ(differ, 0) << "row " << i << " of " << n << " at n_past " << batch->n_past - 1
                           << ": max relative difference " << max_rel;
      EXPECT_LT(max_rel, 1e-5);
    }
  }

  static constexpr int32_t kPrompt[3] = {50257, 50362, 400};
  ThreadPool pool_{2};
  OpContext ctx_;
  std::unique_ptr<LoadedModel> model_;
  std::vector<float> features_;
  DecoderState single_;
};

TEST_P(DecoderBatchTest, BatchEqualsIndependentRows) {
  for (int n : {1, 2, 5}) {
    SCOPED_TRACE("rows " + std::to_string(n));
    DecoderBatchState batch;
    ForkDecoderBatch(model_->weights.hparams, single_, n, &batch);
    EXPECT_EQ(batch.n_past, 3);
    EXPECT_EQ(batch.cross_kv, single_.cross_kv.data());  // shared, not copied
    std::vector<DecoderState> refs = References(n);
    for (int step = 0; step < 6; ++step) {
      std::vector<int32_t> tokens(n);
      for (int i = 0; i < n; ++i) tokens[i] = (step * 7919 + i * 104729 + 13) % 51864;
      StepAndCompare(&batch, &refs, tokens);
    }
  }
}

TEST_P(DecoderBatchTest, ReorderThenStepEqualsReorderedReferences) {
  const HParams& hp = model_->weights.hparams;
  const int n = 5;
  DecoderBatchState batch;
  ForkDecoderBatch(hp, single_, n, &batch);
  std::vector<DecoderState> refs = References(n);
  const std::vector<std::vector<int>> orders = {
      {0, 1, 2, 3, 4},  // identity: nothing moves
      {4, 3, 2, 1, 0},  // permutation: slots move, nothing is copied
      {2, 2, 0, 4, 2},  // duplicates: copies into the slots of rows 1 and 3
      {1, 1, 1, 1, 1},  // one survivor
      {3, 0, 4, 0, 2},
  };
  int step = 0;
  for (const std::vector<int>& order : orders) {
    std::vector<int32_t> tokens(n);
    for (int i = 0; i < n; ++i) tokens[i] = (step * 31 + i * 4099 + 5) % 51864;
    StepAndCompare(&batch, &refs, tokens);
    ++step;

    const std::vector<int> slots_before = batch.slot;
    ReorderRows(&batch, order.data());
    std::vector<std::vector<float>> k(n), v(n);
    for (int i = 0; i < n; ++i) k[i] = refs[order[i]].self_k, v[i] = refs[order[i]].self_v;
    for (int i = 0; i < n; ++i) refs[i].self_k = std::move(k[i]), refs[i].self_v = std::move(v[i]);
    if (order == orders[0]) {
      EXPECT_EQ(batch.slot, slots_before);
    }
    if (order == orders[1]) {
      for (int i = 0; i < n; ++i) EXPECT_EQ(batch.slot[i], slots_before[order[i]]);
    }
    // Every row's cache is its source's: the shared prefix (the prefill's, never copied), then
    // the row's own positions.
    const size_t shared = static_cast<size_t>(batch.n_shared) * hp.n_text_state;
    const size_t own = static_cast<size_t>(batch.n_past - batch.n_shared) * hp.n_text_state;
    for (int i = 0; i < n; ++i) {
      for (int l = 0; l < hp.n_text_layer; ++l) {
        const size_t at = static_cast<size_t>(l) * hp.n_text_ctx * hp.n_text_state;
        EXPECT_EQ(std::memcmp(batch.shared_k + at, refs[i].self_k.data() + at, shared * sizeof(float)), 0);
        EXPECT_EQ(std::memcmp(batch.shared_v + at, refs[i].self_v.data() + at, shared * sizeof(float)), 0);
        EXPECT_EQ(std::memcmp(BatchRowSelfK(batch, i, l) + shared, refs[i].self_k.data() + at + shared,
                              own * sizeof(float)), 0);
        EXPECT_EQ(std::memcmp(BatchRowSelfV(batch, i, l) + shared, refs[i].self_v.data() + at + shared,
                              own * sizeof(float)), 0);
      }
    }
    for (int i = 0; i < n; ++i) tokens[i] = (step * 17 + i * 2203 + 9) % 51864;
    StepAndCompare(&batch, &refs, tokens);
    ++step;
  }
  // Slots stay a permutation: no storage is lost or shared between rows.
  std::vector<int> sorted = batch.slot;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < n; ++i) EXPECT_EQ(sorted[i], i);
}

TEST_P(DecoderBatchTest, ForkReusesBuffersAcrossWindows) {
  const HParams& hp = model_->weights.hparams;
  DecoderBatchState batch;
  ForkDecoderBatch(hp, single_, 5, &batch);
  std::vector<int32_t> tokens = {1, 2, 3, 4, 5};
  std::vector<float> logits(5 * static_cast<size_t>(hp.n_vocab));
  for (int s = 0; s < 4; ++s) RunDecoderBatch(model_->weights, ctx_, &batch, tokens.data(), logits.data());
  const float* storage = batch.self_k.data();
  // A second fork (the next window) starts over from the prefill, in the same storage.
  ForkDecoderBatch(hp, single_, 5, &batch);
  EXPECT_EQ(batch.self_k.data(), storage);
  EXPECT_EQ(batch.n_past, 3);
  std::vector<DecoderState> refs = References(5);
  StepAndCompare(&batch, &refs, {9, 8, 7, 6, 5});
}

INSTANTIATE_TEST_SUITE_P(Types, DecoderBatchTest,
                         ::testing::Values(Case{"f32", GgmlType::kF32, false, true, Backend::kFast},
                                           Case{"f16", GgmlType::kF16, false, true, Backend::kFast},
                                           Case{"q8_0_int", GgmlType::kQ8_0, false, true, Backend::kFast},
                                           Case{"q8_0_exact", GgmlType::kQ8_0, false, false, Backend::kFast},
                                           Case{"f32_reference", GgmlType::kF32, true, true, Backend::kReference}),
                         [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace wisp
