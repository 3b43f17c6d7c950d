// `wisp serve`'s HTTP front end: OpenAI's audio API (POST /v1/audio/transcriptions and
// /v1/audio/translations, GET /v1/models, GET /health) over cpp-httplib, as a thin layer on the
// api layer (transcribe_memory.h): requests are checked (request_form.h), admitted (serving.h),
// decoded from memory and transcribed on a slot, and rendered (responses.h). httplib stays
// inside server.cc, so front ends include only this header.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "ops/ops.h"
#include "server/serving.h"
#include "util/status.h"

namespace wisp::server {

struct ServerConfig {
  std::string host = "127.0.0.1";  // loopback unless told otherwise
  int port = 8080;                 // 0: any free port (tests read it from port())
  int parallel = 1;                // transcriptions running at once
  int max_queue = 8;               // more requests that may wait for a slot; beyond them 429
  int threads = 0;                 // per transcription; 0: the physical cores / parallel
  size_t max_body = 25u << 20;     // request bytes (OpenAI's upload limit is 25 MB); beyond them 413
  // Seconds a request may take to arrive, to wait for a slot, and to have its audio decoded.
  int timeout_seconds = 300;
  std::string api_key;  // non-empty: every /v1 request needs "Authorization: Bearer <api_key>"
  Backend backend = Backend::kFast;
  // Receives one line per request (method, path, status, seconds); null: silent.
  std::function<void(const std::string&)> log;
};

class HttpServer {
 public:
  // Binds host:port (errors name the address) with the models it will serve; nothing is
  // accepted until Run.
  static Result<std::unique_ptr<HttpServer>> Create(ServerConfig config, ModelRegistry models);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;  // the bound port (the chosen one when config.port was 0)
  const std::string& host() const;
  // Requests holding a place now (running, or admitted and waiting for a slot or their body).
  int admitted() const;

  // Serves until Stop; returns its failure, if the accept loop failed.
  Status Run();
  // From any thread (a signal watcher, a test): Run returns once in-flight requests finish.
  void Stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wisp::server
