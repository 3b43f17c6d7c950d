#include "server/request_form.h"

#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "pipeline/text_metrics.h"

namespace wisp::server {
namespace {

// Form values are short; a value quoted in a message is cut so that a hostile request cannot
// make the error body large.
std::string Quote(std::string_view value) {
  constexpr size_t kMax = 64;
  std::string v = ReplaceInvalidUtf8(value.substr(0, kMax));
  return "'" + v + (value.size() > kMax ? "...'" : "'");
}

Checked<double> ParseTemperature(const std::string& text) {
  const ApiError error = BadRequest("temperature: expected a number between 0 and 1, got " + Quote(text), "temperature");
  if (text.empty() || text.size() > 32) return error;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  // strtod accepts leading blanks, "nan" and "inf"; none of them is a temperature.
  if (end != text.c_str() + text.size() || std::isspace(static_cast<unsigned char>(text[0])) ||
      !std::isfinite(value) || value < 0.0 || value > 1.0) {
    return error;
  }
  return value;
}

Checked<ResponseFormat> ParseResponseFormat(const std::string& text) {
  static const std::pair<const char*, ResponseFormat> kFormats[] = {
      {"json", ResponseFormat::kJson}, {"text", ResponseFormat::kText},
      {"srt", ResponseFormat::kSrt},   {"verbose_json", ResponseFormat::kVerboseJson},
      {"vtt", ResponseFormat::kVtt}};
  for (const auto& [name, format] : kFormats) {
    if (text == name) return format;
  }
  return BadRequest("response_format: expected one of json, text, srt, verbose_json, vtt, got " + Quote(text),
                    "response_format");
}

// TranscribeOptions is being reworked into one validated struct (a temperature list, word
// timestamps, Validate / ValidateForModel); these compile against either shape, so the server
// follows that change without a flag day. Drop the old branches once it has landed.
template <typename Options>
void SetSingleTemperature(Options& options, double temperature) {
  if constexpr (requires { options.temperatures; }) {
    options.temperatures = {temperature};
  } else {
    options.temperature = temperature;
  }
}

template <typename Options>
Status ValidateOptions(const Options& options, const Tokenizer& tokenizer) {
  if constexpr (requires { options.ValidateForModel(tokenizer); }) {
    return options.ValidateForModel(tokenizer);
  } else {
    return Status::Ok();
  }
}

}  // namespace

ApiError BadRequest(std::string message, std::string param) {
  return ApiError{400, std::move(message), "invalid_request_error", std::move(param), ""};
}

std::string ErrorJson(const ApiError& error) {
  nlohmann::ordered_json body;
  body["error"]["message"] = ReplaceInvalidUtf8(error.message);
  body["error"]["type"] = error.type;
  body["error"]["param"] = error.param.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(error.param);
  body["error"]["code"] = error.code.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(error.code);
  return body.dump();
}

const char* ResponseFormatName(ResponseFormat format) {
  switch (format) {
    case ResponseFormat::kJson: return "json";
    case ResponseFormat::kText: return "text";
    case ResponseFormat::kSrt: return "srt";
    case ResponseFormat::kVerboseJson: return "verbose_json";
    case ResponseFormat::kVtt: return "vtt";
  }
  return "json";
}

Checked<TranscriptionRequest> ParseTranscriptionForm(std::vector<FormField> fields, Task task) {
  TranscriptionRequest r;
  r.task = task;
  bool have_file = false;
  bool have_granularities = false;
  bool have_format = false;
  for (FormField& f : fields) {
    if (f.name == "file") {
      if (have_file) return BadRequest("more than one 'file' field: send one audio file per request", "file");
      have_file = true;
      r.audio = std::move(f.content);
      r.filename = f.filename.empty() ? "audio" : ReplaceInvalidUtf8(f.filename.substr(0, 200));
    } else if (f.name == "model") {
      r.model = f.content;
    } else if (f.name == "language") {
      r.language = f.content;
    } else if (f.name == "prompt") {
      r.prompt = f.content;
    } else if (f.name == "temperature") {
      Checked<double> t = ParseTemperature(f.content);
      if (!t.ok) return t.error;
      r.temperature = t.value;
    } else if (f.name == "response_format") {
      Checked<ResponseFormat> format = ParseResponseFormat(f.content);
      if (!format.ok) return format.error;
      r.format = format.value;
      have_format = true;
    } else if (f.name == "timestamp_granularities[]" || f.name == "timestamp_granularities") {
      if (f.content == "word") {
        r.word_timestamps = true;
      } else if (f.content != "segment") {
        return BadRequest("timestamp_granularities[]: expected segment or word, got " + Quote(f.content),
                          "timestamp_granularities");
      }
      have_granularities = true;
    } else if (f.name == "stream") {
      if (f.content == "true" || f.content == "True" || f.content == "1") {
        r.stream = true;
      } else if (f.content == "false" || f.content == "False" || f.content == "0") {
        r.stream = false;
      } else {
        return BadRequest("stream: expected true or false, got " + Quote(f.content), "stream");
      }
    }
  }
  if (!have_file) {
    return BadRequest("no audio: the form has no 'file' field (send multipart/form-data with the audio as 'file')",
                      "file");
  }
  if (r.audio.empty()) return BadRequest("the 'file' field " + Quote(r.filename) + " is empty", "file");
  if (have_granularities && r.format != ResponseFormat::kVerboseJson) {
    return BadRequest("timestamp_granularities[] needs response_format verbose_json" +
                          std::string(have_format ? ", got " + Quote(ResponseFormatName(r.format)) : ""),
                      "timestamp_granularities");
  }
  if (r.stream && r.format != ResponseFormat::kJson && r.format != ResponseFormat::kText) {
    return BadRequest("stream: streaming sends text deltas, so response_format must be json or text, got " +
                          Quote(ResponseFormatName(r.format)),
                      "stream");
  }
  return r;
}

Checked<TranscribeOptions> OptionsForModel(const TranscriptionRequest& request, const WhisperEngine& engine,
                                           const std::string& model_name) {
  TranscribeOptions options;
  const bool multilingual = engine.hparams().multilingual();
  // Words as openai-whisper's word_timestamps=True (which also moves segment ends to words).
  options.word_timestamps = request.word_timestamps;
  if (request.task == Task::kTranslate && !multilingual) {
    return BadRequest("model '" + model_name + "' is English-only and cannot translate (load a multilingual model)",
                      "model");
  }
  if (!multilingual) {
    if (!request.language.empty() && request.language != "en") {
      return BadRequest("language: model '" + model_name + "' is English-only, so language must be en, got " +
                            Quote(request.language),
                        "language");
    }
    options.language = "en";
  } else {
    if (!request.language.empty() && engine.tokenizer().LanguageToken(request.language) < 0) {
      return BadRequest("language: unknown language code " + Quote(request.language) +
                            " (ISO-639-1, as en, de, fr, ...)",
                        "language");
    }
    options.language = request.language;  // empty: detected from the first 30 s
  }
  options.task = request.task == Task::kTranslate ? "translate" : "transcribe";
  // OpenAI's temperature 0 means "raise the temperature on failure as whisper does", so it keeps
  // the pipeline's default; another value is the one temperature of a single pass.
  if (request.temperature > 0) SetSingleTemperature(options, request.temperature);
  options.initial_prompt = request.prompt;
  if (Status st = ValidateOptions(options, engine.tokenizer()); !st.ok()) {
    if (request.word_timestamps) {
      return BadRequest("timestamp_granularities[]=word: " + st.message(), "timestamp_granularities");
    }
    return BadRequest(st.message());
  }
  return options;
}

}  // namespace wisp::server
