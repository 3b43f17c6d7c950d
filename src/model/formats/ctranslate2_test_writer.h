// Test-only: writes CTranslate2 WhisperSpec model.bin bytes (binary version 6) from the random
// weights of model/ggml_writer.h, fusing QKV and cross KV like CTranslate2's converter does, in
// float32, float16, int8 (per-row scales, the rest f32) or int8_float16. Used by the reader's
// tests and to seed its fuzzer; wisp itself never writes this format.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "model/bind_weights.h"
#include "model/ggml_writer.h"

namespace wisp::ct2_test {

enum class Ct2Mode { kF32, kF16, kInt8, kInt8F16 };

class Ct2Writer {
 public:
  void Var(const std::string& name, std::vector<uint32_t> dims, uint8_t dtype, std::vector<uint8_t> bytes) {
    vars_.push_back({name, std::move(dims), dtype, std::move(bytes)});
  }
  void Alias(const std::string& a, const std::string& t) { aliases_.push_back({a, t}); }
  std::vector<uint8_t> Bytes(const std::string& spec = "WhisperSpec", uint32_t version = 6) const {
    std::vector<uint8_t> out;
    U32(&out, version);
    Str(&out, spec);
    U32(&out, 3);
    U32(&out, static_cast<uint32_t>(vars_.size()));
    for (const auto& v : vars_) {
      Str(&out, v.name);
      out.push_back(static_cast<uint8_t>(v.dims.size()));
      for (uint32_t d : v.dims) U32(&out, d);
      out.push_back(v.dtype);
      U32(&out, static_cast<uint32_t>(v.bytes.size()));
      out.insert(out.end(), v.bytes.begin(), v.bytes.end());
    }
    U32(&out, static_cast<uint32_t>(aliases_.size()));
    for (const auto& a : aliases_) {
      Str(&out, a.first);
      Str(&out, a.second);
    }
    return out;
  }
  static void U32(std::vector<uint8_t>* o, uint32_t v) {
    uint8_t b[4];
    std::memcpy(b, &v, 4);
    o->insert(o->end(), b, b + 4);
  }
  static void Str(std::vector<uint8_t>* o, const std::string& s) {
    const uint16_t n = static_cast<uint16_t>(s.size() + 1);
    o->push_back(static_cast<uint8_t>(n & 0xff));
    o->push_back(static_cast<uint8_t>(n >> 8));
    o->insert(o->end(), s.begin(), s.end());
    o->push_back(0);
  }

 private:
  struct V {
    std::string name;
    std::vector<uint32_t> dims;
    uint8_t dtype;
    std::vector<uint8_t> bytes;
  };
  std::vector<V> vars_;
  std::vector<std::pair<std::string, std::string>> aliases_;
};

// The values of a Whisper tensor as the random writer draws them (PyTorch row-major order).
inline std::vector<float> RandomValues(const HParams& hp, const std::string& name, uint64_t seed) {
  for (const GgmlTensorSpec& s : WhisperTensorSpecs(hp)) {
    if (s.name == name) return RandomTensorValues(s, hp, seed);
  }
  return {};
}

inline std::vector<uint8_t> FloatBytes(const std::vector<float>& v, bool f16) {
  std::vector<uint8_t> out(v.size() * (f16 ? 2 : 4));
  for (size_t i = 0; i < v.size(); ++i) {
    if (f16) {
      const uint16_t h = F32ToF16(v[i]);
      std::memcpy(out.data() + 2 * i, &h, 2);
    } else {
      std::memcpy(out.data() + 4 * i, &v[i], 4);
    }
  }
  return out;
}

// A whole WhisperSpec model whose tensor values (openai-whisper names, PyTorch order) come from
// `values`.
inline std::vector<uint8_t> BuildCt2Model(const HParams& hp,
                                          const std::function<std::vector<float>(const std::string&)>& vals,
                                          Ct2Mode mode) {
  Ct2Writer w;
  const bool f16 = mode == Ct2Mode::kF16 || mode == Ct2Mode::kInt8F16;
  const bool int8 = mode == Ct2Mode::kInt8 || mode == Ct2Mode::kInt8F16;
  const uint8_t fdt = f16 ? 4 : 0;
  auto dense = [&](const std::string& name, const std::vector<float>& v, std::vector<uint32_t> dims) {
    w.Var(name, dims, fdt, FloatBytes(v, f16));
  };
  // Linear weights are quantized per row when int8 (scale = 127 / max |row|, as CTranslate2).
  auto matrix = [&](const std::string& name, const std::vector<float>& v, uint32_t rows) {
    const uint32_t cols = static_cast<uint32_t>(v.size() / rows);
    if (!int8) return dense(name, v, {rows, cols});
    std::vector<uint8_t> q(v.size());
    std::vector<float> scale(rows);
    for (uint32_t r = 0; r < rows; ++r) {
      float amax = 0;
      for (uint32_t c = 0; c < cols; ++c) amax = std::max(amax, std::fabs(v[r * cols + c]));
      scale[r] = amax > 0 ? 127.0f / amax : 1.0f;
      for (uint32_t c = 0; c < cols; ++c) {
        q[r * cols + c] = static_cast<uint8_t>(static_cast<int8_t>(std::lround(v[r * cols + c] * scale[r])));
      }
    }
    w.Var(name, {rows, cols}, 1, q);
    w.Var(name + "_scale", {rows}, 0, FloatBytes(scale, false));
  };
  auto cat = [](std::vector<std::vector<float>> parts) {
    std::vector<float> out;
    for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  const uint32_t d = static_cast<uint32_t>(hp.n_audio_state);
  auto ln = [&](const std::string& c, const std::string& wn) {
    dense(c + "/gamma", vals(wn + ".weight"), {d});
    dense(c + "/beta", vals(wn + ".bias"), {d});
  };
  auto attention = [&](const std::string& c, const std::string& wn, bool cross) {
    const std::vector<float> zeros(d, 0.0f);
    if (!cross) {
      matrix(c + "/linear_0/weight", cat({vals(wn + ".query.weight"), vals(wn + ".key.weight"), vals(wn + ".value.weight")}), 3 * d);
      dense(c + "/linear_0/bias", cat({vals(wn + ".query.bias"), zeros, vals(wn + ".value.bias")}), {3 * d});
      matrix(c + "/linear_1/weight", vals(wn + ".out.weight"), d);
      dense(c + "/linear_1/bias", vals(wn + ".out.bias"), {d});
    } else {
      matrix(c + "/linear_0/weight", vals(wn + ".query.weight"), d);
      dense(c + "/linear_0/bias", vals(wn + ".query.bias"), {d});
      matrix(c + "/linear_1/weight", cat({vals(wn + ".key.weight"), vals(wn + ".value.weight")}), 2 * d);
      dense(c + "/linear_1/bias", cat({zeros, vals(wn + ".value.bias")}), {2 * d});
      matrix(c + "/linear_2/weight", vals(wn + ".out.weight"), d);
      dense(c + "/linear_2/bias", vals(wn + ".out.bias"), {d});
    }
  };
  auto ffn = [&](const std::string& c, const std::string& wn) {
    ln(c + "/layer_norm", wn + ".mlp_ln");
    matrix(c + "/linear_0/weight", vals(wn + ".mlp.0.weight"), 4 * d);
    dense(c + "/linear_0/bias", vals(wn + ".mlp.0.bias"), {4 * d});
    matrix(c + "/linear_1/weight", vals(wn + ".mlp.2.weight"), d);
    dense(c + "/linear_1/bias", vals(wn + ".mlp.2.bias"), {d});
  };
  w.Var("decoder/num_heads", {}, 2, {static_cast<uint8_t>(hp.n_text_head), 0});
  w.Var("decoder/pre_norm", {}, 1, {1});
  w.Var("encoder/num_heads", {}, 2, {static_cast<uint8_t>(hp.n_audio_head), 0});
  matrix("decoder/embeddings/weight", vals("decoder.token_embedding.weight"), static_cast<uint32_t>(hp.n_vocab));
  dense("decoder/position_encodings/encodings", vals("decoder.positional_embedding"),
        {static_cast<uint32_t>(hp.n_text_ctx), d});
  for (int i = 0; i < hp.n_text_layer; ++i) {
    const std::string c = "decoder/layer_" + std::to_string(i), wn = "decoder.blocks." + std::to_string(i);
    attention(c + "/self_attention", wn + ".attn", false);
    ln(c + "/self_attention/layer_norm", wn + ".attn_ln");
    attention(c + "/attention", wn + ".cross_attn", true);
    ln(c + "/attention/layer_norm", wn + ".cross_attn_ln");
    ffn(c + "/ffn", wn);
  }
  ln("decoder/layer_norm", "decoder.ln");
  dense("encoder/conv1/weight", vals("encoder.conv1.weight"), {d, static_cast<uint32_t>(hp.n_mels), 3});
  dense("encoder/conv1/bias", vals("encoder.conv1.bias"), {d});
  dense("encoder/conv2/weight", vals("encoder.conv2.weight"), {d, d, 3});
  dense("encoder/conv2/bias", vals("encoder.conv2.bias"), {d});
  dense("encoder/position_encodings/encodings", vals("encoder.positional_embedding"),
        {static_cast<uint32_t>(hp.n_audio_ctx), d});
  for (int i = 0; i < hp.n_audio_layer; ++i) {
    const std::string c = "encoder/layer_" + std::to_string(i), wn = "encoder.blocks." + std::to_string(i);
    attention(c + "/self_attention", wn + ".attn", false);
    ln(c + "/self_attention/layer_norm", wn + ".attn_ln");
    ffn(c + "/ffn", wn);
  }
  ln("encoder/layer_norm", "encoder.ln_post");
  w.Alias("decoder/projection/weight", "decoder/embeddings/weight");
  return w.Bytes();
}

// The same with the random weights of (hp, seed).
inline std::vector<uint8_t> BuildCt2Model(const HParams& hp, uint64_t seed, Ct2Mode mode) {
  return BuildCt2Model(hp, [&](const std::string& n) { return RandomValues(hp, n, seed); }, mode);
}

// vocabulary.txt lines: 50256 ordinary tokens (English, n_vocab 51864) or 50257 (multilingual) in
// GPT-2's byte alphabet (the 256 single bytes, then distinct made-up triples), then the specials.
inline std::string SyntheticVocabularyTxt(int n_vocab) {
  auto spell = [](int b) {  // bytes_to_unicode for one byte, as UTF-8
    static int map[256];
    static bool init = false;
    if (!init) {
      int n = 0;
      for (int x = 0; x < 256; ++x) {
        const bool printable = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
        map[x] = printable ? x : 256 + n++;
      }
      init = true;
    }
    const int cp = map[b];
    std::string s;
    if (cp < 0x80) {
      s.push_back(static_cast<char>(cp));
    } else {
      s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    return s;
  };
  std::string out;
  int count = 0;
  for (int b = 0; b < 256; ++b, ++count) out += spell(b) + "\n";
  const int n_ordinary = n_vocab >= 51865 ? 50257 : 50256;
  for (int i = 0; count < n_ordinary; ++i, ++count) out += spell('a' + i % 26) + spell('a' + (i / 26) % 26) + spell('a' + i / 676) + "\n";
  out += "<|endoftext|>\n";
  for (int i = n_ordinary + 1; i < n_vocab; ++i) out += "<|special" + std::to_string(i) + "|>\n";
  return out;
}

}  // namespace wisp::ct2_test
