// Python-string behaviour reproduced on bytes. Every expectation below was computed with
// CPython 3.11 and the system zlib 1.2.13 (the library this build links):
//   b.decode("utf-8", "replace"), s.strip(), len(b) / len(zlib.compress(b)).
#include "pipeline/text_metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace wisp {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(ReplaceInvalidUtf8, ValidTextIsUnchanged) {
  EXPECT_EQ(ReplaceInvalidUtf8("plain ASCII"), "plain ASCII");
  EXPECT_EQ(ReplaceInvalidUtf8("Gr\xC3\xBC\xC3\x9F" "e \xE4\xBD\xA0 \xF0\x9F\x8E\xB5"),
            "Gr\xC3\xBC\xC3\x9F" "e \xE4\xBD\xA0 \xF0\x9F\x8E\xB5");
}

TEST(ReplaceInvalidUtf8, MaximalSubpartsBecomeOneReplacementEach) {
  // b'\xe2\x82' -> '\ufffd': a truncated sequence at the end is one replacement.
  EXPECT_EQ(ReplaceInvalidUtf8("\xE2\x82"), kFffd);
  // b'\xe2(\xa1' -> '\ufffd(\ufffd'
  EXPECT_EQ(ReplaceInvalidUtf8("\xE2(\xA1"), kFffd + "(" + kFffd);
  // b'\xf0\x90\x80' -> '\ufffd'
  EXPECT_EQ(ReplaceInvalidUtf8("\xF0\x90\x80"), kFffd);
  // Surrogates b'\xed\xa0\x80' -> three replacements (0xA0 is not a valid second byte after 0xED).
  EXPECT_EQ(ReplaceInvalidUtf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);
  // Overlong b'\xc0\xaf' -> two.
  EXPECT_EQ(ReplaceInvalidUtf8("\xC0\xAF"), kFffd + kFffd);
  // b'a\xffb' -> 'a\ufffdb'
  EXPECT_EQ(ReplaceInvalidUtf8("a\xFF" "b"), "a" + kFffd + "b");
  // Above U+10FFFF b'\xf4\x90\x80\x80' -> four.
  EXPECT_EQ(ReplaceInvalidUtf8("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);
  // Overlong 3-byte b'\xe0\x80\x80' -> three; b'\xf0\x80' -> two.
  EXPECT_EQ(ReplaceInvalidUtf8("\xE0\x80\x80"), kFffd + kFffd + kFffd);
  EXPECT_EQ(ReplaceInvalidUtf8("\xF0\x80"), kFffd + kFffd);
}

TEST(StripPythonWhitespace, StripsUnicodeWhitespaceAtBothEndsOnly) {
  EXPECT_EQ(StripPythonWhitespace("  hello world \n"), "hello world");
  // U+3000 ideographic space, U+00A0, U+2028, U+0085 and the ASCII separators 0x1C..0x1F are
  // str.isspace(); U+200B (zero width space) is not.
  EXPECT_EQ(StripPythonWhitespace("\xE3\x80\x80\xC2\xA0x y\xE2\x80\xA8\xC2\x85\x1F"), "x y");
  EXPECT_EQ(StripPythonWhitespace("\xE2\x80\x8Bx\xE2\x80\x8B"), "\xE2\x80\x8Bx\xE2\x80\x8B");
  EXPECT_EQ(StripPythonWhitespace(" \t\r\n\v\f"), "");
  EXPECT_EQ(StripPythonWhitespace(""), "");
  // Multi-byte text at the edges is kept whole.
  EXPECT_EQ(StripPythonWhitespace(" \xE4\xBD\xA0\xE5\xA5\xBD "), "\xE4\xBD\xA0\xE5\xA5\xBD");
}

// bytes.decode("utf-8", "replace") outputs from CPython 3.11.
TEST(ReplaceInvalidUtf8, ReplacesMaximalSubpartsLikeCPython) {
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(ReplaceInvalidUtf8("\xe0\x80"), fffd + fffd);
  EXPECT_EQ(ReplaceInvalidUtf8("\xed\xa0\x80"), fffd + fffd + fffd);
  EXPECT_EQ(ReplaceInvalidUtf8("\xf4\x90\x80\x80"), fffd + fffd + fffd + fffd);
  EXPECT_EQ(ReplaceInvalidUtf8("\xc0\xaf"), fffd + fffd);
  EXPECT_EQ(ReplaceInvalidUtf8("\xf0\x9f\x98"), fffd);
  EXPECT_EQ(ReplaceInvalidUtf8("a\xe2\x82"), "a" + fffd);
  EXPECT_EQ(ReplaceInvalidUtf8("\xf8\x88\x80\x80\x80"), fffd + fffd + fffd + fffd + fffd);
  EXPECT_EQ(ReplaceInvalidUtf8("\xe2\x82\xac\xe2(\xa1"), "\xe2\x82\xac" + fffd + "(" + fffd);
  EXPECT_EQ(ReplaceInvalidUtf8("\xf1\x80\x80\xe1\x80\xc2"), fffd + fffd + fffd);
  EXPECT_EQ(ReplaceInvalidUtf8("ok \xf0\x9f\x8e\x89"), "ok \xf0\x9f\x8e\x89");
}

TEST(StripPythonWhitespace, StripsUnicodeWhitespaceOnly) {
  EXPECT_EQ(StripPythonWhitespace("\xe3\x80\x80 a b\xc2\xa0\t\n"), "a b");
  EXPECT_EQ(StripPythonWhitespace("\x1f\xe2\x80\x8a x \xe2\x80\x8b"), "x \xe2\x80\x8b");  // U+200B is no space
  EXPECT_EQ(StripPythonWhitespace(" \r\n "), "");
  EXPECT_EQ(StripPythonWhitespace(""), "");
}

TEST(CompressionRatio, MatchesPythonZlib) {
  // '' -> 0.0 (zlib.compress(b'') is 8 bytes)
  EXPECT_EQ(CompressionRatio(""), 0.0);
  // 'a': 1 / 9
  EXPECT_DOUBLE_EQ(CompressionRatio("a"), 0.1111111111111111);
  // 108 bytes -> 80
  EXPECT_DOUBLE_EQ(CompressionRatio("And so, my fellow Americans, ask not what your country can do for you, ask what "
                                    "you can do for your country."),
                   1.35);
  // 79 bytes -> 15
  EXPECT_DOUBLE_EQ(
      CompressionRatio("the the the the the the the the the the the the the the the the the the the the"),
      5.266666666666667);
  // 'Grüße aus München! 你好，世界。': 40 bytes -> 51
  EXPECT_DOUBLE_EQ(CompressionRatio("Gr\xC3\xBC\xC3\x9F" "e aus M\xC3\xBCnchen! \xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C"
                                    "\xE4\xB8\x96\xE7\x95\x8C\xE3\x80\x82"),
                   0.7843137254901961);
  // ' '.join(['hello'] * 100): 599 bytes -> 20, far above the 2.4 fallback threshold.
  std::string hellos = "hello";
  for (int i = 1; i < 100; ++i) hellos += " hello";
  EXPECT_DOUBLE_EQ(CompressionRatio(hellos), 29.95);
}

}  // namespace
}  // namespace wisp
