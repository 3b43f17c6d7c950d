#include "golden_reader.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "audio/audio_loader.h"
#include "model/ggml_writer.h"

namespace wisp::golden {

Json Json::Bool(bool b) {
  Json j;
  j.type_ = Type::kBool;
  j.bool_ = b;
  return j;
}
Json Json::Number(double v) {
  Json j;
  j.type_ = Type::kNumber;
  j.number_ = v;
  return j;
}
Json Json::String(std::string s) {
  Json j;
  j.type_ = Type::kString;
  j.string_ = std::move(s);
  return j;
}
Json Json::Array(std::vector<Json> items) {
  Json j;
  j.type_ = Type::kArray;
  j.array_ = std::make_shared<std::vector<Json>>(std::move(items));
  return j;
}
Json Json::Object(std::map<std::string, Json> members) {
  Json j;
  j.type_ = Type::kObject;
  j.object_ = std::make_shared<std::map<std::string, Json>>(std::move(members));
  return j;
}

void Json::TypeError(const char* wanted) const {
  static const char* kNames[] = {"null", "bool", "number", "string", "array", "object"};
  throw std::runtime_error(std::string("golden JSON: expected ") + wanted + ", found " +
                           kNames[static_cast<int>(type_)]);
}

bool Json::AsBool() const {
  if (type_ != Type::kBool) TypeError("bool");
  return bool_;
}
double Json::AsDouble() const {
  if (type_ != Type::kNumber) TypeError("number");
  return number_;
}
int64_t Json::AsInt() const {
  const double v = AsDouble();
  if (v != std::floor(v)) throw std::runtime_error("golden JSON: expected an integer, found " + std::to_string(v));
  return static_cast<int64_t>(v);
}
const std::string& Json::AsString() const {
  if (type_ != Type::kString) TypeError("string");
  return string_;
}
const std::vector<Json>& Json::AsArray() const {
  if (type_ != Type::kArray) TypeError("array");
  return *array_;
}
bool Json::Has(const std::string& key) const {
  return type_ == Type::kObject && object_->count(key) > 0;
}
const Json& Json::operator[](const std::string& key) const {
  if (type_ != Type::kObject) TypeError("object");
  auto it = object_->find(key);
  if (it == object_->end()) throw std::runtime_error("golden JSON: missing key '" + key + "'");
  return it->second;
}
const Json& Json::operator[](size_t i) const {
  const std::vector<Json>& a = AsArray();
  if (i >= a.size()) throw std::runtime_error("golden JSON: index " + std::to_string(i) + " out of range");
  return a[i];
}
size_t Json::size() const {
  if (type_ == Type::kObject) return object_->size();
  return AsArray().size();
}
std::vector<double> Json::Doubles() const {
  std::vector<double> out;
  for (const Json& j : AsArray()) out.push_back(j.AsDouble());
  return out;
}
std::vector<float> Json::Floats() const {
  std::vector<float> out;
  // The generator writes float32 values with 9 significant digits, which round-trip exactly.
  for (const Json& j : AsArray()) out.push_back(static_cast<float>(j.AsDouble()));
  return out;
}
std::vector<int> Json::Ints() const {
  std::vector<int> out;
  for (const Json& j : AsArray()) out.push_back(static_cast<int>(j.AsInt()));
  return out;
}

namespace {

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<Json> Document() {
    try {
      Json v = Value(0);
      SkipSpace();
      if (pos_ != s_.size()) Fail("trailing characters");
      return v;
    } catch (const std::runtime_error& e) {
      return BadInput(e.what());
    }
  }

 private:
  // Deep enough for any golden file, shallow enough that hostile input cannot overflow the stack.
  static constexpr int kMaxDepth = 64;

  [[noreturn]] void Fail(const std::string& what) const {
    throw std::runtime_error("JSON error at byte " + std::to_string(pos_) + ": " + what);
  }
  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
  }
  char Peek() {
    SkipSpace();
    if (pos_ >= s_.size()) Fail("unexpected end");
    return s_[pos_];
  }
  void Expect(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) Fail("expected '" + std::string(word) + "'");
    pos_ += word.size();
  }

  Json Value(int depth) {
    if (depth > kMaxDepth) Fail("nesting too deep");
    const char c = Peek();
    if (c == '{') return ObjectValue(depth);
    if (c == '[') return ArrayValue(depth);
    if (c == '"') return Json::String(StringValue());
    if (c == 't') { Expect("true"); return Json::Bool(true); }
    if (c == 'f') { Expect("false"); return Json::Bool(false); }
    if (c == 'n') { Expect("null"); return Json::Null(); }
    return NumberValue();
  }

  Json ObjectValue(int depth) {
    ++pos_;  // '{'
    std::map<std::string, Json> members;
    if (Peek() == '}') { ++pos_; return Json::Object(std::move(members)); }
    for (;;) {
      if (Peek() != '"') Fail("expected a key");
      std::string key = StringValue();
      if (Peek() != ':') Fail("expected ':'");
      ++pos_;
      members[key] = Value(depth + 1);
      const char c = Peek();
      ++pos_;
      if (c == '}') return Json::Object(std::move(members));
      if (c != ',') Fail("expected ',' or '}'");
    }
  }

  Json ArrayValue(int depth) {
    ++pos_;  // '['
    std::vector<Json> items;
    if (Peek() == ']') { ++pos_; return Json::Array(std::move(items)); }
    for (;;) {
      items.push_back(Value(depth + 1));
      const char c = Peek();
      ++pos_;
      if (c == ']') return Json::Array(std::move(items));
      if (c != ',') Fail("expected ',' or ']'");
    }
  }

  unsigned Hex4() {
    if (pos_ + 4 > s_.size()) Fail("short \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else Fail("bad \\u escape");
    }
    return v;
  }

  static void AppendUtf8(unsigned cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::string StringValue() {
    ++pos_;  // '"'
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) Fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) Fail("control character in string");
      if (c != '\\') {
        out.push_back(c);  // UTF-8 bytes pass through unchanged
        continue;
      }
      if (pos_ >= s_.size()) Fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          unsigned cp = Hex4();
          // A high surrogate followed by an escaped low one is one code point beyond the BMP.
          if (cp >= 0xD800 && cp < 0xDC00 && s_.substr(pos_, 2) == "\\u") {
            const size_t save = pos_;
            pos_ += 2;
            const unsigned lo = Hex4();
            if (lo >= 0xDC00 && lo < 0xE000) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              pos_ = save;
            }
          }
          AppendUtf8(cp, &out);
          break;
        }
        default: Fail("bad escape");
      }
    }
  }

  Json NumberValue() {
    const size_t start = pos_;
    while (pos_ < s_.size() && std::string_view("+-0123456789.eE").find(s_[pos_]) != std::string_view::npos) ++pos_;
    if (pos_ == start) Fail("unexpected character");
    const std::string text(s_.substr(start, pos_ - start));
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size()) Fail("bad number '" + text + "'");
    return Json::Number(v);
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

Result<Json> ParseJson(std::string_view text) { return Parser(text).Document(); }

Result<Json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open golden file '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  Result<Json> j = ParseJson(buffer.str());
  if (!j.ok()) return BadInput(path + ": " + j.status().message());
  return j;
}

std::string HexToBytes(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::string GoldenAudioPath(const std::string& name, const std::string& shared_dir,
                            const std::string& test_data_dir) {
  if (name == "jfk") return shared_dir + "/jfk.wav";
  if (name == "speech1" || name == "speech2" || name == "noise") return test_data_dir + "/" + name + ".wav";
  return "";
}

Result<std::vector<float>> LoadGoldenAudio(const std::string& name, const std::string& shared_dir,
                                           const std::string& test_data_dir) {
  const std::string path = GoldenAudioPath(name, shared_dir, test_data_dir);
  if (!path.empty()) return LoadAudio16k(path);
  if (name == "silence") return std::vector<float>(5 * 16000, 0.0f);
  if (name != "long") return NotFound("no golden input named '" + name + "'");
  std::vector<float> pieces[3];
  const char* names[3] = {"speech1", "noise", "speech2"};
  for (int i = 0; i < 3; ++i) {
    Result<std::vector<float>> r = LoadGoldenAudio(names[i], shared_dir, test_data_dir);
    if (!r.ok()) return r.status();
    pieces[i] = std::move(*r);
  }
  std::vector<float> out;
  for (int rep = 0; rep < kLongRepeats; ++rep) {
    out.insert(out.end(), pieces[0].begin(), pieces[0].end());
    out.insert(out.end(), 16000, 0.0f);
    out.insert(out.end(), pieces[1].begin(), pieces[1].end());
    out.insert(out.end(), pieces[2].begin(), pieces[2].end());
    out.insert(out.end(), 8000, 0.0f);
  }
  return out;
}

Result<uint64_t> FileChecksum(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open '" + path + "'");
  uint64_t sum = 0, index = 0;
  std::vector<char> buf(1 << 20);  // a multiple of 8, so only the last read can end mid-word
  for (;;) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const size_t got = static_cast<size_t>(in.gcount());
    if (got == 0) break;
    for (size_t i = 0; i < got; i += 8) {
      uint64_t word = 0;
      for (size_t b = 0; b < 8 && i + b < got; ++b) word |= static_cast<uint64_t>(static_cast<uint8_t>(buf[i + b])) << (8 * b);
      sum += (++index) * word;  // unsigned arithmetic wraps mod 2^64, as numpy's uint64 does
    }
    if (got < buf.size()) break;
  }
  return sum;
}

Status EnsureGoldenModel(const std::string& header_path, const std::string& out_path, uint64_t seed,
                         const std::string& type, uint64_t expected_checksum) {
  Result<GgmlType> t = ParseGgmlTypeName(type);
  if (!t.ok()) return t.status();
  RandomModelOptions options;
  options.seed = seed;
  options.type = *t;
  return EnsureGoldenModel(header_path, out_path, options, expected_checksum);
}

Status EnsureGoldenModel(const std::string& header_path, const std::string& out_path, const RandomModelOptions& options,
                         uint64_t expected_checksum) {
  Result<uint64_t> cached = FileChecksum(out_path);
  if (cached.ok() && *cached == expected_checksum) return Status::Ok();
  const uint64_t seed = options.seed;
  const std::string type = GgmlTypeName(static_cast<int32_t>(options.type));
  WISP_RETURN_IF_ERROR(WriteRandomGgmlModel(header_path, out_path, options));
  Result<uint64_t> fresh = FileChecksum(out_path);
  if (!fresh.ok()) return fresh.status();
  if (*fresh != expected_checksum) {
    return InvalidArgument("random model '" + out_path + "' (seed " + std::to_string(seed) + ", " + type +
                           ") has checksum " + std::to_string(*fresh) + ", the goldens were made from " +
                           std::to_string(expected_checksum) +
                           ": the model writer changed; regenerate tests/golden with tools/golden/make_golden.py");
  }
  return Status::Ok();
}

}  // namespace wisp::golden
