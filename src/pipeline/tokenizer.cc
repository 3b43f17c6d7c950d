// Loading the ranks (tiktoken file or ggml vocab), Whisper's special tokens, decoding and the
// non-speech token set. Encoding lives in tokenizer_encode.cc.
#include "pipeline/tokenizer.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <set>
#include <span>

#include "util/mapped_file.h"

namespace wisp {
namespace {

// openai-whisper's LANGUAGES, in its order: the order fixes the language token ids.
constexpr std::array<std::string_view, 100> kLanguages = {
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv",
    "it", "id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no",
    "th", "ur", "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr",
    "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw",
    "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu",
    "am", "yi", "lo", "uz", "fo", "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl",
    "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su", "yue"};

// Ordinary token counts of gpt2.tiktoken and multilingual.tiktoken, and the specials that
// follow them besides the languages (eot, sot, 6 task/control tokens, 1501 timestamps).
constexpr int kGpt2Ranks = 50256;
constexpr int kMultilingualRanks = 50257;
constexpr int kNonLanguageSpecials = 2 + 6 + 1501;

struct TokenEntry {
  int id;
  std::string_view bytes;
};
#include "pipeline/tokenizer_nonspeech.inc"

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF), as python decodes it.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    const int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0 || (n == 1 && c < 0xC2) || (n == 3 && c > 0xF4) || s.size() - i <= static_cast<size_t>(n))
      return false;
    uint32_t cp = n == 0 ? c : c & (0x3F >> n);
    for (int k = 1; k <= n; ++k) {
      const unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      return false;
    i += n + 1;
  }
  return true;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict standard base64 (with padding). One exception, because the real files need it:
// multilingual.tiktoken's rank 50256 is written "=", which python's b64decode reads as the empty
// token; padding alone therefore decodes to "".
bool DecodeBase64(std::string_view in, std::string* out) {
  out->clear();
  if (!in.empty() && in.find_first_not_of('=') == std::string_view::npos) return true;
  if (in.empty() || in.size() % 4 != 0) return false;
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = in[i + k];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++pad;
      } else if (pad > 0 || (v[k] = Base64Value(c)) < 0) {
        return false;  // data after padding, or a character outside the alphabet
      }
    }
    const uint32_t w = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out->push_back(static_cast<char>(w >> 16));
    if (pad < 2) out->push_back(static_cast<char>((w >> 8) & 0xFF));
    if (pad < 1) out->push_back(static_cast<char>(w & 0xFF));
  }
  return true;
}

// GPT-2's byte order (bytes_to_unicode): the ranks 0..255 of both Whisper vocabularies are the
// single bytes in this order: printable ones first, then the rest ascending.
std::array<unsigned char, 256> Gpt2ByteOrder() {
  std::array<unsigned char, 256> order{};
  std::array<bool, 256> used{};
  int k = 0;
  auto add = [&](int lo, int hi) {
    for (int b = lo; b <= hi; ++b) order[k++] = static_cast<unsigned char>(b), used[b] = true;
  };
  add(33, 126);
  add(161, 172);
  add(174, 255);
  for (int b = 0; b < 256; ++b)
    if (!used[b]) order[k++] = static_cast<unsigned char>(b);
  return order;
}

uint64_t HashBytes(std::string_view s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a: short keys, cheap and well spread
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h ^ (h >> 29);
}

Status CheckNVocab(int n_vocab, int n_ranks, int* num_languages, bool* multilingual) {
  // As openai-whisper's model.py: is_multilingual = n_vocab >= 51865.
  *multilingual = n_vocab >= kGpt2Ranks + kNonLanguageSpecials + 100;
  const int want = *multilingual ? kMultilingualRanks : kGpt2Ranks;
  *num_languages = n_vocab - want - kNonLanguageSpecials;
  if (*num_languages < 1 || *num_languages > static_cast<int>(kLanguages.size()))
    return InvalidArgument("tokenizer: n_vocab " + std::to_string(n_vocab) +
                           " is not a Whisper vocabulary size (51864 .en, 51865, 51866 large-v3)");
  if (n_ranks != want)
    return BadInput("tokenizer: n_vocab " + std::to_string(n_vocab) + " needs " +
                    std::to_string(want) + " ordinary tokens (" +
                    (*multilingual ? "multilingual" : "gpt2") + ".tiktoken), got " +
                    std::to_string(n_ranks));
  return Status::Ok();
}

}  // namespace

Result<std::vector<std::string>> ParseTiktokenRanks(std::string_view contents) {
  std::vector<std::string> by_rank;
  std::vector<int> line_of_rank;  // 0 = not seen yet
  std::vector<std::pair<std::string, int>> entries;
  size_t pos = 0;
  int line_no = 0;
  while (pos < contents.size()) {
    size_t eol = contents.find('\n', pos);
    if (eol == std::string_view::npos) eol = contents.size();
    std::string_view line = contents.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string where = "tiktoken line " + std::to_string(line_no) + ": ";
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos || line.find(' ', sp + 1) != std::string_view::npos)
      return BadInput(where + "expected `base64 rank`");
    std::string bytes;
    if (!DecodeBase64(line.substr(0, sp), &bytes)) return BadInput(where + "bad base64 token");
    const std::string_view num = line.substr(sp + 1);
    if (num.empty() || num.size() > 9 ||
        !std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return BadInput(where + "rank is not a non-negative integer");
    entries.emplace_back(std::move(bytes), std::stoi(std::string(num)));
  }
  if (entries.empty()) return BadInput("tiktoken file is empty");
  const int n = static_cast<int>(entries.size());
  by_rank.resize(n);
  line_of_rank.assign(n, 0);
  for (int i = 0; i < n; ++i) {
    const int r = entries[i].second;
    const std::string where = "tiktoken line " + std::to_string(i + 1) + ": ";
    if (r >= n)
      return BadInput(where + "rank " + std::to_string(r) + " outside 0.." +
                      std::to_string(n - 1) + " (ranks must be dense)");
    if (line_of_rank[r] != 0)
      return BadInput(where + "rank " + std::to_string(r) + " repeats line " +
                      std::to_string(line_of_rank[r]));
    line_of_rank[r] = i + 1;
    by_rank[r] = std::move(entries[i].first);
  }
  std::set<std::string_view> seen;
  std::array<bool, 256> have_byte{};
  for (int r = 0; r < n; ++r) {
    if (!seen.insert(by_rank[r]).second)
      return BadInput("tiktoken line " + std::to_string(line_of_rank[r]) + ": token repeats");
    if (by_rank[r].size() == 1) have_byte[static_cast<unsigned char>(by_rank[r][0])] = true;
  }
  for (int b = 0; b < 256; ++b) {
    if (!have_byte[b]) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", b);
      return BadInput(std::string("tiktoken file has no token for the byte ") + hex);
    }
  }
  return by_rank;
}

Result<Tokenizer> Tokenizer::FromTiktokenFile(const std::string& path, int n_vocab) {
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  const auto& f = *file.value();
  Result<Tokenizer> tok = FromTiktokenData(
      std::string_view(reinterpret_cast<const char*>(f.data()), f.size()), n_vocab);
  if (!tok.ok()) return Status(tok.status().kind(), path + ": " + tok.status().message());
  return tok;
}

Result<Tokenizer> Tokenizer::FromTiktokenData(std::string_view contents, int n_vocab) {
  auto ranks = ParseTiktokenRanks(contents);
  if (!ranks.ok()) return ranks.status();
  Tokenizer t;
  WISP_RETURN_IF_ERROR(CheckNVocab(n_vocab, static_cast<int>(ranks->size()), &t.num_languages_,
                                   &t.multilingual_));
  t.n_vocab_ = n_vocab;
  WISP_RETURN_IF_ERROR(t.Finish(std::move(ranks.value())));
  return t;
}

Result<Tokenizer> Tokenizer::FromOrdinaryTokens(std::vector<std::string> tokens, int n_vocab) {
  Tokenizer t;
  WISP_RETURN_IF_ERROR(CheckNVocab(n_vocab, static_cast<int>(tokens.size()), &t.num_languages_, &t.multilingual_));
  t.n_vocab_ = n_vocab;
  WISP_RETURN_IF_ERROR(t.Finish(std::move(tokens)));
  return t;
}

Result<Tokenizer> Tokenizer::FromGgmlVocab(const std::vector<std::string>& vocab, int n_vocab) {
  Tokenizer t;
  const bool multi = n_vocab >= kGpt2Ranks + kNonLanguageSpecials + 100;
  const size_t n_ordinary = multi ? kMultilingualRanks : kGpt2Ranks;
  if (vocab.size() < n_ordinary)
    return BadInput("ggml vocab has " + std::to_string(vocab.size()) + " tokens, n_vocab " +
                    std::to_string(n_vocab) + " needs " + std::to_string(n_ordinary));
  WISP_RETURN_IF_ERROR(CheckNVocab(n_vocab, static_cast<int>(n_ordinary), &t.num_languages_,
                                   &t.multilingual_));
  t.n_vocab_ = n_vocab;
  // Entries past the ordinary tokens (the .en files end with "<|endoftext|>") are specials,
  // which are rebuilt from n_vocab like openai-whisper does.
  std::vector<std::string> tokens(vocab.begin(), vocab.begin() + n_ordinary);
  const auto order = Gpt2ByteOrder();
  for (int i = 0; i < 256; ++i) {
    // Restore single bytes that the converter turned into U+FFFD (see the header).
    if (tokens[i].size() != 1) tokens[i] = std::string(1, static_cast<char>(order[i]));
  }
  // Tokens the converter lost: without them in the rank index Encode never produces them (as if
  // they were absent), and a genuine token with the same stored bytes (say "\xEF\xBF\xBD"
  // itself) keeps its id.
  std::vector<bool> lost(n_ordinary, false);
  const std::span<const TokenEntry> nonspeech = multi ? std::span<const TokenEntry>(kMultilingualNonSpeech)
                                                      : std::span<const TokenEntry>(kGpt2NonSpeech);
  const std::span<const TokenEntry> genuine = multi ? std::span<const TokenEntry>(kMultilingualReplacementTokens)
                                                    : std::span<const TokenEntry>(kGpt2ReplacementTokens);
  // Is this openai-whisper's vocabulary? Every table entry must be stored as itself or, when its
  // bytes are not valid UTF-8, with U+FFFD in their place (the converter's errors='replace').
  auto stored_as = [&](const TokenEntry& e) {
    const std::string& stored = tokens[e.id];
    return stored == e.bytes ||
           (!IsValidUtf8(e.bytes) && stored.find(kReplacementChar) != std::string::npos);
  };
  const bool known = std::all_of(nonspeech.begin(), nonspeech.end(), stored_as) &&
                     std::all_of(genuine.begin(), genuine.end(), stored_as);
  if (known) {
    for (const TokenEntry& e : nonspeech) tokens[e.id] = std::string(e.bytes);  // e.g. "\xE2\x99"
    std::vector<bool> is_genuine(n_ordinary, false);
    for (const TokenEntry& e : genuine) is_genuine[e.id] = true;
    for (size_t id = 256; id < n_ordinary; ++id)
      lost[id] = !is_genuine[id] && tokens[id].find(kReplacementChar) != std::string::npos;
    t.nonspeech_.clear();
    for (const TokenEntry& e : nonspeech) t.nonspeech_.push_back(e.id);
  } else {
    // Some other vocabulary: which of the equal U+FFFD strings is genuine is unknown; the first
    // keeps the rank (see Finish), the repeats count as lost.
    std::set<std::string_view> seen;
    for (size_t id = 256; id < n_ordinary; ++id)
      if (tokens[id].find(kReplacementChar) != std::string::npos && !seen.insert(tokens[id]).second)
        lost[id] = true;
  }
  t.lost_tokens_ = static_cast<int>(std::count(lost.begin(), lost.end(), true));
  WISP_RETURN_IF_ERROR(t.Finish(std::move(tokens), lost));
  return t;
}

Status Tokenizer::Finish(std::vector<std::string> tokens, const std::vector<bool>& unindexed) {
  const int n = static_cast<int>(tokens.size());
  offsets_.assign(1, 0);
  blob_.clear();
  for (const auto& s : tokens) {
    blob_ += s;
    offsets_.push_back(static_cast<uint32_t>(blob_.size()));
  }
  size_t cap = 1;
  while (cap < 2 * static_cast<size_t>(n)) cap <<= 1;
  slots_.assign(cap, -1);
  for (int id = 0; id < n; ++id) {
    if (!unindexed.empty() && unindexed[id]) continue;
    // First occurrence wins: only reachable with a ggml vocab whose lost tokens collide.
    if (Rank(Bytes(id)) >= 0) continue;
    size_t h = HashBytes(Bytes(id)) & (cap - 1);
    while (slots_[h] >= 0) h = (h + 1) & (cap - 1);
    slots_[h] = id;
  }
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    if (Rank(std::string_view(&c, 1)) < 0)
      return BadInput("tokenizer vocabulary lacks the single byte " + std::to_string(b));
  }
  eot_ = n;
  sot_ = n + 1;
  translate_ = sot_ + 1 + num_languages_;
  transcribe_ = translate_ + 1;
  sot_lm_ = translate_ + 2;
  sot_prev_ = translate_ + 3;
  no_speech_ = translate_ + 4;
  no_timestamps_ = translate_ + 5;
  timestamp_begin_ = translate_ + 6;
  if (timestamp_begin_ + 1501 != n_vocab_)  // CheckNVocab guarantees it; a cheap tripwire
    return InvalidArgument("tokenizer: special token layout does not fill n_vocab");
  return Status::Ok();
}

std::string_view Tokenizer::Bytes(int id) const {
  return std::string_view(blob_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
}

int Tokenizer::Rank(std::string_view bytes) const {
  const size_t mask = slots_.size() - 1;
  for (size_t h = HashBytes(bytes) & mask;; h = (h + 1) & mask) {
    const int id = slots_[h];
    if (id < 0) return -1;
    if (Bytes(id) == bytes) return id;
  }
}

std::string Tokenizer::TokenText(int token) const {
  if (token < 0 || token >= n_vocab_) return "";
  if (token < eot_) return std::string(Bytes(token));
  if (token >= timestamp_begin_) {
    // f"<|{i * 0.02:.2f}|>": the same double product and correctly rounded formatting.
    char buf[32];
    std::snprintf(buf, sizeof buf, "<|%.2f|>", (token - timestamp_begin_) * 0.02);
    return buf;
  }
  if (token > sot_ && token < translate_) return "<|" + LanguageCode(token) + "|>";
  if (token == eot_) return "<|endoftext|>";
  if (token == sot_) return "<|startoftranscript|>";
  if (token == translate_) return "<|translate|>";
  if (token == transcribe_) return "<|transcribe|>";
  if (token == sot_lm_) return "<|startoflm|>";
  if (token == sot_prev_) return "<|startofprev|>";
  if (token == no_speech_) return "<|nospeech|>";
  return "<|notimestamps|>";
}

void Tokenizer::AppendDecoded(const std::vector<int>& tokens, int limit, std::string* out) const {
  for (int t : tokens) {
    if (t < 0 || t >= limit) continue;
    if (t < eot_) out->append(Bytes(t));
    else out->append(TokenText(t));
  }
}

std::string Tokenizer::Decode(const std::vector<int>& tokens) const {
  std::string out;
  AppendDecoded(tokens, eot_, &out);
  return out;
}

std::string Tokenizer::DecodeWithSpecials(const std::vector<int>& tokens) const {
  std::string out;
  AppendDecoded(tokens, timestamp_begin_, &out);
  return out;
}

std::string Tokenizer::DecodeWithTimestamps(const std::vector<int>& tokens) const {
  std::string out;
  AppendDecoded(tokens, n_vocab_, &out);
  return out;
}

int Tokenizer::LanguageToken(std::string_view code) const {
  for (int i = 0; i < num_languages_; ++i)
    if (kLanguages[i] == code) return sot_ + 1 + i;
  return -1;
}

std::string Tokenizer::LanguageCode(int token) const {
  const int i = token - sot_ - 1;
  if (i < 0 || i >= num_languages_) return "";
  return std::string(kLanguages[i]);
}

std::vector<int> Tokenizer::AllLanguageTokens() const {
  std::vector<int> ids(num_languages_);
  for (int i = 0; i < num_languages_; ++i) ids[i] = sot_ + 1 + i;
  return ids;
}

std::vector<int> Tokenizer::SotSequence(std::string_view language, std::string_view task) const {
  if (!multilingual_) return {sot_};  // get_tokenizer drops language and task for .en models
  const int lang = LanguageToken(language.empty() ? "en" : language);
  if (lang < 0) return {};
  if (task.empty() || task == "transcribe") return {sot_, lang, transcribe_};
  if (task == "translate") return {sot_, lang, translate_};
  return {};
}

std::vector<int> Tokenizer::NonSpeechTokens() const {
  if (!nonspeech_.empty()) return nonspeech_;  // a ggml vocab: python's set, fixed by the ranks
  // Mirrors openai-whisper's non_speech_tokens: suppress speaker tags and annotations such as
  // "[DAVID]", "( SPEAKING FOREIGN LANGUAGE )" or "♪♪♪", but keep ordinary punctuation.
  std::vector<std::string> symbols;
  for (char c : std::string_view("\"#()*+/:;<=>@[\\]^_`{|}~")) symbols.emplace_back(1, c);
  for (const char* s : {"「", "」", "『", "』", "<<", ">>", "<<<", ">>>", "--", "---", "-(", "-[",
                        "('", "(\"", "((", "))", "(((", ")))", "[[", "]]", "{{", "}}", "♪♪",
                        "♪♪♪"})
    symbols.emplace_back(s);
  // U+2640..U+267F musical symbols: when one is several tokens, its first token (the shared
  // first two UTF-8 bytes) is suppressed anyway. Python iterates a set here; order is moot
  // because the result is a sorted set.
  const std::vector<std::string> miscellaneous = {"♩", "♪", "♫", "♬", "♭", "♮", "♯"};
  std::set<int> result;
  // Hyphens and single quotes stay allowed inside words, not at a word's start.
  result.insert(Encode(" -")[0]);
  result.insert(Encode(" '")[0]);
  auto consider = [&](const std::string& symbol, bool misc) {
    for (const std::string& text : {symbol, " " + symbol}) {
      const std::vector<int> ids = Encode(text);
      if (ids.size() == 1 || misc) result.insert(ids[0]);
    }
  };
  for (const auto& s : symbols) consider(s, false);
  for (const auto& s : miscellaneous) consider(s, true);
  return std::vector<int>(result.begin(), result.end());
}

}  // namespace wisp
