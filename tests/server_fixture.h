// What the `wisp serve` tests share (server_test.cc, server_words_test.cc): the random-weight
// tiny.en / tiny models written once from the shared whisper.cpp test headers, a server on an
// ephemeral loopback port, multipart forms, the library's result to compare with, OpenAI's error
// shape, and the fixture that skips (fails under CI=true) without the shared data.
#pragma once
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "api/engine.h"
#include "model/ggml_writer.h"
#include "server/server.h"
#include "util/thread_pool.h"
#include "wisp_runner.h"

namespace server_fixture {

using Json = nlohmann::json;
using wisp::server::HttpServer;
using wisp::server::ServerConfig;

inline const std::string kData = WISP_SHARED_DATA_DIR;
inline const std::string kJfk = kData + "/jfk.wav";
inline const std::string kRanks = kData + "/gpt2.tiktoken";

inline std::string Slurp(const std::string& path) { return wisp_test::ReadFile(path); }

// Loads (and once writes) the random-weight models every test shares.
struct Models {
  std::string dir, en_path, multi_path;
  std::shared_ptr<const wisp::WhisperEngine> en, multi;
  std::string skip;  // why the tests skip, when they do
  // LibraryResult's answers by (engine, path, task, language, words): several tests compare with
  // the same transcription, each ~2.5 s in Release (the random model decodes to the token limit
  // through the whole temperature fallback) and ~10 s under the sanitizers.
  std::map<std::tuple<const wisp::WhisperEngine*, std::string, std::string, std::string, bool>,
           wisp::TranscriptionResult>
      library_results;
};

inline Models* g_models = nullptr;

inline Models* SharedModels() {
  if (g_models != nullptr) return g_models;
  g_models = new Models;
  Models& m = *g_models;
  const std::string en_header = kData + "/for-tests-ggml-tiny.en.bin";
  const std::string multi_header = kData + "/for-tests-ggml-tiny.bin";
  if (access(en_header.c_str(), R_OK) != 0 || access(multi_header.c_str(), R_OK) != 0 ||
      access(kJfk.c_str(), R_OK) != 0) {
    m.skip = "needs " + en_header + ", " + multi_header + " and " + kJfk;
    return g_models;
  }
  char dir[] = "/tmp/wisp_server_test_XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    m.skip = "cannot make a temporary directory";
    return g_models;
  }
  m.dir = dir;
  wisp::RandomModelOptions options;
  options.seed = 7;
  options.type = wisp::GgmlType::kF16;
  options.n_layers = 1;
  m.en_path = m.dir + "/ggml-tiny.en.bin";
  m.multi_path = m.dir + "/ggml-tiny.bin";
  for (const auto& [header, path] : {std::pair{en_header, m.en_path}, std::pair{multi_header, m.multi_path}}) {
    const wisp::Status st = wisp::WriteRandomGgmlModel(header, path, options);
    if (!st.ok()) {
      m.skip = "cannot write a random model: " + st.message();
      return g_models;
    }
  }
  const wisp::LoadOptions load{.keep_f32_matrices = false, .compute = wisp::ComputeType::kF32};  // exact
  auto en = wisp::WhisperEngine::Load(m.en_path, kRanks, load);
  auto multi = wisp::WhisperEngine::Load(m.multi_path, kData + "/multilingual.tiktoken", load);
  if (!en.ok() || !multi.ok()) {
    m.skip = "cannot load the random models: " + (en.ok() ? multi.status() : en.status()).message();
    return g_models;
  }
  m.en = std::move(*en);
  m.multi = std::move(*multi);
  return g_models;
}

// One server on an ephemeral loopback port, run on its own thread for one test.
class RunningServer {
 public:
  explicit RunningServer(ServerConfig config) {
    config.host = "127.0.0.1";
    config.port = 0;
    Models* m = SharedModels();
    wisp::server::ModelRegistry registry;
    EXPECT_TRUE(registry.Add("tiny.en", m->en).ok());
    EXPECT_TRUE(registry.Add("tiny", m->multi).ok());
    auto created = HttpServer::Create(std::move(config), std::move(registry));
    if (!created.ok()) {
      ADD_FAILURE() << created.status().message();
      return;
    }
    server_ = std::move(*created);
    thread_ = std::thread([this] { run_status_ = server_->Run(); });
    // Bounded wait until the accept loop answers.
    for (int i = 0; i < 200; ++i) {
      httplib::Client probe("127.0.0.1", server_->port());
      if (auto r = probe.Get("/health"); r && r->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "the server did not answer /health";
  }
  ~RunningServer() {
    if (!server_) return;
    server_->Stop();
    thread_.join();
    EXPECT_TRUE(run_status_.ok()) << run_status_.message();
  }
  int port() const { return server_ ? server_->port() : 0; }
  int admitted() const { return server_ ? server_->admitted() : 0; }
  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", port());
    c.set_read_timeout(120, 0);
    c.set_write_timeout(120, 0);
    return c;
  }

 private:
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  wisp::Status run_status_;
};

inline httplib::MultipartFormDataItems Form(const std::string& audio, const std::string& filename,
                                     std::vector<std::pair<std::string, std::string>> fields) {
  httplib::MultipartFormDataItems items = {{"file", audio, filename, "application/octet-stream"}};
  for (auto& [name, value] : fields) items.push_back({name, value, "", ""});
  return items;
}

// The library's result for a file, as `wisp transcribe` computes it (with --word_timestamps
// True when word_timestamps); computed once per suite (Models::library_results).
inline wisp::TranscriptionResult LibraryResult(const wisp::WhisperEngine& engine, const std::string& path,
                                               const std::string& task = "transcribe",
                                               const std::string& language = "en", bool word_timestamps = false) {
  auto& cache = SharedModels()->library_results;
  const auto key = std::make_tuple(&engine, path, task, language, word_timestamps);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  wisp::ThreadPool pool(1);
  wisp::OpContext ctx;
  ctx.pool = &pool;
  wisp::TranscribeOptions options;
  options.task = task;
  options.language = language;
  options.word_timestamps = word_timestamps;
  auto result = engine.TranscribeFile(path, options, ctx);
  EXPECT_TRUE(result.ok()) << result.status().message();
  if (!result.ok()) return wisp::TranscriptionResult{};  // not kept: each caller fails on its own
  cache.emplace(key, *result);
  return *result;
}

// The error body's fields, checked against OpenAI's shape.
inline void ExpectError(const httplib::Result& r, int status, const std::string& message, const std::string& param = "",
                 const std::string& code = "") {
  ASSERT_TRUE(r) << "no response: " << httplib::to_string(r.error());
  EXPECT_EQ(r->status, status) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  const Json j = Json::parse(r->body, nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("error")) << r->body;
  const Json& e = j["error"];
  EXPECT_EQ(e.size(), 4u) << r->body;
  EXPECT_EQ(e.value("message", ""), message);
  EXPECT_TRUE(e["type"].is_string());
  if (param.empty()) {
    EXPECT_TRUE(e["param"].is_null()) << r->body;
  } else {
    EXPECT_EQ(e["param"], param);
  }
  if (code.empty()) {
    EXPECT_TRUE(e["code"].is_null()) << r->body;
  } else {
    EXPECT_EQ(e["code"], code);
  }
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Models* m = SharedModels();
    if (!m->skip.empty()) {
      if (std::getenv("CI") != nullptr && std::string(std::getenv("CI")) == "true") FAIL() << m->skip;
      GTEST_SKIP() << m->skip;
    }
  }
  static void TearDownTestSuite() {
    if (g_models != nullptr && !g_models->dir.empty()) std::system(("rm -rf '" + g_models->dir + "'").c_str());
    delete g_models;
    g_models = nullptr;
  }
};

}  // namespace server_fixture
