// make_random_model: writes a complete whisper.cpp-format ggml model with deterministic random
// weights, for tests and benchmarks that need a real-shaped model but no real one.
//
//   make_random_model --header for-tests-ggml-tiny.en.bin --out tiny.en-random-f16.bin
//                     --seed 1 --type f16 [--n-layers 1] [--n-mels 128] [--n-vocab 51866]
//
// The hparams, mel filters and vocab are copied from --header (any ggml whisper file; whisper.cpp's
// header-only for-tests-ggml-{tiny,tiny.en,base,base.en}.bin are meant for this). --type is the
// type of the big matrices, with whisper.cpp's conventions for the rest: positional embeddings,
// conv biases and 1-D tensors stay f32, conv weights are f16 unless --type f32, and 2-D matrices
// take --type. --n-layers overrides both layer counts to make small, fast test models. --n-mels
// (with librosa's Slaney filterbank of that size, what whisper's mel_filters.npz holds) and
// --n-vocab give shapes no header file has: --n-mels 128 --n-vocab 51866 is large-v3's front end
// and vocabulary (100 languages, <|yue|>) on the header's widths.
//
// Weights (see RandomTensorValues in src/model/ggml_writer.h for the exact scales): encoder
// positional = Whisper's real sinusoids; LayerNorm gamma 1 + 0.1 N, beta 0.1 N; weights
// N / sqrt(fan_in), with the residual-writing projections scaled down by sqrt(sublayers * layers);
// biases 0.02 N; token embedding (2 / sqrt(n_text_state)) N so logits spread by ~2 units;
// decoder positional 0.5 N (greedy decodes then emit varied text and timestamp pairs). The same
// arguments give the same bytes on any machine.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "audio/mel.h"
#include "audio/mel_filters.h"
#include "model/ggml_writer.h"

namespace {

int Usage(const char* error) {
  if (error != nullptr) std::fprintf(stderr, "make_random_model: %s\n", error);
  std::fprintf(stderr,
               "usage: make_random_model --header FILE --out FILE [--seed N] "
               "[--type f32|f16|q8_0|q5_0|q5_1|q4_0|q4_1] [--n-layers K] [--n-mels 80|128] [--n-vocab N]\n");
  return 2;
}

bool ParseInteger(const std::string& text, long long min, long long max, long long* value) {
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < min || v > max) return false;
  *value = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string header_path, out_path;
  wisp::RandomModelOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return Usage(nullptr);
    if (i + 1 >= argc) return Usage(("missing value after " + arg).c_str());
    const std::string value = argv[++i];
    long long number = 0;
    if (arg == "--header") {
      header_path = value;
    } else if (arg == "--out") {
      out_path = value;
    } else if (arg == "--seed") {
      // Seeds are printed and passed around as decimal; negative seeds are a typo, not a feature.
      if (!ParseInteger(value, 0, (1ll << 62), &number)) return Usage("--seed needs a non-negative integer");
      options.seed = static_cast<uint64_t>(number);
    } else if (arg == "--type") {
      auto type = wisp::ParseGgmlTypeName(value);
      if (!type.ok()) return Usage(type.status().message().c_str());
      options.type = *type;
    } else if (arg == "--n-layers") {
      if (!ParseInteger(value, 1, 64, &number)) return Usage("--n-layers needs an integer in 1..64");
      options.n_layers = static_cast<int>(number);
    } else if (arg == "--n-mels") {
      if (!ParseInteger(value, 1, 512, &number)) return Usage("--n-mels needs an integer in 1..512");
      const int n_mels = static_cast<int>(number);
      options.mel_filters = {n_mels, wisp::kNFft / 2 + 1,
                             wisp::SlaneyMelFilterbank(wisp::kSampleRate, wisp::kNFft, n_mels)};
    } else if (arg == "--n-vocab") {
      if (!ParseInteger(value, 1, 1 << 20, &number)) return Usage("--n-vocab needs an integer in 1..1048576");
      options.n_vocab = static_cast<int>(number);
    } else {
      return Usage(("unknown option " + arg).c_str());
    }
  }
  if (header_path.empty() || out_path.empty()) return Usage("--header and --out are required");

  const auto start = std::chrono::steady_clock::now();
  const wisp::Status st = wisp::WriteRandomGgmlModel(header_path, out_path, options);
  if (!st.ok()) {
    std::fprintf(stderr, "make_random_model: %s\n", st.message().c_str());
    return 1;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("wrote %s (type %s, seed %llu) in %.2f s\n", out_path.c_str(),
              wisp::GgmlTypeName(static_cast<int32_t>(options.type)).c_str(),
              static_cast<unsigned long long>(options.seed), seconds);
  return 0;
}
