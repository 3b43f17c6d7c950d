// The vocabulary of a Hugging Face tokenizer, read as a stream of JSON events (nlohmann's SAX
// interface) that keeps only the (token, id) pairs: tokenizer.json is ~2 MB, mostly merges that
// Whisper does not need, and building its JSON tree cost ~70 ms of a ~90 ms model load.
// Merges are not needed because a Whisper (tiktoken) BPE merges the pair whose merged token has
// the lowest id: the ranks are the ids.
#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/formats/byte_level_vocab.h"
#include "model/formats/safetensors_reader.h"
#include "util/mapped_file.h"

namespace wisp {
namespace {

using Json = nlohmann::json;

constexpr uint64_t kMaxTokenizerBytes = 64ull << 20;  // tokenizer.json is ~2.5 MB
constexpr int64_t kMaxTokenId = 1 << 20;
constexpr size_t kMaxDepth = 16;                      // the files are at most 4 deep

std::string Quote(std::string_view s) { return "'" + std::string(s.substr(0, 120)) + (s.size() > 120 ? "...'" : "'"); }

// Collects (token, id) pairs from either layout:
//   tokenizer.json: {"model": {"type": "BPE", "vocab": {token: id}}, "added_tokens": [{"id", "content"}]}
//   vocab.json / added_tokens.json: {token: id}
class VocabEvents : public nlohmann::json_sax<Json> {
 public:
  VocabEvents(bool tokenizer_json, std::string source) : tokenizer_json_(tokenizer_json), source_(std::move(source)) {}

  std::vector<std::pair<std::string, int64_t>> pairs;
  std::string error;  // set when a handler stopped the parse

  bool null() override { return Value(nullptr); }
  bool boolean(bool) override { return Value(nullptr); }
  bool number_integer(number_integer_t v) override { return Int(v); }
  bool number_unsigned(number_unsigned_t v) override {
    return Int(v > static_cast<number_unsigned_t>(INT64_MAX) ? -1 : static_cast<int64_t>(v));
  }
  bool number_float(number_float_t, const string_t&) override { return Value(nullptr); }
  bool binary(binary_t&) override { return Value(nullptr); }
  bool string(string_t& s) override {
    if (tokenizer_json_ && InAddedEntry() && key_ == "content") {
      content_ = s;
      has_content_ = true;
      return true;
    }
    if (tokenizer_json_ && path_ == std::vector<std::string>{"", "model"} && key_ == "type" && s != "BPE") {
      return Fail(Status(ErrorKind::kUnsupported, source_ + ": model type " + Quote(s) + " is not BPE"));
    }
    return Value(&s);
  }
  bool start_object(std::size_t) override { return Open(true); }
  bool start_array(std::size_t) override { return Open(false); }
  bool end_object() override {
    if (tokenizer_json_ && InAddedEntry()) {
      if (!has_content_ || added_id_ < 0) {
        return Fail(BadInput(source_ + ": added_tokens[" + std::to_string(added_index_) + "] has no content and id"));
      }
      pairs.emplace_back(std::move(content_), added_id_);
      ++added_index_;
    }
    return Close();
  }
  bool end_array() override { return Close(); }
  bool key(string_t& k) override {
    key_ = k;
    return true;
  }
  bool parse_error(std::size_t byte, const std::string&, const nlohmann::detail::exception&) override {
    if (error.empty()) error = source_ + ": not valid JSON (error at byte " + std::to_string(byte) + ")";
    return false;
  }
  ErrorKind error_kind() const { return kind_; }
  bool saw_vocab() const { return saw_vocab_; }

 private:
  // Where the parse is: the key that opened each enclosing container ("" for array elements and
  // the root), and the key of the value about to come.
  bool InVocab() const {
    return tokenizer_json_ ? path_ == std::vector<std::string>{"", "model", "vocab"} : path_.size() == 1;
  }
  bool InAddedEntry() const { return path_ == std::vector<std::string>{"", "added_tokens", ""}; }
  bool Open(bool object) {
    if (path_.size() >= kMaxDepth) return Fail(BadInput(source_ + ": JSON nested more than 16 levels deep"));
    if (path_.empty() && !object) return Fail(BadInput(source_ + ": not a JSON object"));
    const bool in_array = !is_object_.empty() && !is_object_.back();
    path_.push_back(in_array || path_.empty() ? "" : key_);
    is_object_.push_back(object);
    if (tokenizer_json_ && path_ == std::vector<std::string>{"", "model", "vocab"}) {
      if (!object) return Fail(BadInput(source_ + ": model.vocab is not a {token: id} object"));
      saw_vocab_ = true;
    }
    if (tokenizer_json_ && path_ == std::vector<std::string>{"", "added_tokens"} && object) {
      return Fail(BadInput(source_ + ": added_tokens is not a list"));
    }
    if (tokenizer_json_ && InAddedEntry()) {
      if (!object) return Fail(BadInput(source_ + ": added_tokens[" + std::to_string(added_index_) + "] is not an object"));
      has_content_ = false;
      added_id_ = -1;
    }
    return true;
  }
  bool Close() {
    path_.pop_back();
    is_object_.pop_back();
    return true;
  }
  bool Int(int64_t v) {
    if (tokenizer_json_ && InAddedEntry() && key_ == "id") {
      if (v < 0 || v >= kMaxTokenId) return BadId(content_, v);
      added_id_ = v;
      return true;
    }
    if (InVocab()) {
      if (v < 0 || v >= kMaxTokenId) return BadId(key_, v);
      pairs.emplace_back(key_, v);
    }
    return true;
  }
  // A value that is not an integer: an error where an id belongs.
  bool Value(const std::string*) {
    if (InVocab()) return Fail(BadInput(source_ + ": id of token " + Quote(key_) + " is not an integer"));
    if (tokenizer_json_ && InAddedEntry() && key_ == "id") {
      return Fail(BadInput(source_ + ": added_tokens[" + std::to_string(added_index_) + "] has no content and id"));
    }
    return true;
  }
  bool BadId(const std::string& token, int64_t v) {
    return Fail(BadInput(source_ + ": id of token " + Quote(token) + " is " + std::to_string(v) + ", not one in 0.." +
                         std::to_string(kMaxTokenId - 1)));
  }
  bool Fail(const Status& st) {
    error = st.message();
    kind_ = st.kind();
    return false;
  }

  const bool tokenizer_json_;
  const std::string source_;
  std::vector<std::string> path_;
  std::vector<bool> is_object_;
  std::string key_;
  std::string content_;
  bool has_content_ = false;
  int64_t added_id_ = -1;
  size_t added_index_ = 0;
  bool saw_vocab_ = false;
  ErrorKind kind_ = ErrorKind::kBadInput;
};

bool FileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Streams one file's pairs into `events`.
Status ParseVocabFile(const std::string& path, VocabEvents* events) {
  Result<std::unique_ptr<MappedFile>> file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  const MappedFile& f = **file;
  if (f.size() > kMaxTokenizerBytes) {
    return BadInput(path + ": " + std::to_string(f.size()) + " bytes, more than the 64 MiB such a file may have");
  }
  const char* text = reinterpret_cast<const char*>(f.data());
  const bool ok = Json::sax_parse(text, text + f.size(), events, Json::input_format_t::json, /*strict=*/true);
  if (!ok) {
    if (events->error.empty()) return BadInput(path + ": not valid JSON");
    return Status(events->error_kind(), events->error);
  }
  return Status::Ok();
}

// Puts the pairs into an id-ordered vocabulary; one id may not name two tokens, none may be missing.
Status AddPairs(const std::vector<std::pair<std::string, int64_t>>& pairs, const std::string& path,
                std::vector<std::string>& vocab, std::vector<bool>& have) {
  for (const auto& [token, id] : pairs) {
    if (static_cast<size_t>(id) >= vocab.size()) vocab.resize(id + 1), have.resize(id + 1);
    if (have[id] && vocab[id] != token) {
      return BadInput(path + ": id " + std::to_string(id) + " is both " + Quote(vocab[id]) + " and " + Quote(token));
    }
    vocab[id] = token;
    have[id] = true;
  }
  return Status::Ok();
}

}  // namespace

Status ReadHuggingFaceTokenizer(const std::string& dir, ModelMetadata& meta) {
  const std::string base = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  std::vector<std::string> vocab;
  std::vector<bool> have;
  std::string source = base + "tokenizer.json";
  if (FileExists(source)) {
    VocabEvents events(/*tokenizer_json=*/true, source);
    WISP_RETURN_IF_ERROR(ParseVocabFile(source, &events));
    if (!events.saw_vocab()) return BadInput(source + ": no model.vocab");
    WISP_RETURN_IF_ERROR(AddPairs(events.pairs, source, vocab, have));
  } else {
    source = base + "vocab.json";
    if (!FileExists(source)) {
      return NotFound(dir + ": no tokenizer.json or vocab.json; the checkpoint's vocabulary is needed");
    }
    VocabEvents events(/*tokenizer_json=*/false, source);
    WISP_RETURN_IF_ERROR(ParseVocabFile(source, &events));
    WISP_RETURN_IF_ERROR(AddPairs(events.pairs, source, vocab, have));
    const std::string added_path = base + "added_tokens.json";
    if (FileExists(added_path)) {
      VocabEvents added(/*tokenizer_json=*/false, added_path);
      WISP_RETURN_IF_ERROR(ParseVocabFile(added_path, &added));
      WISP_RETURN_IF_ERROR(AddPairs(added.pairs, added_path, vocab, have));
    }
  }
  for (size_t i = 0; i < have.size(); ++i) {
    if (!have[i]) return BadInput(source + ": no token has id " + std::to_string(i));
  }
  Result<std::vector<std::string>> ordinary = OrdinaryTokensFromVocab(vocab, source);
  if (!ordinary.ok()) return ordinary.status();
  meta.ordinary_tokens = std::move(*ordinary);
  return Status::Ok();
}

}  // namespace wisp
