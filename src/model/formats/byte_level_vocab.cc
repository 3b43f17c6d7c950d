#include "model/formats/byte_level_vocab.h"

#include <array>
#include <cstdint>
#include <unordered_set>

namespace wisp {
namespace {

// Code point -> byte, or -1: the inverse of bytes_to_unicode(). Printable Latin-1 bytes
// ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 bytes are 256 + n, n counting
// them in byte order.
std::array<int16_t, 324> MakeDecoder() {
  std::array<int16_t, 324> dec;
  dec.fill(-1);
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    dec[printable ? b : 256 + n++] = static_cast<int16_t>(b);
  }
  return dec;
}

}  // namespace

Result<std::string> ByteLevelTokenToBytes(std::string_view token) {
  static const std::array<int16_t, 324> kDecoder = MakeDecoder();
  std::string out;
  out.reserve(token.size());
  size_t i = 0;
  while (i < token.size()) {
    const unsigned char c = static_cast<unsigned char>(token[i]);
    uint32_t cp = 0;
    size_t len = 0;
    if (c < 0x80) {
      cp = c, len = 1;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < token.size() && (token[i + 1] & 0xC0) == 0x80) {
      cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(token[i + 1]) & 0x3Fu), len = 2;
    } else {
      // Every code point of the alphabet is below U+0144: two UTF-8 bytes at most.
      return BadInput("token '" + std::string(token.substr(0, 40)) + "' has a character at byte " +
                      std::to_string(i) + " outside GPT-2's byte-level alphabet");
    }
    if (cp >= kDecoder.size() || kDecoder[cp] < 0) {
      return BadInput("token '" + std::string(token.substr(0, 40)) + "' has U+" + std::to_string(cp) +
                      " at byte " + std::to_string(i) + ", outside GPT-2's byte-level alphabet");
    }
    out.push_back(static_cast<char>(kDecoder[cp]));
    i += len;
  }
  return out;
}

Result<std::vector<std::string>> OrdinaryTokensFromVocab(const std::vector<std::string>& vocab,
                                                         const std::string& source) {
  size_t n_ordinary = vocab.size();
  for (size_t i = 0; i < vocab.size(); ++i) {
    if (vocab[i] == "<|endoftext|>") {
      n_ordinary = i;
      break;
    }
  }
  if (n_ordinary == vocab.size()) {
    return BadInput(source + ": no <|endoftext|> token among " + std::to_string(vocab.size()) +
                    " entries: not a Whisper vocabulary");
  }
  if (n_ordinary != 50256 && n_ordinary != 50257) {
    return BadInput(source + ": <|endoftext|> has id " + std::to_string(n_ordinary) +
                    "; a Whisper vocabulary has it at 50256 (English) or 50257 (multilingual)");
  }
  std::vector<std::string> tokens;
  tokens.reserve(n_ordinary);
  std::unordered_set<std::string> seen;
  seen.reserve(n_ordinary);
  for (size_t i = 0; i < n_ordinary; ++i) {
    Result<std::string> bytes = ByteLevelTokenToBytes(vocab[i]);
    if (!bytes.ok()) return BadInput(source + ": id " + std::to_string(i) + ": " + bytes.status().message());
    if (bytes->empty()) return BadInput(source + ": id " + std::to_string(i) + " is an empty token");
    if (!seen.insert(*bytes).second) {
      return BadInput(source + ": id " + std::to_string(i) + " repeats the bytes of an earlier token");
    }
    tokens.push_back(std::move(*bytes));
  }
  return tokens;
}

}  // namespace wisp
