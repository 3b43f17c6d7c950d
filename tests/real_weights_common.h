// What the real-weight tests share (real_weights_test.cc, real_decoding_test.cc): locating the
// cached real model and the inputs, making the espeak-ng/sox speech, SHA-256 to pin every input to
// the golden's bits, and the word error rate as tools/realweights/make_real_golden.py computes it.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace wisp::real_weights {

// CI=true or CI=1: a missing model fails instead of skipping.
bool OnCi();

// ---- SHA-256 (FIPS 180-4), to check model.bin and every WAV against the golden ----
class Sha256 {
 public:
  void Update(const unsigned char* p, size_t n) {
    total_ += n;
    while (n > 0) {
      size_t take = std::min(n, sizeof(buf_) - used_);
      std::memcpy(buf_ + used_, p, take);
      used_ += take, p += take, n -= take;
      if (used_ == 64) Block(buf_), used_ = 0;
    }
  }
  std::string HexDigest() {
    const uint64_t bits = total_ * 8;
    const unsigned char pad = 0x80, zero = 0;
    Update(&pad, 1);
    while (used_ != 56) Update(&zero, 1);
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
    Update(len, 8);
    std::string hex;
    char b[9];
    for (uint32_t v : h_) std::snprintf(b, sizeof(b), "%08x", v), hex += b;
    return hex;
  }

 private:
  static uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
  void Block(const unsigned char* p) {
    static constexpr uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    uint32_t w[64];
    for (int i = 0; i < 16; ++i) {
      w[i] = uint32_t{p[4 * i]} << 24 | uint32_t{p[4 * i + 1]} << 16 | uint32_t{p[4 * i + 2]} << 8 | p[4 * i + 3];
    }
    for (int i = 16; i < 64; ++i) {
      uint32_t s0 = Rotr(w[i - 15], 7) ^ Rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = Rotr(w[i - 2], 17) ^ Rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], h = h_[7];
    for (int i = 0; i < 64; ++i) {
      uint32_t t1 = h + (Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      uint32_t t2 = (Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h_[0] += a, h_[1] += b, h_[2] += c, h_[3] += d, h_[4] += e, h_[5] += f, h_[6] += g, h_[7] += h;
  }

  std::array<uint32_t, 8> h_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  unsigned char buf_[64] = {};
  size_t used_ = 0;
  uint64_t total_ = 0;
};

// "" when the file cannot be read.
std::string FileSha256(const std::string& path);

// ---- Word error rate: word-level edit distance ----
std::vector<std::string> Words(const std::string& s);
size_t WordErrors(const std::vector<std::string>& ref, const std::vector<std::string>& hyp);
// A rough stand-in for whisper's EnglishTextNormalizer, used only when wisp's text differs from
// the golden's: lower case, letters, digits and apostrophes kept.
std::string RoughNormalize(const std::string& text);

// ---- Locating the model and the inputs ----
// WISP_REAL_MODEL_DIR, else the cache scripts/fetch-real-model.sh fills ("" without a home).
std::string RealModelDir();
// Where make_speech.sh writes the speech, in the build tree (shared by the real-weight tests).
std::string SpeechDir();
// jfk from ../shared/data (read in place), the rest from SpeechDir().
std::string AudioPath(const std::string& name);
bool HaveTool(const char* tool);
// Runs make_speech_script into SpeechDir(); "" on success, else why the speech is unusable.
std::string MakeSpeech(const std::string& make_speech_script);

// RealModelDir() checked for a test: dir when model.bin is there and its SHA-256 is want_sha256;
// else skip (no model, CI unset: the test skips) or failure (no model on CI, or another model:
// regenerate_with names the script that makes the golden).
struct RealModelCheck {
  std::string dir, skip, failure;
};
RealModelCheck CheckRealModel(const std::string& want_sha256, const std::string& regenerate_with);

}  // namespace wisp::real_weights
