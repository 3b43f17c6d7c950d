#include "server/server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "api/transcribe_memory.h"
#include "server/request_form.h"
#include "server/responses.h"
#include "util/thread_pool.h"

namespace wisp::server {
namespace {

using Clock = std::chrono::steady_clock;

// Fields of one form beyond the OpenAI API's handful: a request with more is not a client of it.
constexpr size_t kMaxFormFields = 64;
// Multipart framing (boundaries, part headers) around max_body bytes of fields.
constexpr size_t kMultipartSlack = 64u << 10;

void SendError(httplib::Response& res, const ApiError& error) {
  res.status = error.status;
  res.set_content(ErrorJson(error), "application/json");
}

// For an answer given when the body could not be read to its end (too large, too slow,
// malformed). httplib 0.11 keeps the connection open regardless and reads the rest as requests
// of its own (answered 400, at most its keep-alive count of them); the header at least tells the
// client not to send another request on it.
void SendErrorAndClose(httplib::Response& res, const ApiError& error) {
  SendError(res, error);
  res.set_header("Connection", "close");
}

// For an answer given before the body was read, when its size is within the limit: the body is
// read and dropped (bounded by --max-body and --timeout), so that the connection stays usable
// and a client retrying a 429 or 401 on it is not answered from the leftover bytes.
void RejectAndDrain(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                    const ApiError& error) {
  if (req.is_multipart_form_data()) {
    reader([](const httplib::MultipartFormData&) { return true; }, [](const char*, size_t) { return true; });
  } else {
    reader([](const char*, size_t) { return true; });
  }
  SendError(res, error);
}

ApiError ServerError(int status, std::string message, std::string code = "") {
  return ApiError{status, std::move(message), "server_error", "", std::move(code)};
}

std::string Seconds(int s) { return std::to_string(s) + " s"; }

}  // namespace

struct HttpServer::Impl {
  ServerConfig config;
  ModelRegistry models;
  Admission admission;
  httplib::Server http;
  int port = -1;

  Impl(ServerConfig c, ModelRegistry m, int threads_per_slot)
      : config(std::move(c)),
        models(std::move(m)),
        admission(config.parallel, config.max_queue, threads_per_slot, config.backend) {}

  void Route();
  // The API key and the declared body size, checked before a byte of the body is read.
  std::optional<ApiError> CheckAccess(const httplib::Request& req) const;
  void HandleAudio(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                   Task task);
  // Reads the multipart body into fields; an error when it is malformed, too large or too slow.
  std::optional<ApiError> ReadForm(const httplib::Request& req, const httplib::ContentReader& reader,
                                   std::vector<FormField>* fields) const;
  Clock::time_point Deadline() const { return Clock::now() + std::chrono::seconds(config.timeout_seconds); }
};

std::optional<ApiError> HttpServer::Impl::CheckAccess(const httplib::Request& req) const {
  if (req.path == "/health") return std::nullopt;
  if (!config.api_key.empty()) {
    const std::string auth = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    const bool ok = auth.size() > kBearer.size() && auth.compare(0, kBearer.size(), kBearer) == 0 &&
                    ConstantTimeEquals(std::string_view(auth).substr(kBearer.size()), config.api_key);
    if (!ok) {
      return ApiError{401,
                      auth.empty() ? "missing API key: send the header Authorization: Bearer KEY"
                                   : "incorrect API key in the Authorization header",
                      "invalid_request_error", "", "invalid_api_key"};
    }
  }
  // A declared length over the limit is refused before a byte of the body is read.
  if (req.has_header("Content-Length")) {
    const std::string length = req.get_header_value("Content-Length");
    const unsigned long long declared = std::strtoull(length.c_str(), nullptr, 10);
    if (declared > config.max_body) {
      return ApiError{413,
                      "request body of " + length + " bytes is over this server's limit of " +
                          std::to_string(config.max_body) + " bytes (--max-body)",
                      "invalid_request_error", "file", "payload_too_large"};
    }
  }
  return std::nullopt;
}

std::optional<ApiError> HttpServer::Impl::ReadForm(const httplib::Request& req, const httplib::ContentReader& reader,
                                                   std::vector<FormField>* fields) const {
  const Clock::time_point deadline = Deadline();
  size_t total = 0;
  bool too_large = false, timed_out = false, too_many = false;
  const bool read = reader(
      [&](const httplib::MultipartFormData& part) {
        if (fields->size() >= kMaxFormFields) {
          too_many = true;
          return false;
        }
        fields->push_back(FormField{part.name, part.filename, part.content_type, ""});
        return true;
      },
      [&](const char* data, size_t n) {
        if (Clock::now() > deadline) {
          timed_out = true;
          return false;
        }
        total += n;
        if (total > config.max_body) {
          too_large = true;
          return false;
        }
        if (!fields->empty()) fields->back().content.append(data, n);
        return true;
      });
  if (too_large) {
    return ApiError{413, "request body is over this server's limit of " + std::to_string(config.max_body) +
                             " bytes (--max-body)", "invalid_request_error", "file", "payload_too_large"};
  }
  // The per-read timeout equals the whole budget, so a read that timed out also ends past the
  // deadline: either way it is the client's slowness, not a malformed body.
  if (timed_out || (!read && Clock::now() >= deadline)) {
    return ApiError{408, "request body not received within " + Seconds(config.timeout_seconds) + " (--timeout)",
                    "invalid_request_error", "", "timeout"};
  }
  if (too_many) return BadRequest("more than " + std::to_string(kMaxFormFields) + " form fields");
  if (!read) return BadRequest("malformed multipart/form-data body");
  return std::nullopt;
}

void HttpServer::Impl::HandleAudio(const httplib::Request& req, httplib::Response& res,
                                   const httplib::ContentReader& reader, Task task) {
  if (std::optional<ApiError> refused = CheckAccess(req)) {
    if (refused->status == 401) res.set_header("WWW-Authenticate", "Bearer");
    // Over the size limit: not worth reading only to drop it.
    return refused->status == 413 ? SendErrorAndClose(res, *refused) : RejectAndDrain(req, res, reader, *refused);
  }
  if (!req.is_multipart_form_data()) {
    const std::string type = req.get_header_value("Content-Type");
    return RejectAndDrain(req, res, reader, BadRequest("expected a multipart/form-data body with the audio as 'file', got " +
                                             (type.empty() ? std::string("no Content-Type") : "Content-Type " + type)));
  }
  // Refused before the upload is read, so a full server costs a client only its headers.
  std::optional<Admission::Ticket> ticket = admission.TryEnter();
  if (!ticket) {
    res.set_header("Retry-After", "1");
    return RejectAndDrain(req, res, reader, ApiError{429,
                                    "too many requests: " + std::to_string(admission.capacity()) +
                                        " transcriptions are running or waiting (--parallel " +
                                        std::to_string(admission.parallel()) + ", --max-queue " +
                                        std::to_string(config.max_queue) + "); retry later",
                                    "requests", "", "rate_limit_exceeded"});
  }
  std::vector<FormField> fields;
  if (std::optional<ApiError> error = ReadForm(req, reader, &fields)) return SendErrorAndClose(res, *error);
  Checked<TranscriptionRequest> request = ParseTranscriptionForm(std::move(fields), task);
  if (!request.ok) return SendError(res, request.error);
  const TranscriptionRequest& r = request.value;
  const WhisperEngine* engine = models.Find(r.model);
  if (engine == nullptr) {
    std::string known;
    for (const std::string& n : models.names()) known += (known.empty() ? "" : ", ") + n;
    return SendError(res, ApiError{400, "model '" + r.model + "' is not served here (models: " + known + ")",
                                   "invalid_request_error", "model", "model_not_found"});
  }
  const std::string model_name = models.Resolve(r.model);
  Checked<TranscribeOptions> options = OptionsForModel(r, *engine, model_name);
  if (!options.ok) return SendError(res, options.error);

  Slot* slot = ticket->Acquire(Deadline());
  if (slot == nullptr) {
    return SendError(res, ServerError(503, "the server is busy: no transcription slot came free within " +
                                               Seconds(config.timeout_seconds) + " (--timeout)"));
  }
  // Audio is decoded before any response byte, so bad audio is a 400 even when streaming.
  const Clock::time_point decode_deadline = Deadline();
  const auto* bytes = reinterpret_cast<const uint8_t*>(r.audio.data());
  Result<LogMelSpectrogram> mel = ComputeEngineMelFromMemory(
      *engine, std::span<const uint8_t>(bytes, r.audio.size()), MemoryDecodeOptions{r.filename, decode_deadline});
  if (!mel.ok()) {
    if (mel.status().kind() == ErrorKind::kIo && Clock::now() >= decode_deadline) {
      return SendError(res, ServerError(503, "decoding the audio took longer than " +
                                                 Seconds(config.timeout_seconds) + " (--timeout)"));
    }
    const bool client_fault = mel.status().kind() != ErrorKind::kIo;
    return SendError(res, client_fault ? BadRequest(mel.status().message(), "file")
                                       : ServerError(500, mel.status().message()));
  }
  const double duration = AudioDurationSeconds(*mel);

  if (!r.stream) {
    Result<TranscriptionResult> result = TranscribeMel(*engine, *mel, options.value, slot->ctx);
    if (!result.ok()) {
      return SendError(res, result.status().kind() == ErrorKind::kInvalidArgument
                                ? BadRequest(result.status().message())
                                : ServerError(500, result.status().message()));
    }
    RenderedBody body = RenderTranscription(r.format, r.task, *result, duration, r.word_timestamps);
    res.status = 200;
    res.set_content(std::move(body.body), body.content_type);
    return;
  }

  // stream=true: one transcript.text.delta per segment as its window is decoded, then
  // transcript.text.done. The provider runs on this connection's thread after the handler
  // returns, so it keeps the ticket (and so the slot) and the spectrogram alive with it.
  struct StreamState {
    Admission::Ticket ticket;
    Slot* slot;
    const WhisperEngine* engine;
    LogMelSpectrogram mel;
    TranscribeOptions options;
    std::function<void(const std::string&)> log;
  };
  auto state = std::make_shared<StreamState>(
      StreamState{std::move(*ticket), slot, engine, std::move(*mel), std::move(options.value), config.log});
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider("text/event-stream", [state](size_t, httplib::DataSink& sink) {
    TranscribeOptions opts = state->options;
    // A client that went away stops the transcription before its next window, which frees the
    // slot for the requests waiting on it.
    std::atomic<bool> gone{false};
    opts.cancel = &gone;
    opts.on_segment = [&sink, &gone](const Segment& s) {
      const std::string event = SseTextDelta(s.text);
      if (!sink.write(event.data(), event.size())) gone.store(true);
    };
    opts.on_progress = [&sink, &gone](double, double) {
      if (!sink.is_writable()) gone.store(true);
    };
    Result<TranscriptionResult> result = TranscribeMel(*state->engine, state->mel, opts, state->slot->ctx);
    if (gone.load()) {  // nobody to send the end to: close the connection
      if (state->log) state->log("stream cancelled: the client disconnected (" + result.status().message() + ")");
      return false;
    }
    const std::string last = result.ok() ? SseTextDone(result->text)
                                         : SseError(ServerError(500, result.status().message()));
    sink.write(last.data(), last.size());
    sink.done();
    return true;
  });
}

void HttpServer::Impl::Route() {
  // Requests without a body are checked here; the audio handlers check their own, so that they
  // can read and drop the body of a refused request.
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "POST") return httplib::Server::HandlerResponse::Unhandled;
    std::optional<ApiError> refused = CheckAccess(req);
    if (!refused) return httplib::Server::HandlerResponse::Unhandled;
    if (refused->status == 401) res.set_header("WWW-Authenticate", "Bearer");
    SendErrorAndClose(res, *refused);
    return httplib::Server::HandlerResponse::Handled;
  });
  // A load balancer or operator sees how full the server is: the transcriptions running or
  // waiting, beside how many it admits before answering 429.
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"ok\",\"admitted\":" + std::to_string(admission.admitted()) +
                        ",\"capacity\":" + std::to_string(admission.capacity()) + "}",
                    "application/json");
  });
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(ModelsListJson(models.names()), "application/json");
  });
  http.Get(R"(/v1/models/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    if (models.Find(id) == nullptr || models.Resolve(id) != id) {
      return SendError(res, ApiError{404, "model '" + id + "' is not served here", "invalid_request_error", "model",
                                     "model_not_found"});
    }
    const std::string list = ModelsListJson({id});
    res.set_content(list.substr(list.find('[') + 1, list.rfind(']') - list.find('[') - 1), "application/json");
  });
  http.Post("/v1/audio/transcriptions",
            [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
              HandleAudio(req, res, reader, Task::kTranscribe);
            });
  http.Post("/v1/audio/translations",
            [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
              HandleAudio(req, res, reader, Task::kTranslate);
            });
  // Statuses httplib sets by itself (unknown path, unparsable request, over the payload limit)
  // get the same JSON error body as the handlers' own.
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message;
    switch (res.status) {
      case 404: message = "no such endpoint: " + req.method + " " + req.path; break;
      case 413: message = "request body is over this server's limit (--max-body)"; break;
      default: message = "malformed request (HTTP status " + std::to_string(res.status) + ")"; break;
    }
    SendError(res, ApiError{res.status, message, res.status >= 500 ? "server_error" : "invalid_request_error", "",
                            ""});
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = std::string("internal error: ") + e.what();
    } catch (...) {
    }
    SendError(res, ServerError(500, what));
  });
  if (config.log) {
    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      // The leftover of a body that was not read, parsed by httplib as requests (see
      // SendErrorAndClose): not requests of a client, so not logged as such.
      if (req.method.empty()) return;
      config.log(req.remote_addr + " " + req.method + " " + req.path + " " + std::to_string(res.status));
    });
  }
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { Stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Create(ServerConfig config, ModelRegistry models) {
  if (models.empty()) return InvalidArgument("no model to serve");
  if (config.parallel < 1) return InvalidArgument("--parallel must be at least 1");
  if (config.max_queue < 0) return InvalidArgument("--max-queue must not be negative");
  if (config.timeout_seconds < 1) return InvalidArgument("--timeout must be at least 1 s");
  const int threads =
      config.threads > 0 ? config.threads : std::max(1, ThreadPool::DefaultThreadCount() / config.parallel);
  auto impl = std::make_unique<Impl>(std::move(config), std::move(models), threads);
  Impl& s = *impl;
  // Connection threads: every admitted request holds one while it waits or runs, and a few more
  // answer 429s, /health and /v1/models while all of those are taken.
  const size_t connection_threads = static_cast<size_t>(s.admission.capacity()) + 4;
  s.http.new_task_queue = [connection_threads] { return new httplib::ThreadPool(connection_threads); };
  s.http.set_read_timeout(s.config.timeout_seconds, 0);
  s.http.set_write_timeout(s.config.timeout_seconds, 0);
  s.http.set_payload_max_length(s.config.max_body + kMultipartSlack);
  s.Route();
  s.port = s.config.port == 0 ? s.http.bind_to_any_port(s.config.host)
                              : (s.http.bind_to_port(s.config.host, s.config.port) ? s.config.port : -1);
  if (s.port < 0) {
    return IoError("cannot listen on " + s.config.host + ":" + std::to_string(s.config.port) +
                   " (address in use, or not an address of this machine)");
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

int HttpServer::port() const { return impl_->port; }
int HttpServer::admitted() const { return impl_->admission.admitted(); }
const std::string& HttpServer::host() const { return impl_->config.host; }

Status HttpServer::Run() {
  if (!impl_->http.listen_after_bind()) return IoError("the server on port " + std::to_string(impl_->port) + " failed");
  return Status::Ok();
}

void HttpServer::Stop() {
  if (impl_ && impl_->http.is_running()) impl_->http.stop();
}

}  // namespace wisp::server
