// libFuzzer target for the OpenAI .pt reader at the file level: any byte string must parse or fail
// with a Status, never read outside the buffer, crash, or allocate more than the input justifies
// (deflate output is bounded by its maximum ratio). Seeds: fuzz/corpus/pt/ (torch.save output).
//   ./pt_fuzz -max_len=65536 fuzz/corpus/pt
#include <cstddef>
#include <cstdint>

#include "model/formats/openai_pt_reader.h"
#include "model/formats/zip_archive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto table = wisp::ParseOpenAiCheckpoint(data, size, "fuzz");
  if (table.ok()) {
    // A table that parses must be consistent: every tensor's bytes match its shape and dtype and
    // can be read end to end.
    volatile uint8_t sink = 0;
    for (const wisp::SourceTensor& t : table->tensors) {
      if (static_cast<int64_t>(t.bytes) != wisp::TensorDTypeBytes(t.dtype, t.numel())) __builtin_trap();
      for (size_t i = 0; i < t.bytes; ++i) sink = sink ^ t.data[i];
    }
  } else if (table.status().message().empty()) {
    __builtin_trap();  // every failure must say why
  }
  // The zip layer alone: every entry that the directory admits must read (or fail) within bounds.
  auto zip = wisp::ZipArchive::Parse(data, size, "fuzz");
  if (zip.ok()) {
    for (const wisp::ZipEntry& e : zip->entries()) {
      auto bytes = zip->Read(e, /*check_crc=*/true);
      if (bytes.ok() && bytes->size != e.uncompressed_size) __builtin_trap();
    }
  }
  return 0;
}
