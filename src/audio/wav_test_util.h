// Test helpers: build WAV files byte by byte (so every encoding and every kind of damage can
// be produced exactly), write them to a scratch directory, run shell tools.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <string>
#include <vector>

namespace wisp::testing {

inline void PutU16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(v & 0xFF);
  b.push_back(v >> 8);
}
inline void PutU32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back((v >> (8 * i)) & 0xFF);
}
inline void PutId(std::vector<uint8_t>& b, const char* id) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(id[i]));
}
inline void PutChunk(std::vector<uint8_t>& b, const char* id, const std::vector<uint8_t>& body) {
  PutId(b, id);
  PutU32(b, static_cast<uint32_t>(body.size()));
  // Byte-wise append: GCC 12's -Wstringop-overflow misfires on vector::insert of an empty range.
  for (uint8_t v : body) b.push_back(v);
  if (body.size() & 1) b.push_back(0);
}

// A 16-byte fmt body (or the 40-byte WAVE_FORMAT_EXTENSIBLE one when extensible_subformat != 0).
inline std::vector<uint8_t> FmtBody(uint16_t tag, uint16_t channels, uint32_t rate, uint16_t bits,
                                    uint16_t extensible_subformat = 0) {
  std::vector<uint8_t> f;
  const uint16_t align = static_cast<uint16_t>(channels * bits / 8);
  PutU16(f, extensible_subformat ? 0xFFFE : tag);
  PutU16(f, channels);
  PutU32(f, rate);
  PutU32(f, rate * align);
  PutU16(f, align);
  PutU16(f, bits);
  if (extensible_subformat) {
    PutU16(f, 22);            // cbSize
    PutU16(f, bits);          // valid bits
    PutU32(f, 0);             // channel mask
    PutU16(f, extensible_subformat);
    const uint8_t tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};
    f.insert(f.end(), tail, tail + 14);
  }
  return f;
}

// RIFF/WAVE around the given chunks (already serialised), RIFF size filled in.
inline std::vector<uint8_t> RiffWave(const std::vector<uint8_t>& chunks) {
  std::vector<uint8_t> b;
  PutId(b, "RIFF");
  PutU32(b, static_cast<uint32_t>(4 + chunks.size()));
  PutId(b, "WAVE");
  for (uint8_t v : chunks) b.push_back(v);
  return b;
}

// A plain 16-bit PCM WAV of the given interleaved samples.
inline std::vector<uint8_t> Pcm16Wav(const std::vector<int16_t>& interleaved, int channels, uint32_t rate) {
  std::vector<uint8_t> data;
  for (int16_t s : interleaved) PutU16(data, static_cast<uint16_t>(s));
  std::vector<uint8_t> chunks;
  PutChunk(chunks, "fmt ", FmtBody(1, static_cast<uint16_t>(channels), rate, 16));
  PutChunk(chunks, "data", data);
  return RiffWave(chunks);
}

inline std::string ScratchDir() {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("wisp_audio_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

// Removes the scratch directory when the test binary exits (one instance across all files).
struct ScratchDirCleanup {
  ~ScratchDirCleanup() {
    std::error_code ignored;
    std::filesystem::remove_all(ScratchDir(), ignored);
  }
};
inline ScratchDirCleanup scratch_dir_cleanup;

inline std::string WriteFile(const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string path = ScratchDir() + "/" + name;
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return path;
}

inline bool HaveCommand(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace wisp::testing
