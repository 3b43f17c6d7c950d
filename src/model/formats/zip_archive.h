// A read-only view of a zip archive held in memory (a mapped file), as torch.save writes them:
// the central directory is the index, each entry's local header is checked against it, and a
// stored entry's bytes are used in place. ZIP64 records and extra fields are read where the
// 32-bit fields overflow (PyTorch's writer switches to them past 4 GiB). Nothing here trusts a
// length or an offset before checking it against the buffer: hostile archives fail with a Status.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/status.h"

namespace wisp {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;        // 0 stored, 8 deflate (anything else is refused on reading)
  uint16_t flags = 0;
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
  uint64_t data_offset = 0;   // first byte of the (compressed) data, from the local header
};

// An entry's bytes: in place in the archive's buffer (stored entries), or inflated into `owned`.
struct ZipBytes {
  const uint8_t* data = nullptr;
  size_t size = 0;
  std::shared_ptr<std::vector<uint8_t>> owned;  // null for stored entries
};

class ZipArchive {
 public:
  // Parses the central directory of data[0, size). `source` names the archive in messages.
  // Validates every entry (name, sizes, local header at the offset the directory states, data
  // range inside the archive and before the central directory, no duplicate names); does not
  // read or check the entries' data.
  static Result<ZipArchive> Parse(const uint8_t* data, size_t size, const std::string& source);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  // The entry named exactly `name`, or null.
  const ZipEntry* Find(std::string_view name) const;

  // The bytes of an entry. Stored: a view into the buffer, CRC checked only when `check_crc`
  // (tensor storages are not checked: that would read gigabytes before binding). Deflate: inflated
  // with zlib into an owned buffer of exactly uncompressed_size bytes, CRC always checked; the
  // declared size is bounded by deflate's maximum ratio so a small archive cannot ask for gigabytes.
  Result<ZipBytes> Read(const ZipEntry& entry, bool check_crc) const;

  const std::string& source() const { return source_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string source_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> by_name_;
};

// Writes a zip of stored (method 0) entries the way PyTorch lays them out: each entry's data
// aligned to `alignment` bytes by padding its local header's extra field. `zip64` writes ZIP64
// extra fields and end records even for small archives (for tests of that path). Used by tests,
// the fuzzers' harnesses and tools that write .pt checkpoints.
struct ZipWriteEntry {
  std::string name;
  std::vector<uint8_t> data;
};
std::vector<uint8_t> WriteStoredZip(const std::vector<ZipWriteEntry>& entries, size_t alignment = 64,
                                    bool zip64 = false);

}  // namespace wisp
