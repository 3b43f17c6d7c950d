// Text handling that openai-whisper gets from Python's str and zlib, reproduced on UTF-8 bytes:
// the bytes-to-str conversion of tiktoken's decode, str.strip(), and the compression ratio that
// drives temperature fallback.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wisp {

// What Python's bytes.decode("utf-8", errors="replace") yields, re-encoded as UTF-8: each
// maximal ill-formed subpart (Unicode's recommended practice, which CPython follows) becomes one
// U+FFFD. tiktoken's Encoding.decode does exactly this, so token bytes turned into segment text
// must pass through here to match openai-whisper's strings (and their compression ratios).
std::string ReplaceInvalidUtf8(std::string_view bytes);

// Decodes the code point starting at utf8[*pos] and advances *pos past it. The input must be
// valid UTF-8 (e.g. ReplaceInvalidUtf8's output); a byte that cannot start a sequence, or a
// sequence cut off by the end of the input, is returned as itself and skipped alone.
uint32_t NextCodePoint(std::string_view utf8, size_t* pos);

// Python's str.strip() with no argument on valid UTF-8: removes leading and trailing code
// points for which str.isspace() is true (ASCII whitespace, U+001C..U+001F, U+0085, U+00A0,
// U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000).
std::string_view StripPythonWhitespace(std::string_view utf8);

// openai-whisper's utils.compression_ratio: len(text_bytes) / len(zlib.compress(text_bytes)),
// zlib at its default level (Python's zlib.compress(data) uses Z_DEFAULT_COMPRESSION, wbits 15,
// memLevel 8). 0.0 for empty text (zlib's output is never empty).
double CompressionRatio(std::string_view utf8_text);

}  // namespace wisp
