// Whisper's tokenizer: byte-level BPE (GPT-2 / tiktoken ranks) plus Whisper's special tokens,
// with ids equal to openai-whisper's get_tokenizer(multilingual, num_languages=...).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/status.h"

namespace wisp {

class Tokenizer {
 public:
  // From a tiktoken ranks file (gpt2.tiktoken or multilingual.tiktoken). n_vocab is the
  // model's vocabulary size (51864 .en, 51865 multilingual, 51866 large-v3): it decides the
  // number of language tokens, as openai-whisper does.
  static Result<Tokenizer> FromTiktokenFile(const std::string& path, int n_vocab);
  // From the vocab embedded in a ggml model file (its strings are raw token bytes).
  static Result<Tokenizer> FromGgmlVocab(const std::vector<std::string>& vocab, int n_vocab);

  std::vector<int> Encode(std::string_view text) const;   // ordinary text, no specials
  // Concatenated bytes of the tokens; special and timestamp tokens are skipped (as
  // tokenizer.decode does: it drops ids >= timestamp_begin... and specials decode to nothing).
  std::string Decode(const std::vector<int>& tokens) const;
  // Bytes of one token; specials as their "<|...|>" text.
  std::string TokenText(int token) const;

  bool multilingual() const { return multilingual_; }
  int n_vocab() const { return n_vocab_; }
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
  std::vector<int> AllLanguageTokens() const;
  // sot, [language, task] as openai-whisper's sot_sequence (only sot for .en models).
  std::vector<int> SotSequence(std::string_view language, std::string_view task) const;
  // openai-whisper's Tokenizer.non_speech_tokens (the "-1" default of suppress_tokens).
  std::vector<int> NonSpeechTokens() const;

 private:
  Tokenizer() = default;
  Status Finish();  // sets up special ids after ranks are loaded

  bool multilingual_ = false;
  int n_vocab_ = 0;
  int num_languages_ = 0;
  std::vector<std::string> tokens_;  // id -> bytes (ordinary tokens only)
  std::unordered_map<std::string, int> ranks_;
  int eot_ = -1, sot_ = -1, translate_ = -1, transcribe_ = -1, sot_lm_ = -1, sot_prev_ = -1,
      no_speech_ = -1, no_timestamps_ = -1, timestamp_begin_ = -1;
};

}  // namespace wisp
