// Read-only memory map of a whole file: model weights are used in place, never copied at load.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "util/status.h"

namespace wisp {

class MappedFile {
 public:
  static Result<std::unique_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Drops the resident pages of [p, p + n) (whole pages inside the range only) of a read-only
// private file mapping: after the loader has packed a tensor, its file pages need not stay in
// memory. Reading the range again later re-reads the file.
void ReleaseMappedRange(const void* p, size_t n);
// Maps in the pages of a range about to be read, in one call (MADV_POPULATE_READ, Linux 5.14+)
// instead of one page fault per 4 KiB; a no-op where the kernel lacks it.
void PrefaultMappedRange(const void* p, size_t n);

}  // namespace wisp
