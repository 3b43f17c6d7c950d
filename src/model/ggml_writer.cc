// Compiled with -ffp-contract=off (loader.cmake): every value is a plain IEEE multiply/add, so a
// fused multiply-add on some target cannot change the bytes of a generated model.
#include "model/ggml_writer.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>

namespace wisp {
namespace {

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t Fnv1a64(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// Irwin-Hall: 12 uniforms of 16 bits each (3 draws) sum exactly in double, so the result is
// bit-identical everywhere; Box-Muller would depend on the platform's log/sin/cos.
double StandardNormal(uint64_t* state) {
  double sum = 0.0;
  for (int draw = 0; draw < 3; ++draw) {
    const uint64_t u = SplitMix64(state);
    for (int j = 0; j < 4; ++j) sum += static_cast<double>((u >> (16 * j)) & 0xffff) + 0.5;
  }
  return sum / 65536.0 - 6.0;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

bool IsLayerNorm(const std::string& name) {
  return Contains(name, "_ln.") || Contains(name, "ln_post.") || name.rfind("decoder.ln.", 0) == 0;
}

// openai-whisper's sinusoids(length, channels): [sin(t * inv_timescale), cos(t * inv_timescale)].
std::vector<float> Sinusoids(int64_t length, int64_t channels) {
  std::vector<float> out(static_cast<size_t>(length * channels));
  const int64_t half = channels / 2;
  const double log_increment = std::log(10000.0) / static_cast<double>(half > 1 ? half - 1 : 1);
  for (int64_t i = 0; i < half; ++i) {
    const double inv_timescale = std::exp(-log_increment * static_cast<double>(i));
    for (int64_t t = 0; t < length; ++t) {
      const double x = static_cast<double>(t) * inv_timescale;
      out[t * channels + i] = static_cast<float>(std::sin(x));
      out[t * channels + half + i] = static_cast<float>(std::cos(x));
    }
  }
  return out;
}

void AppendI32(int32_t v, std::vector<uint8_t>* out) {
  uint8_t b[4];
  std::memcpy(b, &v, 4);
  out->insert(out->end(), b, b + 4);
}

using ByteSink = std::function<Status(const std::vector<uint8_t>&)>;

Status EmitModel(const GgmlHeader& header, const RandomModelOptions& options, const ByteSink& sink) {
  if (options.n_layers < 0 || options.n_layers > 64) {
    return InvalidArgument("n_layers = " + std::to_string(options.n_layers) + " out of range 0..64");
  }
  const GgmlHeader h = RandomModelHeader(header, options);
  WISP_RETURN_IF_ERROR(ValidateHParams(h.hparams));
  std::vector<uint8_t> bytes;
  AppendGgmlHeader(h, &bytes);
  WISP_RETURN_IF_ERROR(sink(bytes));
  for (const GgmlTensorSpec& spec : WhisperTensorSpecs(h.hparams)) {
    const std::vector<float> values = RandomTensorValues(spec, h.hparams, options.seed);
    bytes.clear();
    AppendGgmlTensor(spec.name, spec.n_dims, spec.ne.data(), StoredGgmlType(spec, options.type), values.data(),
                     &bytes);
    WISP_RETURN_IF_ERROR(sink(bytes));
  }
  return Status::Ok();
}

}  // namespace

GgmlType StoredGgmlType(const GgmlTensorSpec& spec, GgmlType file_type) {
  if (file_type == GgmlType::kF32) return GgmlType::kF32;
  const std::string& n = spec.name;
  if (spec.n_dims < 2 || EndsWith(n, "positional_embedding") || n == "encoder.conv1.bias" ||
      n == "encoder.conv2.bias") {
    return GgmlType::kF32;
  }
  if (spec.n_dims == 3) return GgmlType::kF16;
  if (IsQuantizedGgmlType(file_type) && spec.ne[0] % kGgmlQuantBlock != 0) return GgmlType::kF16;
  return file_type;
}

namespace {

// Added along the eot token's embedding row to decoder.ln.bias (see RandomTensorValues).
constexpr double kEotBias = 1.25;

// Each tensor's stream: seeded from (seed, name), one warm-up draw to decorrelate nearby seeds.
uint64_t TensorStream(const std::string& name, uint64_t seed) {
  uint64_t state = seed ^ Fnv1a64(name);
  SplitMix64(&state);
  return state;
}

double TokenEmbeddingStddev(const HParams& hp) { return 2.0 / std::sqrt(static_cast<double>(hp.n_text_state)); }

// Row `token` of decoder.token_embedding.weight exactly as RandomTensorValues draws it (f32, before
// any f16/q8_0 rounding of the file). SplitMix64 only adds a constant to its state per draw and a
// normal takes 3 draws, so the stream jumps straight to the row.
std::vector<double> TokenEmbeddingRow(const HParams& hp, uint64_t seed, int64_t token) {
  uint64_t state = TensorStream("decoder.token_embedding.weight", seed);
  state += 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(3 * token * hp.n_text_state);
  const double stddev = TokenEmbeddingStddev(hp);
  std::vector<double> row(static_cast<size_t>(hp.n_text_state));
  for (double& v : row) v = static_cast<float>(0.0 + stddev * StandardNormal(&state));
  return row;
}

}  // namespace

std::vector<float> RandomTensorValues(const GgmlTensorSpec& spec, const HParams& hp, uint64_t seed) {
  const std::string& name = spec.name;
  if (name == "encoder.positional_embedding") return Sinusoids(spec.ne[1], spec.ne[0]);

  uint64_t state = TensorStream(name, seed);
  double mean = 0.0, stddev = 0.02;
  if (name == "decoder.positional_embedding") {
    stddev = 0.5;
  } else if (name == "decoder.token_embedding.weight") {
    stddev = TokenEmbeddingStddev(hp);
  } else if (IsLayerNorm(name)) {
    mean = EndsWith(name, ".weight") ? 1.0 : 0.0;
    stddev = 0.1;
  } else if (EndsWith(name, ".weight")) {  // conv (ne = [3, in, out]) or linear (ne = [in, out])
    const double fan_in = spec.n_dims == 3 ? static_cast<double>(spec.ne[0] * spec.ne[1])
                                           : static_cast<double>(spec.ne[0]);
    stddev = 1.0 / std::sqrt(fan_in);
    if (EndsWith(name, "attn.out.weight") || EndsWith(name, "mlp.2.weight")) {
      const bool encoder = name.rfind("encoder.", 0) == 0;
      const double sublayers = encoder ? 2.0 * hp.n_audio_layer : 3.0 * hp.n_text_layer;
      stddev /= std::sqrt(sublayers);
    }
  }
  std::vector<float> out(static_cast<size_t>(spec.numel()));
  if (name == "decoder.ln.bias") {
    // logit_eot = ln(x) . E_eot gains kEotBias |E_eot|^2 (~5) at every step: decodes stop at eot
    // after tens of tokens instead of running to sample_len (see ggml_writer.h).
    const int64_t eot = hp.n_vocab >= 51865 ? 50257 : 50256;  // multilingual vs .en vocabulary
    const std::vector<double> eot_row = TokenEmbeddingRow(hp, seed, eot);
    for (size_t i = 0; i < out.size(); ++i) {
      out[i] = static_cast<float>(mean + stddev * StandardNormal(&state) + kEotBias * eot_row[i]);
    }
    return out;
  }
  for (float& v : out) v = static_cast<float>(mean + stddev * StandardNormal(&state));
  return out;
}

void AppendGgmlHeader(const GgmlHeader& header, std::vector<uint8_t>* out) {
  const HParams& hp = header.hparams;
  AppendI32(0x67676d6c, out);
  for (int32_t v : {hp.n_vocab, hp.n_audio_ctx, hp.n_audio_state, hp.n_audio_head, hp.n_audio_layer, hp.n_text_ctx,
                    hp.n_text_state, hp.n_text_head, hp.n_text_layer, hp.n_mels}) {
    AppendI32(v, out);
  }
  AppendI32(header.quant_version * kGgmlQuantVersionFactor + hp.ftype, out);
  const MelFilters& f = header.mel_filters;
  AppendI32(f.n_mels, out);
  AppendI32(f.n_fft, out);
  const uint8_t* fb = reinterpret_cast<const uint8_t*>(f.data.data());
  out->insert(out->end(), fb, fb + f.data.size() * sizeof(float));
  AppendI32(static_cast<int32_t>(header.vocab.size()), out);
  for (const std::string& token : header.vocab) {
    AppendI32(static_cast<int32_t>(token.size()), out);
    out->insert(out->end(), token.begin(), token.end());
  }
}

void AppendGgmlTensor(const std::string& name, int n_dims, const int64_t* ne, GgmlType type, const float* values,
                      std::vector<uint8_t>* out) {
  int64_t n = 1;
  for (int i = 0; i < n_dims; ++i) n *= ne[i];
  AppendI32(n_dims, out);
  AppendI32(static_cast<int32_t>(name.size()), out);
  AppendI32(static_cast<int32_t>(type), out);
  for (int i = 0; i < n_dims; ++i) AppendI32(static_cast<int32_t>(ne[i]), out);
  out->insert(out->end(), name.begin(), name.end());
  const size_t at = out->size();
  out->resize(at + static_cast<size_t>(GgmlTensorBytes(type, n)));
  QuantizeRow(type, values, out->data() + at, n);
}

GgmlHeader RandomModelHeader(const GgmlHeader& header, const RandomModelOptions& options) {
  GgmlHeader h = header;
  h.hparams.ftype = GgmlFileTypeFor(options.type);
  // whisper.cpp's quantizer stamps the quantization version only into quantized files.
  h.quant_version = IsQuantizedGgmlType(options.type) ? kGgmlQuantVersion : 0;
  if (options.n_layers > 0) {
    h.hparams.n_audio_layer = options.n_layers;
    h.hparams.n_text_layer = options.n_layers;
  }
  if (options.n_vocab > 0) h.hparams.n_vocab = options.n_vocab;
  if (!options.mel_filters.data.empty()) {
    h.mel_filters = options.mel_filters;
    h.hparams.n_mels = options.mel_filters.n_mels;
  }
  return h;
}

Result<std::vector<uint8_t>> BuildRandomGgmlModel(const GgmlHeader& header, const RandomModelOptions& options) {
  std::vector<uint8_t> model;
  WISP_RETURN_IF_ERROR(EmitModel(header, options, [&](const std::vector<uint8_t>& bytes) {
    model.insert(model.end(), bytes.begin(), bytes.end());
    return Status::Ok();
  }));
  return model;
}

Status WriteRandomGgmlModel(const std::string& header_path, const std::string& out_path,
                            const RandomModelOptions& options) {
  Result<GgmlHeader> header = ReadGgmlHeader(header_path);
  if (!header.ok()) return header.status();
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(out_path.c_str(), "wb"), &std::fclose);
  if (!file) return IoError("cannot create '" + out_path + "'");
  WISP_RETURN_IF_ERROR(EmitModel(*header, options, [&](const std::vector<uint8_t>& bytes) {
    if (std::fwrite(bytes.data(), 1, bytes.size(), file.get()) != bytes.size()) {
      return IoError("cannot write '" + out_path + "'");
    }
    return Status::Ok();
  }));
  if (std::fclose(file.release()) != 0) return IoError("cannot finish writing '" + out_path + "'");
  return Status::Ok();
}

}  // namespace wisp
