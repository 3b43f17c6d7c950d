// libFuzzer target for the ggml model parser: any byte string must load or fail with a Status,
// never read out of bounds, crash, or allocate more than the input can justify.
//   ./ggml_fuzz -max_len=200000 fuzz/corpus/ggml
#include <cstddef>
#include <cstdint>

#include "model/ggml_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto model = wisp::LoadGgmlModelFromMemory(data, size);
  if (model.ok()) {
    // A file that loads must be internally consistent: touch every tensor's first and last value.
    const wisp::ModelWeights& w = (*model)->weights;
    volatile float sink = w.conv1_b.data[0] + w.conv1_b.data[w.conv1_b.numel() - 1] +
                          w.token_embedding.data[w.token_embedding.numel() - 1];
    (void)sink;
  } else if (model.status().message().empty()) {
    __builtin_trap();  // every failure must say why
  }
  auto header = wisp::ParseGgmlHeader(data, size);
  if (header.ok() && header->vocab.empty()) __builtin_trap();  // a parsed header holds >= 1 token
  return 0;
}
