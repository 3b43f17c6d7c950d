// Whisper's tokenizer: byte-level BPE (GPT-2 / tiktoken ranks) plus Whisper's special tokens,
// with ids equal to openai-whisper's get_tokenizer(multilingual, num_languages=...).
//
// Id layout (openai-whisper get_encoding): ranks 0..R-1 of the tiktoken file (R = 50256 for
// gpt2.tiktoken / .en models, 50257 for multilingual.tiktoken), then <|endoftext|>,
// <|startoftranscript|>, one <|xx|> per language, <|translate|>, <|transcribe|>, <|startoflm|>,
// <|startofprev|>, <|nospeech|>, <|notimestamps|>, and 1501 timestamps <|0.00|>..<|30.00|>.
// The number of languages follows from n_vocab as in openai-whisper's model.py:
// n_vocab - 51765 - multilingual (99, or 100 for large-v3's 51866).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/status.h"

namespace wisp {

// The token byte strings of a tiktoken ranks file (`base64(bytes) rank` per line), indexed by
// rank. Checks what tiktoken would trip over later: bad base64, non-numeric ranks, ranks that
// are not a dense 0..N-1 permutation, duplicate tokens, and a missing single-byte token (every
// byte must have a rank, or some inputs could not be encoded). Errors name the line.
Result<std::vector<std::string>> ParseTiktokenRanks(std::string_view contents);

class Tokenizer {
 public:
  // From a tiktoken ranks file (gpt2.tiktoken or multilingual.tiktoken). n_vocab is the
  // model's vocabulary size (51864 .en, 51865 multilingual, 51866 large-v3): it decides the
  // number of language tokens, as openai-whisper does.
  static Result<Tokenizer> FromTiktokenFile(const std::string& path, int n_vocab);
  // Same, from the file's contents already in memory.
  static Result<Tokenizer> FromTiktokenData(std::string_view contents, int n_vocab);
  // From the ordinary tokens' raw bytes in id order (what a CTranslate2 or Hugging Face
  // vocabulary decodes to: model/formats/byte_level_vocab.h). Exact, like a tiktoken file: for
  // Whisper's byte-level BPE the ranks are the ids.
  static Result<Tokenizer> FromOrdinaryTokens(std::vector<std::string> tokens, int n_vocab);
  // From the vocab embedded in a ggml model file (its strings are raw token bytes). Limitation:
  // whisper.cpp's converted vocabs store every token that is not valid UTF-8 on its own (the
  // 128 high single bytes, partial multibyte sequences: 344 tokens in gpt2, 1476 in
  // multilingual) with U+FFFD in place of the invalid bytes. Restored: the single bytes (from
  // GPT-2's fixed byte order, so every input still encodes) and the two musical-symbol prefixes
  // of the non-speech set. NonSpeechTokens() is exactly openai-whisper's for both vocabularies
  // (a committed table, checked against the vocab). The remaining lost tokens (lost_tokens():
  // 214 gpt2, 1346 multilingual) decode with U+FFFD and Encode never produces them, so
  // non-ASCII text may decode and encode differently than with the tiktoken file (ASCII text
  // is identical). Their bytes cannot be recovered from the vocab alone: each stored form fits
  // many byte strings and the merges are not in the file. Prefer FromTiktokenFile.
  static Result<Tokenizer> FromGgmlVocab(const std::vector<std::string>& vocab, int n_vocab);

  // Ordinary text, no specials (tiktoken encode_ordinary). Bytes that are not valid UTF-8 are
  // kept: each is its own punctuation-like character for pre-tokenisation.
  std::vector<int> Encode(std::string_view text) const;
  // Concatenated bytes of the text tokens (ids < eot); special and timestamp tokens and ids out
  // of range are skipped. This is what openai-whisper's transcribe.py puts in a segment's text:
  // tokenizer.decode([t for t in tokens if t < tokenizer.eot]). Returns raw bytes: python's
  // str result differs only where the bytes are not valid UTF-8 (it substitutes U+FFFD).
  std::string Decode(const std::vector<int>& tokens) const;
  // Exactly openai-whisper's Tokenizer.decode: drops ids >= timestamp_begin, but the other
  // specials (<|endoftext|>, <|en|>, ...) appear as their text, as tiktoken decodes them.
  std::string DecodeWithSpecials(const std::vector<int>& tokens) const;
  // openai-whisper's Tokenizer.decode_with_timestamps: every special as its text ("<|1.08|>").
  std::string DecodeWithTimestamps(const std::vector<int>& tokens) const;
  // Bytes of one token; specials as their "<|...|>" text; "" for an id out of range.
  std::string TokenText(int token) const;

  bool multilingual() const { return multilingual_; }
  int n_vocab() const { return n_vocab_; }
  int num_languages() const { return num_languages_; }
  int eot() const { return eot_; }
  int sot() const { return sot_; }
  int translate() const { return translate_; }
  int transcribe() const { return transcribe_; }
  int sot_lm() const { return sot_lm_; }
  int sot_prev() const { return sot_prev_; }
  int no_speech() const { return no_speech_; }
  int no_timestamps() const { return no_timestamps_; }
  int timestamp_begin() const { return timestamp_begin_; }
  // Language token id for a code like "en", or -1 when unknown to this vocabulary.
  int LanguageToken(std::string_view code) const;
  // Language code of a language token id ("" if not one).
  std::string LanguageCode(int token) const;
  // Ascending ids (openai-whisper's tuple is in the iteration order of a python set; only the
  // membership is meaningful there).
  std::vector<int> AllLanguageTokens() const;
  // sot, [language, task] as openai-whisper's sot_sequence (only sot for .en models). For a
  // multilingual model an empty language means "en" and an empty task "transcribe", as in
  // get_tokenizer. Returns {} for an unknown language or a task other than transcribe/translate
  // (openai-whisper raises there).
  std::vector<int> SotSequence(std::string_view language, std::string_view task) const;
  // openai-whisper's Tokenizer.non_speech_tokens (the "-1" default of suppress_tokens), sorted.
  std::vector<int> NonSpeechTokens() const;
  // Ordinary tokens whose bytes the source lost (see FromGgmlVocab); 0 with a tiktoken file.
  int lost_tokens() const { return lost_tokens_; }

 private:
  Tokenizer() = default;
  // Takes ownership of the ordinary tokens (id -> bytes), builds the rank index and sets the
  // special ids.
  // Ids flagged in unindexed are decodable but left out of the rank index (Encode never
  // yields them).
  Status Finish(std::vector<std::string> tokens, const std::vector<bool>& unindexed = {});
  int Rank(std::string_view bytes) const;       // -1 when not a token
  std::string_view Bytes(int id) const;         // ordinary tokens only
  void EncodePiece(std::string_view piece, std::vector<int>* out) const;
  void AppendDecoded(const std::vector<int>& tokens, int limit, std::string* out) const;

  bool multilingual_ = false;
  int n_vocab_ = 0;
  int num_languages_ = 0;
  int lost_tokens_ = 0;
  std::vector<int> nonspeech_;  // set for a recognised ggml vocab, else computed from the ranks
  // Ordinary tokens packed into one buffer (offsets_[id]..offsets_[id+1]); the rank index is an
  // open-addressing table of ids into it. Offsets instead of pointers keep copies valid, and
  // lookups by string_view allocate nothing, which keeps BPE fast.
  std::string blob_;
  std::vector<uint32_t> offsets_;
  std::vector<int32_t> slots_;  // -1 empty, else the id with that hash
  int eot_ = -1, sot_ = -1, translate_ = -1, transcribe_ = -1, sot_lm_ = -1, sot_prev_ = -1,
      no_speech_ = -1, no_timestamps_ = -1, timestamp_begin_ = -1;
};

}  // namespace wisp
