#include "pipeline/text_metrics.h"

#include <zlib.h>

#include <cstdint>
#include <vector>

namespace wisp {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

bool IsContinuation(uint8_t b) { return (b & 0xC0) == 0x80; }

// Allowed range of the second byte of a multi-byte sequence, which depends on the lead byte
// (Unicode Table 3-7): excludes overlong forms, surrogates and code points above U+10FFFF.
void SecondByteRange(uint8_t lead, uint8_t* lo, uint8_t* hi) {
  *lo = 0x80;
  *hi = 0xBF;
  if (lead == 0xE0) *lo = 0xA0;
  if (lead == 0xED) *hi = 0x9F;
  if (lead == 0xF0) *lo = 0x90;
  if (lead == 0xF4) *hi = 0x8F;
}

// Length of the sequence a lead byte announces; 0 for bytes that cannot start one
// (continuations, C0/C1 overlong leads, F5..FF).
int SequenceLength(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

bool IsPythonWhitespace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

}  // namespace

uint32_t NextCodePoint(std::string_view s, size_t* pos) {
  const uint8_t lead = static_cast<uint8_t>(s[*pos]);
  const int len = SequenceLength(lead);
  if (len <= 1 || *pos + len > s.size()) {
    ++*pos;
    return lead;
  }
  uint32_t cp = lead & (0xFF >> (len + 1));
  for (int i = 1; i < len; ++i) cp = (cp << 6) | (static_cast<uint8_t>(s[*pos + i]) & 0x3F);
  *pos += len;
  return cp;
}

std::string ReplaceInvalidUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    const uint8_t lead = static_cast<uint8_t>(bytes[i]);
    const int len = SequenceLength(lead);
    if (len == 1) {
      out.push_back(static_cast<char>(lead));
      ++i;
      continue;
    }
    if (len == 0) {  // a byte that starts nothing: one replacement per byte
      out.append(kReplacementCharacter);
      ++i;
      continue;
    }
    // Consume the longest prefix that could still begin a valid sequence; if the sequence is
    // incomplete (bad byte or end of input), that whole prefix is one replacement character.
    uint8_t lo, hi;
    SecondByteRange(lead, &lo, &hi);
    int valid = 1;
    while (valid < len && i + valid < bytes.size()) {
      const uint8_t b = static_cast<uint8_t>(bytes[i + valid]);
      const bool ok = valid == 1 ? (b >= lo && b <= hi) : IsContinuation(b);
      if (!ok) break;
      ++valid;
    }
    if (valid == len) {
      out.append(bytes.substr(i, len));
    } else {
      out.append(kReplacementCharacter);
    }
    i += valid;
  }
  return out;
}

std::string_view StripPythonWhitespace(std::string_view utf8) {
  size_t begin = 0;
  while (begin < utf8.size()) {
    size_t next = begin;
    if (!IsPythonWhitespace(NextCodePoint(utf8, &next))) break;
    begin = next;
  }
  // Scan forwards, remembering where the last non-whitespace code point ends: UTF-8 cannot be
  // decoded backwards without re-synchronising, and segment texts are short.
  size_t end = begin;
  size_t pos = begin;
  while (pos < utf8.size()) {
    if (!IsPythonWhitespace(NextCodePoint(utf8, &pos))) end = pos;
  }
  return utf8.substr(begin, end - begin);
}

double CompressionRatio(std::string_view utf8_text) {
  if (utf8_text.empty()) return 0.0;
  uLongf compressed_size = compressBound(static_cast<uLong>(utf8_text.size()));
  std::vector<Bytef> compressed(compressed_size);
  // compress2 at Z_DEFAULT_COMPRESSION is deflateInit(level -1) with a zlib header and trailer,
  // byte for byte what Python's zlib.compress(data) produces with the same libz.
  const int rc = compress2(compressed.data(), &compressed_size, reinterpret_cast<const Bytef*>(utf8_text.data()),
                           static_cast<uLong>(utf8_text.size()), Z_DEFAULT_COMPRESSION);
  if (rc != Z_OK || compressed_size == 0) return 0.0;  // unreachable with a compressBound buffer
  return static_cast<double>(utf8_text.size()) / static_cast<double>(compressed_size);
}

}  // namespace wisp
