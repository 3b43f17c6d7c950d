// libFuzzer target for the server's form mapping (server/request_form.h): arbitrary fields, as a
// hostile client could send them, must give a request or an ApiError whose JSON body is valid,
// never a crash. Input: fields as "name\0value\0" pairs (a name "file" takes the value as the
// upload); a trailing name without value is a field with an empty value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/request_form.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wisp::server;
  std::vector<std::string> parts;
  std::string current;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      parts.push_back(current);
      current.clear();
    } else {
      current.push_back(static_cast<char>(data[i]));
    }
  }
  parts.push_back(current);
  std::vector<FormField> fields;
  for (size_t i = 0; i < parts.size(); i += 2) {
    FormField f;
    f.name = parts[i];
    f.content = i + 1 < parts.size() ? parts[i + 1] : "";
    if (f.name == "file") f.filename = f.content.substr(0, f.content.size() / 2);
    fields.push_back(std::move(f));
  }
  const Task task = size % 2 == 0 ? Task::kTranscribe : Task::kTranslate;
  Checked<TranscriptionRequest> r = ParseTranscriptionForm(std::move(fields), task);
  if (!r.ok) {
    // The error body must be JSON a client can parse, whatever bytes the message quotes.
    const nlohmann::json body = nlohmann::json::parse(ErrorJson(r.error));
    if (!body.contains("error") || r.error.status != 400) __builtin_trap();
  } else if (r.value.audio.empty() || r.value.temperature < 0 || r.value.temperature > 1) {
    __builtin_trap();
  }
  return 0;
}
