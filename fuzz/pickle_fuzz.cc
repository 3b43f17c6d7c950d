// libFuzzer target for the restricted unpickler: the input is a data.pkl. It is parsed alone, then
// wrapped (with a correct CRC, which a file-level fuzzer could never forge) into a torch.save-like
// archive whose storages have exactly the sizes the pickle declares, so that mutations reach the
// tensor checks (offsets, strides, shared storages) of the .pt reader. Seeds: fuzz/corpus/pickle/.
//   ./pickle_fuzz -max_len=16384 fuzz/corpus/pickle
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/formats/openai_pt_reader.h"
#include "model/formats/pickle_reader.h"
#include "model/formats/zip_archive.h"

namespace {

size_t ElementBytes(const std::string& storage_type) { return storage_type == "FloatStorage" ? 4 : 2; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto doc = wisp::ParsePickle(data, size, "fuzz");
  if (!doc.ok()) {
    if (doc.status().message().empty()) __builtin_trap();
    return 0;
  }
  // Every opcode consumes at least one byte and makes at most one value.
  if (doc->value_count() > size) __builtin_trap();

  // Storages as the pickle's tensors declare them (the first declaration of a key wins; an
  // absurd size is left out, which the reader must report as a missing entry).
  std::map<std::string, size_t> storages;
  size_t total = 0;  // at most 16 MiB of storages, so that the harness stays small
  const wisp::PickleValue& root = doc->root();
  const wisp::PickleValue* state = root.is(wisp::PickleKind::kDict) ? root.Get("model_state_dict") : nullptr;
  if (state != nullptr && state->is(wisp::PickleKind::kDict)) {
    for (const auto& item : state->dict) {
      const wisp::PickleValue* t = item.second;
      if (!t->is(wisp::PickleKind::kTensor)) continue;
      const wisp::PickleValue* s = t->items[0];
      const uint64_t bytes = static_cast<uint64_t>(s->integer) * ElementBytes(s->storage_type);
      if (s->integer <= (1 << 24) && bytes <= (1u << 24) - total &&
          storages.emplace(s->str, static_cast<size_t>(bytes)).second) total += bytes;
    }
  }
  std::vector<wisp::ZipWriteEntry> entries{{"archive/data.pkl", std::vector<uint8_t>(data, data + size)}};
  for (const auto& [key, bytes] : storages) {
    entries.push_back({"archive/data/" + key, std::vector<uint8_t>(bytes, 0x3c)});
  }
  const std::vector<uint8_t> zip = wisp::WriteStoredZip(entries, 64, /*zip64=*/size % 2 == 1);
  auto table = wisp::ParseOpenAiCheckpoint(zip.data(), zip.size(), "fuzz");
  if (table.ok()) {
    volatile uint8_t sink = 0;
    for (const wisp::SourceTensor& t : table->tensors) {
      if (static_cast<int64_t>(t.bytes) != wisp::TensorDTypeBytes(t.dtype, t.numel())) __builtin_trap();
      if (t.data < zip.data() || t.data + t.bytes > zip.data() + zip.size()) __builtin_trap();
      for (size_t i = 0; i < t.bytes; ++i) sink = sink ^ t.data[i];
    }
  } else if (table.status().message().empty()) {
    __builtin_trap();
  }
  return 0;
}
