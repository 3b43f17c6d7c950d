// libFuzzer target for the CTranslate2 reader: model.bin bytes through the parser and the binder,
// and the same bytes as config.json text. Any input must load or fail with a message, never read
// out of bounds, crash, or allocate more than the input justifies.
//   ./ctranslate2_fuzz -max_len=100000 fuzz/corpus/ctranslate2
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/bind_weights.h"
#include "model/formats/ctranslate2_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto table = wisp::ParseCTranslate2ModelBin(data, size, "model.bin");
  if (table.ok()) {
    wisp::TensorTable t = std::move(*table);
    t.data_outlives_load = false;
    for (const wisp::SourceTensor& s : t.tensors) {
      // Every view the reader hands over lies inside the input.
      if (s.data < data || s.data + s.bytes > data + size) __builtin_trap();
    }
    auto model = wisp::BindTensorTable(std::move(t), wisp::LoadOptions{});
    if (!model.ok() && model.status().message().empty()) __builtin_trap();
  } else if (table.status().message().empty()) {
    __builtin_trap();  // every failure must say why
  }
  wisp::HParams hp{51864, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1};
  wisp::ModelMetadata meta;
  wisp::Status st = wisp::ParseCTranslate2Config(std::string(reinterpret_cast<const char*>(data), size), "config.json",
                                                 hp, &meta);
  if (!st.ok() && st.message().empty()) __builtin_trap();
  return 0;
}
