// The vocabulary screen (ops.h ScreenedLinearOp) on the REAL tiny.en: the decoder is fed the
// golden's tokens of every file's first window (jfk, the eight espeak-ng sentences, long.wav), and
// at every step the screened logits are compared with the exact bf16 product on the same
// activations (LinearOp on the decoder's final LayerNorm output). Asserted per step: the same
// argmax; every logit within the margin (less the screen's error allowance) of the maximum
// bit-equal to the exact one; the rest within the error allowance; the argmax's log-probability
// within a quarter of how far bf16's own is from f32's (the same tokens through a compute-f32
// engine) and within 1e-2. And over all steps: the share of logits recomputed exactly, the speed
// claim's basis.
//
// Runs where compute auto is bf16 with integer products (AVX512_BF16 and VNNI, or Arm BF16 and
// dotprod); elsewhere the screen does not exist and the test skips. Without the model directory it
// skips (fails when CI=true).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "api/engine.h"
#include "api/transcribe_memory.h"
#include "golden_reader.h"
#include "model/decoder.h"
#include "model/encoder.h"
#include "model/transformer_block.h"
#include "pipeline/logit_filters.h"
#include "real_weights_common.h"
#include "util/thread_pool.h"

namespace wisp {
namespace {

using golden::Json;
using namespace real_weights;  // NOLINT: the shared helpers

#ifndef WISP_REAL_GOLDEN
#error "WISP_REAL_GOLDEN (tests/golden/real/tiny.en.json) must be defined by the build"
#endif
#ifndef WISP_MAKE_SPEECH
#error "WISP_MAKE_SPEECH (tools/realweights/make_speech.sh) must be defined by the build"
#endif

// How far a screened logit may be from the exact one (the screen's int8 error on tiny.en is ~0.1 and
// at most ~0.5 over these files; docs/PERFORMANCE.md "Vocabulary screen").
constexpr float kErrorAllowance = 1.0f;

// The decoding loop's log-probability of logits[index] (torch's float32 log_softmax).
double LogProb(const std::vector<float>& logits, size_t index) {
  return LogSoftmaxStatsFloat32(logits).LogProb(logits[index]);
}

TEST(RealVocabScreen, LogitsNearTheMaximumAreExactAndTheRestClose) {
  Result<Json> golden = golden::ReadJsonFile(WISP_REAL_GOLDEN);
  ASSERT_TRUE(golden.ok()) << golden.status().message();
  const RealModelCheck model =
      CheckRealModel((*golden)["model"]["model_bin_sha256"].AsString(), "tools/realweights/make_real_golden.py");
  if (!model.failure.empty()) FAIL() << model.failure;
  if (!model.skip.empty()) GTEST_SKIP() << model.skip;
  const std::string speech_failure = MakeSpeech(WISP_MAKE_SPEECH);
  ASSERT_TRUE(speech_failure.empty()) << speech_failure;
  LoadOptions load;
  load.keep_f32_matrices = false;  // as the CLI loads; compute auto
  Result<std::unique_ptr<WhisperEngine>> engine = WhisperEngine::Load(model.dir, "", load);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  const ModelWeights& w = (*engine)->model().weights;
  if (w.vocab_screen.empty()) {
    GTEST_SKIP() << "no vocabulary screen on this CPU (compute " << ComputeTypeName(w.compute)
                 << "; the screen needs bf16 and integer products)";
  }
  // The yardstick: the same model at compute f32 (exact products), fed the same tokens. How far
  // bf16's own log-probabilities are from it is the drift the budget already accepts.
  load.compute = ComputeType::kF32;
  Result<std::unique_ptr<WhisperEngine>> f32_engine = WhisperEngine::Load(model.dir, "", load);
  ASSERT_TRUE(f32_engine.ok()) << f32_engine.status().message();
  const ModelWeights& wf = (*f32_engine)->model().weights;
  const HParams& hp = w.hparams;
  ThreadPool pool(2);
  const OpContext ctx{&pool, nullptr, Backend::kFast};

  int64_t steps = 0, outputs = 0, exact_outputs = 0;
  double max_tail_error = 0, max_logprob_error = 0, max_bf16_drift = 0;
  for (const Json& file : (*golden)["files"].AsArray()) {
    const std::string name = file["name"].AsString();
    std::ifstream in(AudioPath(name), std::ios::binary);
    ASSERT_TRUE(in.good()) << AudioPath(name);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Result<LogMelSpectrogram> mel = ComputeEngineMelFromMemory(**engine, bytes);
    ASSERT_TRUE(mel.ok()) << name << ": " << mel.status().message();
    std::vector<float> window(static_cast<size_t>(hp.n_mels) * kWindowFrames);
    mel->Window(0, std::min<int64_t>(kWindowFrames, mel->content_frames()), window.data());
    EncoderScratch scratch;
    std::vector<float> features(static_cast<size_t>(hp.n_audio_ctx) * hp.n_audio_state);
    RunEncoder(w, ctx, window.data(), &scratch, features.data());
    DecoderState state;
    SetAudioFeatures(w, ctx, features.data(), &state);
    EncoderScratch scratch_f32;
    std::vector<float> features_f32(features.size());
    RunEncoder(wf, ctx, window.data(), &scratch_f32, features_f32.data());
    DecoderState state_f32;
    SetAudioFeatures(wf, ctx, features_f32.data(), &state_f32);

    // <|startoftranscript|> (English-only: no language or task token), then the first window's tokens.
    std::vector<int32_t> tokens = {50257};
    for (const Json& seg : file["segments"].AsArray()) {
      if (seg["seek"].AsInt() != 0) break;
      for (int t : seg["tokens"].Ints()) tokens.push_back(t);
    }
    std::vector<float> screened(static_cast<size_t>(hp.n_vocab)), exact(screened.size()), f32(screened.size());
    for (int32_t token : tokens) {
      const int64_t before = state.vocab_outputs_exact;
      RunDecoder(w, ctx, &state, &token, 1, /*all_logits=*/false, screened.data());
      exact_outputs += state.vocab_outputs_exact - before;
      outputs += hp.n_vocab;
      LinearOp(ctx, state.last.data(), 1, hp.n_text_state, nullptr, hp.n_vocab, nullptr, exact.data(), hp.n_vocab,
               Packed(w.token_embedding));
      const size_t top = std::max_element(exact.begin(), exact.end()) - exact.begin();
      ASSERT_EQ(std::max_element(screened.begin(), screened.end()) - screened.begin(), static_cast<ptrdiff_t>(top))
          << name << " step " << steps;
      const float near = exact[top] - (kVocabScreenMargin - kErrorAllowance);
      for (size_t i = 0; i < exact.size(); ++i) {
        if (exact[i] >= near) {
          ASSERT_EQ(screened[i], exact[i]) << name << " step " << steps << " token " << i << " is within the margin";
        } else {
          max_tail_error = std::max(max_tail_error, static_cast<double>(std::fabs(screened[i] - exact[i])));
        }
      }
      max_logprob_error = std::max(max_logprob_error, std::fabs(LogProb(screened, top) - LogProb(exact, top)));
      RunDecoder(wf, ctx, &state_f32, &token, 1, /*all_logits=*/false, f32.data());
      max_bf16_drift = std::max(max_bf16_drift, std::fabs(LogProb(exact, top) - LogProb(f32, top)));
      ++steps;
    }
  }
  const double exact_share = static_cast<double>(exact_outputs) / static_cast<double>(outputs);
  std::printf("[vocab screen] %lld steps: largest error outside the margin %.3f, of the argmax's log-probability "
              "%.2e (bf16 against f32: %.2e); %.2f %% of the logits computed again exactly\n",
              static_cast<long long>(steps), max_tail_error, max_logprob_error, max_bf16_drift, 100 * exact_share);
  EXPECT_GT(steps, 300);
  EXPECT_LE(max_tail_error, kErrorAllowance);
  // The screen's share of the log-probabilities' drift is small beside bf16's own (max 0.05 here),
  // which the budget accepts: measured 5.7e-3.
  EXPECT_LE(max_logprob_error, 0.25 * max_bf16_drift);
  EXPECT_LE(max_logprob_error, 1e-2);
  EXPECT_LT(exact_share, 0.10) << "the screen recomputes too much to pay";
}

}  // namespace
}  // namespace wisp
