// libFuzzer target for the tokenizer. Every input is used twice:
//  1. as a tiktoken ranks file: parsing must return a value or a Status, never crash;
//  2. as text for a real tokenizer: Encode must give in-range ordinary ids and
//     Decode(Encode(x)) must give back exactly the input bytes (aborts otherwise).
// The real tokenizer is multilingual.tiktoken from the shared data (or $WISP_TIKTOKEN); without
// it a synthetic vocabulary (all bytes, then two-byte merges) keeps the round trip checked.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "pipeline/tokenizer.h"

#ifndef WISP_SHARED_DATA_DIR
#define WISP_SHARED_DATA_DIR "../shared/data"
#endif

namespace {

std::string Base64(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t w = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) w |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) w |= static_cast<unsigned char>(in[i + 2]);
    out += k[(w >> 18) & 63];
    out += k[(w >> 12) & 63];
    out += i + 1 < in.size() ? k[(w >> 6) & 63] : '=';
    out += i + 2 < in.size() ? k[w & 63] : '=';
  }
  return out;
}

// 256 single bytes followed by two-byte tokens up to the multilingual rank count.
std::string SyntheticTiktoken() {
  std::string file;
  int rank = 0;
  for (int b = 0; b < 256; ++b) file += Base64(std::string(1, char(b))) + " " + std::to_string(rank++) + "\n";
  for (int a = 0; a < 256 && rank < 50257; ++a)
    for (int b = 0; b < 256 && rank < 50257; ++b)
      file += Base64(std::string{char(a), char(b)}) + " " + std::to_string(rank++) + "\n";
  return file;
}

const wisp::Tokenizer& RealTokenizer() {
  static const std::unique_ptr<wisp::Tokenizer> tok = [] {
    const char* env = std::getenv("WISP_TIKTOKEN");
    const std::string path = env ? env : WISP_SHARED_DATA_DIR "/multilingual.tiktoken";
    auto t = wisp::Tokenizer::FromTiktokenFile(path, 51865);
    if (!t.ok()) {
      std::fprintf(stderr, "tokenizer_fuzz: %s; using a synthetic vocabulary\n",
                   t.status().message().c_str());
      t = wisp::Tokenizer::FromTiktokenData(SyntheticTiktoken(), 51865);
    }
    if (!t.ok()) {
      std::fprintf(stderr, "tokenizer_fuzz: %s\n", t.status().message().c_str());
      std::abort();
    }
    return std::make_unique<wisp::Tokenizer>(std::move(t.value()));
  }();
  return *tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto ranks = wisp::ParseTiktokenRanks(input);
  if (ranks.ok()) {
    // A parse that succeeds must be usable: every byte has a rank and ranks are dense.
    if (ranks->size() < 256) std::abort();
    auto tok = wisp::Tokenizer::FromTiktokenData(input, 51864);
    if (tok.ok() && tok->Decode(tok->Encode("fuzz")) != "fuzz") std::abort();
  } else if (ranks.status().message().empty()) {
    std::abort();  // an error must say what is wrong
  }

  const wisp::Tokenizer& tok = RealTokenizer();
  const std::vector<int> ids = tok.Encode(input);
  for (int id : ids)
    if (id < 0 || id >= tok.eot()) std::abort();
  if (tok.Decode(ids) != input) {
    std::fprintf(stderr, "round trip mismatch for %zu bytes\n", size);
    std::abort();
  }
  return 0;
}
