#include "model/ggml_convert.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "model/bind_weights.h"
#include "model/ggml_writer.h"

namespace wisp {
namespace {

constexpr int kFilterBins = 201;  // n_fft / 2 + 1 for Whisper's 400-point FFT

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// The readers validate their containers, but SourceTensorToF32 trusts shape and byte count, so
// they are checked here once more before any tensor is read (a wrong count would read past it).
Status CheckSource(const SourceTensor& t, const WhisperTensorSpec& spec) {
  const std::string name = "tensor '" + spec.name + "'";
  if (t.shape != spec.shape) {
    return BadInput(name + " has shape " + ShapeString(t.shape) + " but the model's dimensions require " +
                    ShapeString(spec.shape));
  }
  int64_t need = 0;
  if (t.dtype == TensorDType::kGgml) {
    if (!IsSupportedGgmlType(static_cast<int32_t>(t.ggml_type)) ||
        spec.shape.back() % GgmlBlockElements(t.ggml_type) != 0) {
      return BadInput(name + " is " + GgmlTypeName(static_cast<int32_t>(t.ggml_type)) +
                      " but its rows are not whole blocks");
    }
    need = GgmlTensorBytes(t.ggml_type, t.numel());
  } else {
    need = TensorDTypeBytes(t.dtype, t.numel());
  }
  if (t.data == nullptr || t.bytes != static_cast<size_t>(need)) {
    return BadInput(name + " holds " + std::to_string(t.bytes) + " bytes but " + ShapeString(t.shape) + " in " +
                    TensorDTypeName(t.dtype) + " takes " + std::to_string(need));
  }
  if (t.dtype == TensorDType::kI8Rows && t.scales == nullptr) return BadInput(name + " is int8 without its scales");
  return Status::Ok();
}

void AppendI32(int32_t v, std::vector<uint8_t>* out) {
  uint8_t b[4];
  std::memcpy(b, &v, 4);
  out->insert(out->end(), b, b + 4);
}

// A tensor header exactly as AppendGgmlTensor writes it, for the byte-copy path.
void AppendTensorHeader(const GgmlTensorSpec& spec, GgmlType type, std::vector<uint8_t>* out) {
  AppendI32(spec.n_dims, out);
  AppendI32(static_cast<int32_t>(spec.name.size()), out);
  AppendI32(static_cast<int32_t>(type), out);
  for (int i = 0; i < spec.n_dims; ++i) AppendI32(static_cast<int32_t>(spec.ne[i]), out);
  out->insert(out->end(), spec.name.begin(), spec.name.end());
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) != nullptr ? std::string(buf) : std::string();
}

}  // namespace

Result<GgmlHeader> ConvertedGgmlHeader(const TensorTable& table, const GgmlConvertOptions& options) {
  GgmlHeader h;
  h.hparams = table.hparams;
  h.hparams.ftype = GgmlFileTypeFor(options.type);
  if (h.hparams.ftype < 0) {
    return InvalidArgument("unsupported output type " + GgmlTypeName(static_cast<int32_t>(options.type)));
  }
  h.quant_version = IsQuantizedGgmlType(options.type) ? kGgmlQuantVersion : 0;
  WISP_RETURN_IF_ERROR(ValidateHParams(h.hparams));

  h.mel_filters = table.mel_filters.data.empty() ? options.mel_filters : table.mel_filters;
  const MelFilters& f = h.mel_filters;
  if (f.data.empty()) return InvalidArgument("no mel filters: the checkpoint holds none and none were given");
  if (f.n_mels != h.hparams.n_mels || f.n_fft != kFilterBins ||
      f.data.size() != static_cast<size_t>(f.n_mels) * kFilterBins) {
    return InvalidArgument("mel filters of " + std::to_string(f.n_mels) + " x " + std::to_string(f.n_fft) + " (" +
                           std::to_string(f.data.size()) + " values) do not fit the model: expected " +
                           std::to_string(h.hparams.n_mels) + " x 201");
  }

  if (!options.vocab.empty()) {
    h.vocab = options.vocab;
  } else if (!table.metadata.ggml_vocab.empty()) {
    h.vocab = table.metadata.ggml_vocab;  // whisper.cpp's own bytes, lost tokens and all, as-is
  } else {
    h.vocab = table.metadata.ordinary_tokens;
  }
  if (h.vocab.empty()) {
    return InvalidArgument("no vocabulary: the checkpoint holds none (as an OpenAI .pt checkpoint) and no "
                           "tiktoken ranks were given");
  }
  // whisper.cpp appends the special tokens itself up to n_vocab; more entries than that would be
  // refused by its loader (and ours).
  if (h.vocab.size() > static_cast<size_t>(h.hparams.n_vocab)) {
    return InvalidArgument("vocabulary of " + std::to_string(h.vocab.size()) + " tokens exceeds n_vocab = " +
                           std::to_string(h.hparams.n_vocab));
  }
  return h;
}

Status StreamGgmlModel(const TensorTable& table, const GgmlConvertOptions& options, const GgmlByteSink& sink) {
  Result<GgmlHeader> header = ConvertedGgmlHeader(table, options);
  if (!header.ok()) return header.status();

  const std::vector<WhisperTensorSpec> shapes = WhisperTensorSpecsFor(table.hparams);
  const std::vector<GgmlTensorSpec> specs = WhisperTensorSpecs(table.hparams);
  // Check every tensor before writing anything, so a bad checkpoint fails in a moment, not after
  // minutes of quantizing.
  std::vector<const SourceTensor*> sources(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const int at = table.Find(specs[i].name);
    if (at < 0) return BadInput("the checkpoint has no tensor '" + specs[i].name + "'");
    sources[i] = &table.tensors[static_cast<size_t>(at)];
    WISP_RETURN_IF_ERROR(CheckSource(*sources[i], shapes[i]));
  }
  std::vector<uint8_t> bytes;
  AppendGgmlHeader(*header, &bytes);
  WISP_RETURN_IF_ERROR(sink(bytes.data(), bytes.size()));

  std::vector<float> values;
  for (size_t i = 0; i < specs.size(); ++i) {
    const GgmlTensorSpec& spec = specs[i];
    const SourceTensor& src = *sources[i];
    const GgmlType type = StoredGgmlType(spec, options.type);
    bytes.clear();
    if (src.dtype == TensorDType::kGgml && src.ggml_type == type) {
      // Already in the target type: copying is exact, where dequantize + requantize could move
      // a block's scale by one f16 step.
      AppendTensorHeader(spec, type, &bytes);
      bytes.insert(bytes.end(), src.data, src.data + src.bytes);
    } else {
      // One f32 copy at a time, released before the next tensor (the token embedding of
      // large-v3 alone is 265 MB as f32).
      values.resize(static_cast<size_t>(spec.numel()));
      SourceTensorToF32(src, values.data());
      AppendGgmlTensor(spec.name, spec.n_dims, spec.ne.data(), type, values.data(), &bytes);
      std::vector<float>().swap(values);
    }
    WISP_RETURN_IF_ERROR(sink(bytes.data(), bytes.size()));
    std::vector<uint8_t>().swap(bytes);
  }
  return Status::Ok();
}

Result<std::vector<uint8_t>> ConvertToGgmlBytes(const TensorTable& table, const GgmlConvertOptions& options) {
  std::vector<uint8_t> out;
  WISP_RETURN_IF_ERROR(StreamGgmlModel(table, options, [&](const uint8_t* p, size_t n) {
    out.insert(out.end(), p, p + n);
    return Status::Ok();
  }));
  return out;
}

Status CheckOutputIsNotInput(const std::string& input_path, const std::string& output_path) {
  struct stat in_st, out_st;
  if (::stat(output_path.c_str(), &out_st) != 0) return Status::Ok();  // nothing there to overwrite
  if (::stat(input_path.c_str(), &in_st) != 0) return Status::Ok();   // the read will report it
  if (in_st.st_dev == out_st.st_dev && in_st.st_ino == out_st.st_ino) {
    return InvalidArgument("output '" + output_path + "' is the input checkpoint: write the converted model to "
                           "another path");
  }
  if (S_ISDIR(in_st.st_mode) && !S_ISDIR(out_st.st_mode)) {
    const std::string in_dir = RealPath(input_path), out_dir = RealPath(DirectoryOf(output_path));
    if (!in_dir.empty() && in_dir == out_dir) {
      return InvalidArgument("output '" + output_path + "' would replace a file of the input checkpoint '" +
                             input_path + "': write the converted model to another path");
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<AtomicFileWriter>> AtomicFileWriter::Create(const std::string& path) {
  const std::string dir = DirectoryOf(path);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return NotFound("output directory '" + dir + "' does not exist");
  if (!S_ISDIR(st.st_mode)) return BadInput("output directory '" + dir + "' is not a directory");
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return BadInput("output '" + path + "' is a directory: give the file name to write");
  }
  // O_EXCL: never truncate a file someone else is writing; a leftover of a crashed run with the
  // same pid only moves us to the next suffix. Mode 0666 lets the umask decide, as for any file.
  const std::string base = path + ".tmp-" + std::to_string(::getpid());
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string temp = attempt == 0 ? base : base + "-" + std::to_string(attempt);
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return std::unique_ptr<AtomicFileWriter>(new AtomicFileWriter(path, temp, fd));
    if (errno != EEXIST) {
      return IoError("cannot create a file in the output directory '" + dir + "': " + std::strerror(errno));
    }
  }
  return IoError("cannot create a temporary file beside '" + path + "': " + base + "-* all exist");
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

Status AtomicFileWriter::Write(const uint8_t* data, size_t n) {
  if (fd_ < 0) return IoError("'" + temp_path_ + "' is already closed");
  while (n > 0) {
    const ssize_t w = ::write(fd_, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      return IoError("cannot write '" + temp_path_ + "' after " + std::to_string(bytes_written_) +
                     " bytes: " + std::strerror(errno));
    }
    data += w;
    n -= static_cast<size_t>(w);
    bytes_written_ += static_cast<uint64_t>(w);
  }
  return Status::Ok();
}

Status AtomicFileWriter::Commit() {
  if (fd_ < 0) return IoError("'" + temp_path_ + "' is already closed");
  // On disk before the rename: a crash right after it must not leave an empty or partial model
  // under the final name.
  if (::fsync(fd_) != 0) return IoError("cannot flush '" + temp_path_ + "': " + std::strerror(errno));
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return IoError("cannot finish writing '" + temp_path_ + "': " + std::strerror(errno));
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return IoError("cannot rename '" + temp_path_ + "' to '" + path_ + "': " + std::strerror(errno));
  }
  committed_ = true;
  return Status::Ok();
}

}  // namespace wisp
