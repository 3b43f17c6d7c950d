// libFuzzer target for the safetensors parser: any byte string must parse or fail with a Status,
// never read out of bounds, crash, or allocate more than the input can justify.
//   ./safetensors_fuzz -max_len=20000 fuzz/corpus/safetensors
#include <cstddef>
#include <cstdint>

#include "model/formats/safetensors_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto table = wisp::ParseSafetensors(data, size, "fuzz");
  if (!table.ok()) {
    if (table.status().message().empty()) __builtin_trap();  // every failure must say why
    return 0;
  }
  // A table that parses must be internally consistent: every tensor's bytes lie inside the
  // input and agree with its shape and dtype (ASan catches a read past the buffer).
  volatile uint8_t sink = 0;
  for (const wisp::SourceTensor& t : table->tensors) {
    if (static_cast<int64_t>(t.bytes) != wisp::TensorDTypeBytes(t.dtype, t.numel())) __builtin_trap();
    if (t.bytes == 0) continue;
    if (t.data < data || t.data + t.bytes > data + size) __builtin_trap();
    sink = sink + t.data[0] + t.data[t.bytes - 1];
    // The name mapping must never fail without a message either.
    auto name = wisp::WhisperNameForHuggingFace(t.name);
    if (!name.ok() && name.status().message().empty()) __builtin_trap();
  }
  (void)sink;
  return 0;
}
