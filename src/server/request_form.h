// The OpenAI audio API's request, as the official clients send it (multipart/form-data fields
// file, model, language, prompt, temperature, response_format, timestamp_granularities[],
// stream), checked into one value before any audio is decoded, and the error shape the API
// answers with. Pure functions over already-split form fields, so the HTTP layer stays thin and
// the mapping can be tested and fuzzed without sockets (fuzz/server_form_fuzz.cc).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "api/engine.h"
#include "pipeline/transcribe.h"

namespace wisp::server {

// One error response: HTTP status plus OpenAI's {"error": {"message", "type", "param", "code"}}
// (param / code null when empty).
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;
  std::string code;
};

// A value or the ApiError to answer with (errors as values, like wisp::Result).
template <typename T>
struct Checked {
  Checked(T v) : value(std::move(v)), ok(true) {}  // NOLINT: implicit by design
  Checked(ApiError e) : error(std::move(e)), ok(false) {}  // NOLINT: implicit by design
  T value{};
  ApiError error;
  bool ok = false;
};

ApiError BadRequest(std::string message, std::string param = "");

// The error as the JSON body OpenAI sends.
std::string ErrorJson(const ApiError& error);

// One part of a multipart/form-data body.
struct FormField {
  std::string name;
  std::string filename;      // set for file parts
  std::string content_type;  // of the part, when given
  std::string content;
};

enum class ResponseFormat { kJson, kText, kSrt, kVerboseJson, kVtt };

// Which endpoint: /v1/audio/transcriptions or /v1/audio/translations.
enum class Task { kTranscribe, kTranslate };

struct TranscriptionRequest {
  Task task = Task::kTranscribe;
  std::string model;     // empty: the server's default model
  std::string audio;     // the uploaded bytes
  std::string filename;  // as uploaded, for messages ("audio" when none)
  std::string language;  // empty: the model's default (detected, or en for English-only)
  std::string prompt;
  double temperature = 0.0;
  ResponseFormat format = ResponseFormat::kJson;
  bool word_timestamps = false;  // timestamp_granularities[] included "word"
  bool stream = false;
};

// Checks the fields of one request (unknown fields are ignored, as new OpenAI clients send
// fields older servers lack). Errors: no or empty or repeated file, temperature not a number in
// [0, 1], an unknown response_format or granularity, granularities without verbose_json, stream
// with a format other than json/text, stream not true/false.
Checked<TranscriptionRequest> ParseTranscriptionForm(std::vector<FormField> fields, Task task);

// The request's TranscribeOptions for one loaded model: the language must be one the model
// knows (an English-only model takes only en), translation needs a multilingual model, and
// word timestamps are refused until the pipeline produces words. model_name is for messages.
Checked<TranscribeOptions> OptionsForModel(const TranscriptionRequest& request, const WhisperEngine& engine,
                                           const std::string& model_name);

const char* ResponseFormatName(ResponseFormat format);

}  // namespace wisp::server
