// SHA-1 (FIPS 180-4), for verifying downloaded model files against the checksums whisper.cpp
// publishes. Not for security: SHA-1 is broken for collision resistance, but the published
// checksums are SHA-1 and detect truncated or corrupted downloads just as well.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace wisp {

class Sha1 {
 public:
  Sha1();
  void Update(const void* data, size_t size);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  // Finishes the digest (the object must not be updated afterwards).
  std::array<uint8_t, 20> Finish();
  // Finish() as 40 lowercase hex digits.
  std::string FinishHex();

 private:
  void ProcessBlock(const uint8_t* block);

  std::array<uint32_t, 5> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// SHA-1 of a file's contents in lowercase hex; IoError naming the file when it cannot be read.
Result<std::string> Sha1OfFile(const std::string& path);

}  // namespace wisp
