// Reads the golden data in tests/golden/ (written by tools/golden/make_golden.py from
// openai-whisper) without Python: a small JSON parser plus typed accessors.
//
// The parser accepts strict JSON (RFC 8259) as Python's json.dump writes it: objects, arrays,
// strings with every escape including surrogate pairs, numbers, true/false/null. Accessors throw
// std::runtime_error naming the key on a missing field or a type mismatch: inside a gtest body
// that fails the test with the message, which is what a damaged golden file should do.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/ggml_writer.h"
#include "util/status.h"

namespace wisp::golden {

class Json {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Json() = default;
  static Json Null() { return Json(); }
  static Json Bool(bool b);
  static Json Number(double v);
  static Json String(std::string s);
  static Json Array(std::vector<Json> items);
  static Json Object(std::map<std::string, Json> members);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }

  bool AsBool() const;
  double AsDouble() const;
  int64_t AsInt() const;  // the number must be integral
  const std::string& AsString() const;
  const std::vector<Json>& AsArray() const;

  bool Has(const std::string& key) const;
  const Json& operator[](const std::string& key) const;  // object member; throws when absent
  const Json& operator[](size_t i) const;                // array element; throws when out of range
  size_t size() const;                                   // array or object size

  // Whole arrays of numbers.
  std::vector<double> Doubles() const;
  std::vector<float> Floats() const;
  std::vector<int> Ints() const;

 private:
  [[noreturn]] void TypeError(const char* wanted) const;

  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::shared_ptr<std::vector<Json>> array_;  // shared: copies of parsed trees stay cheap
  std::shared_ptr<std::map<std::string, Json>> object_;
};

// Parses a whole document; errors name the byte offset.
Result<Json> ParseJson(std::string_view text);
Result<Json> ReadJsonFile(const std::string& path);

// "48656c6c6f" -> "Hello"; the golden files carry raw token bytes as hex.
std::string HexToBytes(const std::string& hex);

// ---- The inputs the golden data were computed from (tools/golden/test_audio.py's rules) ----

// Samples of a named test input: "jfk" (shared_dir/jfk.wav), "speech1", "speech2", "noise"
// (test_data_dir/<name>.wav), "silence" (5 s of zeros), "long" (kLongRepeats x [speech1, 1 s of
// zeros, noise, speech2, 0.5 s of zeros]). Files are read through the audio layer's front door.
inline constexpr int kLongRepeats = 9;
Result<std::vector<float>> LoadGoldenAudio(const std::string& name, const std::string& shared_dir,
                                           const std::string& test_data_dir);

// The file a named input is read from, or "" for the generated ones (silence, long).
std::string GoldenAudioPath(const std::string& name, const std::string& shared_dir,
                            const std::string& test_data_dir);

// sum_i (i + 1) * word_i mod 2^64 over the file as little-endian u64 words, zero-padded: the
// checksum make_golden.py records for every random model it used.
Result<uint64_t> FileChecksum(const std::string& path);

// Makes sure `out_path` holds the random model the goldens were computed with: reuses a cached
// file whose checksum matches, else writes it with WriteRandomGgmlModel. A fresh file with
// another checksum means the writer changed since the goldens were made: the error says so
// (regenerate the goldens), since comparing against them would prove nothing.
Status EnsureGoldenModel(const std::string& header_path, const std::string& out_path, uint64_t seed,
                         const std::string& type, uint64_t expected_checksum);
// The same with every writer option (seed, type and the shape overrides: n_layers, n_vocab, mel
// filters), for models no header file in ../shared/data describes.
Status EnsureGoldenModel(const std::string& header_path, const std::string& out_path, const RandomModelOptions& options,
                         uint64_t expected_checksum);

}  // namespace wisp::golden
