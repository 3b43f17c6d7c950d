// wisp convert IN OUT.bin --type TYPE: any checkpoint wisp reads (ggml, CTranslate2, Hugging Face,
// OpenAI .pt) as a whisper.cpp-compatible ggml file, quantized with ggml's own rounding, so a
// quantized model needs neither Python nor whisper.cpp's quantize tool. The conversion itself is
// model/ggml_convert.h; this file finds what the checkpoint lacks (librosa's mel filters, the
// tiktoken ranks for a .pt) and handles the paths.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "api/engine.h"
#include "audio/mel.h"
#include "audio/mel_filters.h"
#include "cli/cli_args.h"
#include "cli/commands.h"
#include "cli/model_download.h"
#include "model/formats/checkpoint_reader.h"
#include "model/ggml_convert.h"
#include "pipeline/tokenizer.h"

namespace wisp {
namespace {

constexpr const char* kCommand = "wisp convert";

const std::vector<OptionSpec>& ConvertOptionSpecs() {
  static const std::vector<OptionSpec> specs = {
      {"type", 0, "TYPE", "f32, f16 (default), q8_0, q5_0, q5_1, q4_0 or q4_1: the type of the big matrices"},
      {"tokenizer-file", 0, "PATH", "tiktoken ranks whose bytes become the file's vocabulary (needed for an "
                                    "OpenAI .pt when no gpt2.tiktoken / multilingual.tiktoken is found next "
                                    "to it, in $WISP_ASSETS or in the model cache)"},
  };
  return specs;
}

std::string ConvertHelp() {
  return "usage: wisp convert IN OUT.bin [--type TYPE] [--tokenizer-file PATH]\n"
         "\n"
         "Writes the checkpoint IN (a whisper.cpp ggml file, a CTranslate2 or Hugging Face model\n"
         "directory, or an OpenAI .pt) as a ggml model file OUT that whisper.cpp and wisp load.\n"
         "As whisper.cpp's converter and quantize tool do: 1-D tensors and the positional embeddings\n"
         "stay f32, the conv kernels are f16 (f32 in an f32 file), and every matrix takes TYPE,\n"
         "rounded exactly as ggml's reference quantizers round. A tensor already stored in its\n"
         "target type is copied unchanged. Checkpoints without mel filters get librosa's (as\n"
         "openai-whisper computes them); the vocabulary is the checkpoint's own, or the tiktoken\n"
         "ranks for a .pt. OUT appears only when complete (written as OUT.tmp-PID, then renamed).\n"
         "\n"
         "--type f32 writes whisper.cpp's own f32 layout (f32 conv kernels), which wisp runs but\n"
         "current whisper.cpp's CPU backend does not (ggml_conv_1d needs f16 kernels; whisper.cpp\n"
         "issue #2557): for whisper.cpp, use f16 or a quantized type.\n"
         "\n"
         "options:\n" +
         FormatOptionsHelp(ConvertOptionSpecs()) +
         "\n"
         "examples:\n"
         "  wisp convert ~/models/faster-whisper-tiny.en ggml-tiny.en.bin\n"
         "  wisp convert ggml-base.bin ggml-base-q5_0.bin --type q5_0\n"
         "\n"
         "exit codes: 0 success, 1 usage error, 2 unreadable input or unwritable output\n";
}

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The tiktoken file's ranks as raw bytes, as whisper.cpp's convert-pt-to-ggml.py writes them.
Result<std::vector<std::string>> ReadTiktokenVocab(const std::string& path, const HParams& hparams) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFound("tokenizer file '" + path + "' cannot be opened");
  std::stringstream contents;
  contents << f.rdbuf();
  Result<std::vector<std::string>> ranks = ParseTiktokenRanks(contents.str());
  if (!ranks.ok()) return BadInput("tokenizer file '" + path + "': " + ranks.status().message());
  const size_t want = hparams.multilingual() ? 50257 : 50256;
  if (ranks->size() != want) {
    return BadInput("tokenizer file '" + path + "' holds " + std::to_string(ranks->size()) + " ranks, but this " +
                    (hparams.multilingual() ? "multilingual" : "English-only") + " model needs " +
                    std::to_string(want) + " (" + TiktokenFileNameFor(hparams) + ")");
  }
  return ranks;
}

// The vocabulary to embed: an explicit --tokenizer-file wins (as in `wisp transcribe`); else the
// checkpoint's own (empty result); else, for a checkpoint without one (.pt), the tiktoken file the
// engine would find.
Result<std::vector<std::string>> VocabFor(const std::string& in, const TensorTable& table,
                                          const std::string& tokenizer_file, std::string* source) {
  if (!tokenizer_file.empty()) {
    *source = "tiktoken file " + tokenizer_file;
    return ReadTiktokenVocab(tokenizer_file, table.hparams);
  }
  if (!table.metadata.ggml_vocab.empty()) {
    *source = "the file's own vocab";
    return std::vector<std::string>{};
  }
  if (!table.metadata.ordinary_tokens.empty()) {
    *source = "the checkpoint's vocabulary";
    return std::vector<std::string>{};
  }
  const std::vector<std::string> candidates = TiktokenSearchPaths(in, table.hparams);
  for (const std::string& candidate : candidates) {
    if (IsRegularFile(candidate)) {
      *source = "tiktoken file " + candidate;
      return ReadTiktokenVocab(candidate, table.hparams);
    }
  }
  std::string looked;
  for (const std::string& c : candidates) looked += (looked.empty() ? "" : ", ") + c;
  return NotFound("'" + in + "' holds no vocabulary and no " + TiktokenFileNameFor(table.hparams) +
                  " was found (looked for " + looked + "): pass it with --tokenizer-file PATH (`wisp models "
                  "download` fetches it into the model cache)");
}

}  // namespace

int RunConvertCommand(const std::vector<std::string>& argv) {
  Result<ParsedArgs> args = ParseArgs(argv, ConvertOptionSpecs(), kCommand);
  if (!args.ok()) return ReportError(kCommand, args.status().message(), kExitUsage);
  if (args->Has("help")) {
    std::fputs(ConvertHelp().c_str(), stdout);
    return kExitOk;
  }
  if (args->positional.size() != 2) {
    return ReportError(kCommand, "expected IN and OUT, got " + std::to_string(args->positional.size()) +
                                     " arguments (see `wisp convert --help`)", kExitUsage);
  }
  const std::string in = args->positional[0], out = args->positional[1];
  const std::string type_name = args->Get("type", "f16");
  Result<GgmlType> type = ParseGgmlTypeName(type_name);
  if (!type.ok()) {
    return ReportError(kCommand, "--type: expected f32, f16, q8_0, q5_0, q5_1, q4_0 or q4_1, got '" + type_name + "'",
                       kExitUsage);
  }
  const std::string tokenizer_file = args->Get("tokenizer-file");
  if (!tokenizer_file.empty() && !IsRegularFile(tokenizer_file)) {
    return ReportError(kCommand, "--tokenizer-file: no such file '" + tokenizer_file + "'", kExitUsage);
  }
  if (Status st = CheckOutputIsNotInput(in, out); !st.ok()) return ReportError(kCommand, st.message(), kExitUsage);

  // The output directory is checked (by creating the temporary file) before the input is read,
  // so a typo in OUT costs nothing; the temporary goes away on every early return.
  Result<std::unique_ptr<AtomicFileWriter>> writer = AtomicFileWriter::Create(out);
  if (!writer.ok()) return ReportError(kCommand, writer.status().message(), kExitBadInput);

  const auto start = std::chrono::steady_clock::now();
  Result<TensorTable> table = ReadCheckpoint(in);
  if (!table.ok()) return ReportError(kCommand, table.status().message(), kExitBadInput);

  GgmlConvertOptions options;
  options.type = *type;
  std::string filters_source = "the file's own";
  if (table->mel_filters.data.empty()) {
    const int n_mels = table->hparams.n_mels;
    if (n_mels != 80 && n_mels != 128) {
      return ReportError(kCommand, "'" + in + "': n_mels = " + std::to_string(n_mels) + ", expected 80 or 128",
                         kExitBadInput);
    }
    options.mel_filters = MelFilters{n_mels, kNFft / 2 + 1, SlaneyMelFilterbank(kSampleRate, kNFft, n_mels)};
    filters_source = "librosa's (computed)";
  }
  std::string vocab_source;
  Result<std::vector<std::string>> vocab = VocabFor(in, *table, tokenizer_file, &vocab_source);
  if (!vocab.ok()) return ReportError(kCommand, vocab.status().message(), kExitBadInput);
  options.vocab = std::move(*vocab);

  // One sink call for the header, then one per tensor: enough for a progress line on a terminal
  // (a large-v3 conversion takes a while), nothing when stderr is a file.
  const size_t calls_total = WhisperTensorSpecs(table->hparams).size() + 1;
  const bool tty = isatty(STDERR_FILENO) != 0;
  size_t calls = 0;
  Status st = StreamGgmlModel(*table, options, [&](const uint8_t* data, size_t n) {
    if (tty) std::fprintf(stderr, "\r%s: %zu/%zu tensors", kCommand, calls, calls_total - 1);
    ++calls;
    return (*writer)->Write(data, n);
  });
  if (tty) std::fputs("\r\033[K", stderr);
  if (st.ok()) st = (*writer)->Commit();
  if (!st.ok()) {
    const std::string& m = st.message();
    return ReportError(kCommand, m.find(in) == std::string::npos && m.find(out) == std::string::npos
                                     ? "'" + in + "': " + m : m,
                       kExitBadInput);
  }
  if (*type == GgmlType::kF32) {
    std::fprintf(stderr, "%s: note: f32 files (f32 conv kernels) run in wisp but abort in current whisper.cpp's "
                 "CPU backend (whisper.cpp issue #2557); use f16 or a quantized type for whisper.cpp\n", kCommand);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: ggml %s, %s, from %s checkpoint %s in %.1f s (mel filters: %s; vocabulary: %s)\n", out.c_str(),
              type_name.c_str(), HumanBytes(static_cast<int64_t>((*writer)->bytes_written())).c_str(),
              table->metadata.format.c_str(), in.c_str(), seconds, filters_source.c_str(), vocab_source.c_str());
  return kExitOk;
}

}  // namespace wisp
