// The C API on a complete random-weight tiny.en model (1 layer, written from whisper.cpp's
// header-only for-tests file): several threads transcribing with one shared wisp_model produce
// exactly the tokens and texts of a sequential run, and the accessors / formatting agree with the
// C++ result. Random weights give meaningless but deterministic tokens, which is all this needs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "api/wisp.h"
#include "model/ggml_writer.h"
#include "pipeline/output_writers.h"

namespace {

struct Snapshot {
  std::string text;
  std::vector<std::string> segment_texts;
  std::vector<std::vector<int>> tokens;
  std::vector<double> starts, ends;
  std::string json;
};

Snapshot Take(const wisp_result* r) {
  Snapshot s;
  s.text = wisp_result_text(r);
  for (int i = 0; i < wisp_result_segment_count(r); ++i) {
    s.segment_texts.push_back(wisp_result_segment_text(r, i));
    const int* t = wisp_result_segment_tokens(r, i);
    s.tokens.emplace_back(t, t + wisp_result_segment_token_count(r, i));
    s.starts.push_back(wisp_result_segment_start(r, i));
    s.ends.push_back(wisp_result_segment_end(r, i));
  }
  char* json = nullptr;
  EXPECT_EQ(wisp_result_format(r, "json", &json, nullptr), WISP_OK);
  s.json = json != nullptr ? json : "";
  wisp_free_string(json);
  return s;
}

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string header = std::string(WISP_SHARED_DATA_DIR) + "/for-tests-ggml-tiny.en.bin";
    if (access(header.c_str(), R_OK) != 0) return;
    model_path_ = "/tmp/wisp_api_test_" + std::to_string(getpid()) + ".bin";
    wisp::RandomModelOptions options;
    options.seed = 7;
    options.type = wisp::GgmlType::kF16;
    options.n_layers = 1;
    const wisp::Status st = wisp::WriteRandomGgmlModel(header, model_path_, options);
    if (!st.ok()) {
      std::fprintf(stderr, "cannot write the random model: %s\n", st.message().c_str());
      model_path_.clear();
    }
  }
  static void TearDownTestSuite() {
    if (!model_path_.empty()) std::remove(model_path_.c_str());
  }
  void SetUp() override {
    if (model_path_.empty()) GTEST_SKIP() << "needs " WISP_SHARED_DATA_DIR "/for-tests-ggml-tiny.en.bin";
  }
  static std::string model_path_;
};
std::string ApiTest::model_path_;

// With no tiktoken file anywhere on the search path the model's own vocab is used, and the C
// API says so (front ends warn: non-ASCII text may decode differently).
TEST_F(ApiTest, ReportsTheGgmlVocabFallback) {
  char dir[] = "/tmp/wisp_api_fallback_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string copy = std::string(dir) + "/ggml-model.bin";
  ASSERT_EQ(std::system(("cp '" + model_path_ + "' '" + copy + "'").c_str()), 0);
  const char* saved_home = std::getenv("HOME");
  const std::string home = saved_home != nullptr ? saved_home : "";
  for (const char* v : {"WISP_ASSETS", "WISP_MODELS_DIR", "XDG_CACHE_HOME"}) unsetenv(v);
  setenv("HOME", dir, 1);  // an empty cache
  wisp_model* model = nullptr;
  const wisp_status st = wisp_model_load(copy.c_str(), nullptr, &model, nullptr);
  if (saved_home != nullptr) setenv("HOME", home.c_str(), 1);
  ASSERT_EQ(st, WISP_OK);
  EXPECT_EQ(wisp_model_tokenizer_is_fallback(model), 1);
  const std::string source = wisp_model_tokenizer_source(model);
  EXPECT_NE(source.find("the vocabulary embedded in " + copy), std::string::npos) << source;
  EXPECT_NE(source.find("214 non-UTF-8 tokens are lost"), std::string::npos) << source;

  // The model cache is searched too: a gpt2.tiktoken there replaces the fallback.
  const std::string tiktoken = std::string(WISP_SHARED_DATA_DIR) + "/gpt2.tiktoken";
  if (access(tiktoken.c_str(), R_OK) == 0) {
    const std::string cache = std::string(dir) + "/cache";
    ASSERT_EQ(std::system(("mkdir -p '" + cache + "' && cp '" + tiktoken + "' '" + cache + "/'").c_str()), 0);
    setenv("WISP_MODELS_DIR", cache.c_str(), 1);
    wisp_model* cached = nullptr;
    ASSERT_EQ(wisp_model_load(copy.c_str(), nullptr, &cached, nullptr), WISP_OK);
    unsetenv("WISP_MODELS_DIR");
    EXPECT_EQ(wisp_model_tokenizer_is_fallback(cached), 0);
    EXPECT_EQ(std::string(wisp_model_tokenizer_source(cached)), "tiktoken file " + cache + "/gpt2.tiktoken");
    wisp_model_free(cached);
  }
  wisp_model_free(model);
  std::system(("rm -rf '" + std::string(dir) + "'").c_str());
}

TEST_F(ApiTest, ConcurrentTranscriptionsShareOneModel) {
  const std::string tiktoken = std::string(WISP_SHARED_DATA_DIR) + "/gpt2.tiktoken";
  wisp_model* model = nullptr;
  char* err = nullptr;
  ASSERT_EQ(wisp_model_load(model_path_.c_str(), access(tiktoken.c_str(), R_OK) == 0 ? tiktoken.c_str() : nullptr,
                            &model, &err),
            WISP_OK)
      << (err != nullptr ? err : "");
  EXPECT_EQ(err, nullptr);
  EXPECT_EQ(wisp_model_is_multilingual(model), 0);
  EXPECT_EQ(wisp_model_n_vocab(model), 51864);
  if (access(tiktoken.c_str(), R_OK) == 0) {
    EXPECT_EQ(std::string(wisp_model_tokenizer_source(model)), "tiktoken file " + tiktoken);
    EXPECT_EQ(wisp_model_tokenizer_is_fallback(model), 0);
  }
  EXPECT_STREQ(wisp_model_tokenizer_source(nullptr), "");
  EXPECT_EQ(wisp_model_tokenizer_is_fallback(nullptr), 0);

  const std::string audio = std::string(WISP_TEST_DATA_DIR) + "/speech1.wav";
  wisp_params params = wisp_params_default();
  params.n_threads = 1;
  wisp_result* sequential = nullptr;
  ASSERT_EQ(wisp_transcribe_file(model, audio.c_str(), &params, &sequential, &err), WISP_OK) << err;
  const Snapshot expected = Take(sequential);
  EXPECT_EQ(std::string(wisp_result_language(sequential)), "en");
  ASSERT_GT(wisp_result_segment_count(sequential), 0);
  wisp_result_free(sequential);

  constexpr int kThreads = 3;
  std::vector<Snapshot> got(kThreads);
  std::vector<wisp_status> codes(kThreads, WISP_ERROR_INTERNAL);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      wisp_params p = wisp_params_default();
      p.n_threads = 1 + t % 2;  // thread count must not change the result of the fast backend
      wisp_result* r = nullptr;
      codes[t] = wisp_transcribe_file(model, audio.c_str(), &p, &r, nullptr);
      if (r != nullptr) got[t] = Take(r);
      wisp_result_free(r);
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(codes[t], WISP_OK) << "thread " << t;
    EXPECT_EQ(got[t].tokens, expected.tokens) << "thread " << t;
    EXPECT_EQ(got[t].segment_texts, expected.segment_texts) << "thread " << t;
    EXPECT_EQ(got[t].starts, expected.starts) << "thread " << t;
    EXPECT_EQ(got[t].json, expected.json) << "thread " << t;
  }
  wisp_model_free(model);
}

TEST_F(ApiTest, ErrorsNameTheFileAndCode) {
  wisp_model* model = nullptr;
  ASSERT_EQ(wisp_model_load(model_path_.c_str(), nullptr, &model, nullptr), WISP_OK);
  wisp_result* r = nullptr;
  char* err = nullptr;
  EXPECT_EQ(wisp_transcribe_file(model, "/nonexistent/audio.wav", nullptr, &r, &err), WISP_ERROR_NOT_FOUND);
  EXPECT_EQ(r, nullptr);
  ASSERT_NE(err, nullptr);
  EXPECT_NE(std::string(err).find("/nonexistent/audio.wav"), std::string::npos) << err;
  wisp_free_string(err);

  wisp_params p = wisp_params_default();
  p.language = "de";  // English-only model
  err = nullptr;
  const std::string audio = std::string(WISP_TEST_DATA_DIR) + "/speech1.wav";
  EXPECT_NE(wisp_transcribe_file(model, audio.c_str(), &p, &r, &err), WISP_OK);
  ASSERT_NE(err, nullptr);
  wisp_free_string(err);

  p = wisp_params_default();
  p.task = "summarize";
  err = nullptr;
  EXPECT_EQ(wisp_transcribe_file(model, audio.c_str(), &p, &r, &err), WISP_ERROR_INVALID_ARGUMENT);
  ASSERT_NE(err, nullptr);
  EXPECT_NE(std::string(err).find("summarize"), std::string::npos);
  wisp_free_string(err);

  char* out = nullptr;
  wisp_model_free(model);
  EXPECT_EQ(wisp_result_format(nullptr, "json", &out, nullptr), WISP_ERROR_INVALID_ARGUMENT);
}

}  // namespace
