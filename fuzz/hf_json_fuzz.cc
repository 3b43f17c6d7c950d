// libFuzzer target for the JSON side files of Hugging Face (and CTranslate2) checkpoints: the
// input becomes tokenizer.json, or vocab.json (+ added_tokens.json), in a scratch directory and
// goes through ReadHuggingFaceTokenizer. Any input must give tokens or a message, in bounded time
// and memory. The first byte picks the file(s); the rest is the content.
//   ./hf_json_fuzz fuzz/corpus/hf_json
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "model/formats/safetensors_reader.h"

namespace {

const std::string& ScratchDir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/wisp_hf_json_fuzz.XXXXXX";
    const char* d = mkdtemp(tmpl);
    if (d == nullptr) std::abort();
    return std::string(d);
  }();
  return dir;
}

void Write(const std::string& path, const uint8_t* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string& dir = ScratchDir();
  for (const char* f : {"tokenizer.json", "vocab.json", "added_tokens.json"}) std::remove((dir + "/" + f).c_str());
  const uint8_t mode = data[0] % 3;
  ++data, --size;
  if (mode == 0) {
    Write(dir + "/tokenizer.json", data, size);
  } else if (mode == 1) {
    Write(dir + "/vocab.json", data, size);
  } else {
    // Split at the middle: vocab.json and added_tokens.json.
    Write(dir + "/vocab.json", data, size / 2);
    Write(dir + "/added_tokens.json", data + size / 2, size - size / 2);
  }
  wisp::ModelMetadata meta;
  wisp::Status st = wisp::ReadHuggingFaceTokenizer(dir, meta);
  if (!st.ok() && st.message().empty()) __builtin_trap();  // every failure must say why
  if (st.ok() && meta.ordinary_tokens.size() != 50256 && meta.ordinary_tokens.size() != 50257) __builtin_trap();
  return 0;
}
