// Language detection and translation against openai-whisper on random-weight MULTILINGUAL models
// at real shapes (tiny, base, and large-v3's front end and vocabulary -- 128 mels, 51866 tokens,
// 100 languages with <|yue|> -- on tiny's widths, as no large-v3 header file exists here):
// tests/golden/language.json, written by tools/golden/make_language_golden.py. For each model and
// input (jfk, speech1, silence; the large-v3 shape on jfk and speech1):
//   - transcribe(language=None, temperature=0.0): the detected language, every language's
//     probability (within kProbTol) and the segments' tokens;
//   - detection restricted to candidates (en, de, fr): the most probable of those;
//   - decode(task="translate", language=<detected>) of the first window: identical tokens.
// Random weights make the languages and texts meaningless; what is proven is that wisp computes
// the same function (the golden's top_gap / min_margin say no choice is a near-tie).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "audio/audio_loader.h"
#include "audio/mel.h"
#include "audio/mel_filters.h"
#include "golden_reader.h"
#include "model/ggml_loader.h"
#include "pipeline/decoding.h"
#include "pipeline/tokenizer.h"
#include "pipeline/transcribe.h"
#include "util/thread_pool.h"

namespace wisp {
namespace {

using golden::Json;

// Softmax probabilities over ~99 language logits, each within ~1e-5 of torch's (the logits' own
// float32 error): the bound.
constexpr double kProbTol = 1e-4;

std::string SharedDir() { return WISP_SHARED_DATA_DIR; }

const Json& Golden() {
  static const Json g = [] {
    Result<Json> j = golden::ReadJsonFile(std::string(WISP_GOLDEN_DIR) + "/language.json");
    if (!j.ok()) {
      ADD_FAILURE() << j.status().message();
      return Json();
    }
    return *j;
  }();
  return g;
}

struct Bundle {
  std::unique_ptr<LoadedModel> model;
  std::unique_ptr<Tokenizer> tokenizer;
};

const Json* FindModelSpec(const std::string& name) {
  for (const Json& m : Golden()["models"].AsArray()) {
    if (m["name"].AsString() == name) return &m;
  }
  return nullptr;
}

// make_random_model's options for a golden model: seed, type and the shape overrides the golden
// records (the large-v3 shape: n_mels with librosa's filterbank of that size, n_vocab).
Result<RandomModelOptions> WriterOptions(const Json& spec) {
  RandomModelOptions options;
  options.seed = static_cast<uint64_t>(spec["seed"].AsInt());
  Result<GgmlType> type = ParseGgmlTypeName(spec["type"].AsString());
  if (!type.ok()) return type.status();
  options.type = *type;
  if (!spec.Has("overrides")) return options;
  const Json& o = spec["overrides"];
  if (o.Has("n_vocab")) options.n_vocab = static_cast<int>(o["n_vocab"].AsInt());
  if (o.Has("n_mels")) {
    const int n_mels = static_cast<int>(o["n_mels"].AsInt());
    options.mel_filters = {n_mels, kNFft / 2 + 1, SlaneyMelFilterbank(kSampleRate, kNFft, n_mels)};
  }
  return options;
}

const Bundle* GetModel(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Bundle>> cache;
  if (auto it = cache.find(name); it != cache.end()) return it->second.get();
  const Json* spec = FindModelSpec(name);
  if (spec == nullptr) {
    ADD_FAILURE() << "model " << name << " is not in language.json";
    return nullptr;
  }
  const std::string path = std::string(WISP_BINARY_DIR) + "/language-model-" + name + ".bin";
  Result<RandomModelOptions> options = WriterOptions(*spec);
  if (!options.ok()) {
    ADD_FAILURE() << options.status().message();
    return nullptr;
  }
  Status st = golden::EnsureGoldenModel(SharedDir() + "/" + (*spec)["header"].AsString(), path, *options,
                                        std::stoull((*spec)["checksum"].AsString()));
  if (!st.ok()) {
    ADD_FAILURE() << st.message();
    return nullptr;
  }
  auto b = std::make_unique<Bundle>();
  Result<std::unique_ptr<LoadedModel>> loaded = LoadGgmlModel(path, LoadOptions{.compute = ComputeType::kF32});  // exact, as the golden
  if (!loaded.ok()) {
    ADD_FAILURE() << loaded.status().message();
    return nullptr;
  }
  b->model = std::move(*loaded);
  Result<Tokenizer> tok =
      Tokenizer::FromTiktokenFile(SharedDir() + "/multilingual.tiktoken", b->model->weights.hparams.n_vocab);
  if (!tok.ok()) {
    ADD_FAILURE() << tok.status().message();
    return nullptr;
  }
  b->tokenizer = std::make_unique<Tokenizer>(std::move(*tok));
  return (cache[name] = std::move(b)).get();
}

Result<LogMelSpectrogram> ComputeMel(const std::string& audio, const MelFilters& filters) {
  const std::string path = golden::GoldenAudioPath(audio, SharedDir(), WISP_TEST_DATA_DIR);
  if (!path.empty()) return ComputeLogMelFromFile(path, filters.data.data(), filters.n_mels);
  Result<std::vector<float>> samples = golden::LoadGoldenAudio(audio, SharedDir(), WISP_TEST_DATA_DIR);
  if (!samples.ok()) return samples.status();
  LogMelBuilder builder(filters.data.data(), filters.n_mels);
  builder.Push(samples->data(), samples->size());
  return builder.Finish();
}

class LanguageCase : public ::testing::TestWithParam<int> {};

TEST_P(LanguageCase, SameDetectionAndTranslationAsOpenAiWhisper) {
  if (!std::ifstream(SharedDir() + "/for-tests-ggml-tiny.bin").good() ||
      !std::ifstream(SharedDir() + "/multilingual.tiktoken").good()) {
    GTEST_SKIP() << "needs " << SharedDir() << "/for-tests-ggml-*.bin and multilingual.tiktoken";
  }
  const Json& c = Golden()["cases"].AsArray()[static_cast<size_t>(GetParam())];
  const std::string label = c["model"].AsString() + " " + c["audio"].AsString();
  if (std::getenv("WISP_TEST_QUICK") != nullptr && GetParam() != 1) GTEST_SKIP() << "WISP_TEST_QUICK";
  const Bundle* b = GetModel(c["model"].AsString());
  ASSERT_NE(b, nullptr);
  Result<LogMelSpectrogram> mel = ComputeMel(c["audio"].AsString(), b->model->mel_filters);
  ASSERT_TRUE(mel.ok()) << label << ": " << mel.status().message();
  ThreadPool pool(2);
  const OpContext ctx{&pool, nullptr, Backend::kFast};

  // transcribe(language=None, temperature=0.0).
  TranscribeOptions options;
  options.language = "";
  options.temperatures = {0.0};
  Result<TranscriptionResult> t = Transcribe(b->model->weights, *b->tokenizer, ctx, *mel, options);
  ASSERT_TRUE(t.ok()) << label << ": " << t.status().message();
  const Json& detect = c["detect"];
  EXPECT_GT(detect["top_gap"].AsDouble(), 1e-3) << label << ": near-tie in the golden";
  EXPECT_EQ(t->language, detect["argmax"].AsString()) << label;
  const Json* spec = FindModelSpec(c["model"].AsString());
  ASSERT_NE(spec, nullptr);
  ASSERT_EQ(t->language_probs.size(), static_cast<size_t>((*spec)["num_languages"].AsInt())) << label;
  double max_diff = 0;
  for (const auto& [code, p] : t->language_probs) {
    const double want = detect["probs"][code].AsDouble();
    max_diff = std::max(max_diff, std::fabs(p - want));
    EXPECT_NEAR(p, want, kProbTol) << label << " P(" << code << ")";
  }
  const Json& auto_t = c["transcribe_auto"];
  EXPECT_EQ(t->language, auto_t["language"].AsString()) << label;
  const std::vector<Json>& segs = auto_t["segments"].AsArray();
  ASSERT_EQ(t->segments.size(), segs.size()) << label;
  for (size_t i = 0; i < segs.size(); ++i) {
    EXPECT_EQ(t->segments[i].tokens, segs[i]["tokens"].Ints()) << label << " segment " << i;
  }

  // Restricted to candidates: the most probable of them (same probabilities, renormalised).
  TranscribeOptions restricted = options;
  restricted.language_candidates = {"en", "de", "fr"};
  Result<TranscriptionResult> r = Transcribe(b->model->weights, *b->tokenizer, ctx, *mel, restricted);
  ASSERT_TRUE(r.ok()) << label << ": " << r.status().message();
  EXPECT_EQ(r->language, detect["restricted"]["argmax"].AsString()) << label;

  // decode(task="translate", language=<detected>, temperature=0) on the first window as
  // transcribe() cuts it (mel[:, :min(3000, content)] padded).
  const HParams& hp = b->model->weights.hparams;
  const int64_t frames = c["translate"]["window_frames"].AsInt();
  ASSERT_EQ(frames, std::min<int64_t>(kWindowFrames, mel->content_frames())) << label;
  std::vector<float> window(static_cast<size_t>(hp.n_mels) * kWindowFrames);
  mel->Window(0, frames, window.data());
  WindowDecoder decoder(b->model->weights, *b->tokenizer, ctx);
  decoder.EncodeWindow(window.data());
  DecodingOptions translate;
  translate.language = c["translate"]["language"].AsString();
  translate.task = "translate";
  translate.temperature = 0.0;
  Result<DecodingResult> tr = decoder.Decode(translate, nullptr);
  ASSERT_TRUE(tr.ok()) << label << ": " << tr.status().message();
  EXPECT_EQ(tr->tokens, c["translate"]["tokens"].Ints()) << label << " translate";
  std::printf("[language] %-16s detected %s (max |dP| %.1e), translate %zu tokens\n", label.c_str(),
              t->language.c_str(), max_diff, tr->tokens.size());
}

// tiny and base on jfk, speech1, silence; the large-v3 shape on jfk and speech1.
constexpr int kCases = 8;
INSTANTIATE_TEST_SUITE_P(Golden, LanguageCase, ::testing::Range(0, kCases));

TEST(LanguageGolden, EveryCaseIsRun) { EXPECT_EQ(Golden()["cases"].AsArray().size(), static_cast<size_t>(kCases)); }

// The large-v3 shape really is one: 128 mels, 51866 tokens, <|yue|> among 100 languages.
TEST(LanguageGolden, LargeV3Shape) {
  const Json* spec = FindModelSpec("large-v3-shape");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ((*spec)["n_mels"].AsInt(), 128);
  EXPECT_EQ((*spec)["n_vocab"].AsInt(), 51866);
  EXPECT_EQ((*spec)["num_languages"].AsInt(), 100);
  if (!std::ifstream(SharedDir() + "/for-tests-ggml-tiny.bin").good() ||
      !std::ifstream(SharedDir() + "/multilingual.tiktoken").good()) {
    GTEST_SKIP() << "needs " << SharedDir() << "/for-tests-ggml-tiny.bin and multilingual.tiktoken";
  }
  const Bundle* b = GetModel("large-v3-shape");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->model->weights.hparams.n_mels, 128);
  EXPECT_EQ(b->model->weights.hparams.n_vocab, 51866);
  EXPECT_EQ(b->model->mel_filters.n_mels, 128);
  // <|yue|> is the 100th language token, and the task tokens sit one id later than in a
  // 99-language vocabulary (<|transcribe|> 50359 there).
  EXPECT_EQ(b->tokenizer->LanguageToken("yue"), 50358);
  EXPECT_EQ(b->tokenizer->transcribe(), 50360);
}

}  // namespace
}  // namespace wisp
