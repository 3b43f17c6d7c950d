#include "model/formats/byte_level_vocab.h"

#include <array>
#include <cstdint>
#include <unordered_set>

#include <nlohmann/json.hpp>

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

constexpr int64_t kMaxVocab = 1 << 20;

// Adds {token: id} pairs into an id-indexed vocabulary, growing it as needed.
Status AddPairs(const nlohmann::json& map, const std::string& source, std::vector<std::string>* vocab,
                std::vector<bool>* set) {
  if (!map.is_object()) return BadInput(source + ": the vocabulary is not a {token: id} object");
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 || it.value().get<int64_t>() >= kMaxVocab) {
      return BadInput(source + ": token '" + it.key().substr(0, 40) + "' has id " + it.value().dump().substr(0, 40) +
                      ", not one in 0.." + std::to_string(kMaxVocab - 1));
    }
    const size_t id = static_cast<size_t>(it.value().get<int64_t>());
    if (id >= vocab->size()) {
      vocab->resize(id + 1);
      set->resize(id + 1, false);
    }
    if ((*set)[id] && (*vocab)[id] != it.key()) {
      return BadInput(source + ": id " + std::to_string(id) + " is given to two tokens");
    }
    (*vocab)[id] = it.key();
    (*set)[id] = true;
  }
  return Status::Ok();
}

Result<std::vector<std::string>> Dense(std::vector<std::string> vocab, const std::vector<bool>& set,
                                       const std::string& source) {
  for (size_t i = 0; i < set.size(); ++i) {
    if (!set[i]) return BadInput(source + ": no token has id " + std::to_string(i));
  }
  if (vocab.empty()) return BadInput(source + ": the vocabulary is empty");
  return vocab;
}

}  // namespace

Result<std::vector<std::string>> VocabFromTokenizerJson(const std::string& text, const std::string& source) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return BadInput(source + ": not a JSON object");
  auto model = j.find("model");
  if (model == j.end() || !model->is_object() || !model->contains("vocab")) {
    return BadInput(source + ": no model.vocab: not a Hugging Face tokenizer.json");
  }
  std::vector<std::string> vocab;
  std::vector<bool> set;
  WISP_RETURN_IF_ERROR(AddPairs((*model)["vocab"], source, &vocab, &set));
  auto added = j.find("added_tokens");
  if (added != j.end() && !added->is_null()) {
    if (!added->is_array()) return BadInput(source + ": added_tokens is not a list");
    nlohmann::json pairs = nlohmann::json::object();
    for (const auto& a : *added) {
      if (!a.is_object() || !a.contains("id") || !a.contains("content") || !a["content"].is_string()) {
        return BadInput(source + ": an added token lacks its id or content");
      }
      pairs[a["content"].get<std::string>()] = a["id"];
    }
    WISP_RETURN_IF_ERROR(AddPairs(pairs, source, &vocab, &set));
  }
  return Dense(std::move(vocab), set, source);
}

Result<std::vector<std::string>> VocabFromVocabJson(const std::string& vocab_json, const std::string& added_json,
                                                    const std::string& source) {
  std::vector<std::string> vocab;
  std::vector<bool> set;
  nlohmann::json j = nlohmann::json::parse(vocab_json, nullptr, false);
  if (j.is_discarded()) return BadInput(source + ": not valid JSON");
  WISP_RETURN_IF_ERROR(AddPairs(j, source, &vocab, &set));
  if (!added_json.empty()) {
    nlohmann::json a = nlohmann::json::parse(added_json, nullptr, false);
    if (a.is_discarded()) return BadInput(source + ": added_tokens.json is not valid JSON");
    WISP_RETURN_IF_ERROR(AddPairs(a, source + " (added_tokens.json)", &vocab, &set));
  }
  return Dense(std::move(vocab), set, source);
}

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
