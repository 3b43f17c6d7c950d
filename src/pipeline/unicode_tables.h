// The few Unicode facts GPT-2's pre-tokenisation regex needs: a code point's class among
// \p{L}, \p{N}, \s and the rest, and a UTF-8 decoder that never fails.
#pragma once
#include <cstddef>
#include <string_view>

namespace wisp {

// kOther is [^\s\p{L}\p{N}]: punctuation, symbols, marks, controls, unassigned, and the bytes
// of malformed UTF-8.
enum class CharClass : unsigned char { kLetter, kNumber, kSpace, kOther };

// Generated from Unicode 16.0 (the tables of tiktoken's regex engine); see unicode_tables.cc.
CharClass ClassifyCodePoint(char32_t cp);

// One character of UTF-8 text.
struct Utf8Char {
  CharClass cls;
  char32_t cp;  // the code point, or the byte value when the sequence is malformed
  int len;      // bytes consumed: 1..4, 1 for a malformed byte
};

// Decodes the character at text[pos] (pos < text.size()). Malformed input (bad lead byte,
// truncated or overlong sequence, surrogate, > U+10FFFF) yields a one-byte kOther character,
// so every byte of any input belongs to exactly one character and nothing is dropped.
inline Utf8Char DecodeUtf8At(std::string_view text, size_t pos) {
  const auto b0 = static_cast<unsigned char>(text[pos]);
  if (b0 < 0x80) {
    // ASCII fast path: the common case in speech transcripts.
    CharClass c = CharClass::kOther;
    if ((b0 | 0x20) >= 'a' && (b0 | 0x20) <= 'z') c = CharClass::kLetter;
    else if (b0 >= '0' && b0 <= '9') c = CharClass::kNumber;
    else if (b0 == ' ' || (b0 >= 0x09 && b0 <= 0x0D)) c = CharClass::kSpace;
    return {c, b0, 1};
  }
  const Utf8Char bad{CharClass::kOther, b0, 1};
  int len;
  char32_t cp, min;
  if (b0 >= 0xC2 && b0 <= 0xDF) len = 2, cp = b0 & 0x1F, min = 0x80;
  else if (b0 >= 0xE0 && b0 <= 0xEF) len = 3, cp = b0 & 0x0F, min = 0x800;
  else if (b0 >= 0xF0 && b0 <= 0xF4) len = 4, cp = b0 & 0x07, min = 0x10000;
  else return bad;
  if (pos + len > text.size()) return bad;
  for (int i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(text[pos + i]);
    if ((b & 0xC0) != 0x80) return bad;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return bad;
  return {ClassifyCodePoint(cp), cp, len};
}

}  // namespace wisp
