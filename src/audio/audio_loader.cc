#include "audio/audio_loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "audio/ffmpeg_decoder.h"
#include "audio/mel_filters.h"
#include "audio/wav.h"
#include "util/mapped_file.h"

namespace wisp {

// Standard input copied to an unlinked-on-destruction temporary file, so that it can then be
// treated exactly like a named file (mapped if WAV, opened by ffmpeg otherwise) without holding
// a possibly hour-long recording in memory.
class StdinSpool {
 public:
  ~StdinSpool() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

  Status Fill() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/wisp-stdin-XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    const int fd = ::mkstemp(name.data());
    if (fd < 0) return IoError("cannot create a temporary file for stdin in '" + pattern + "': " + std::strerror(errno));
    path_ = name.data();
    std::vector<char> buf(1 << 16);
    Status st;
    while (st.ok()) {
      const ssize_t got = ::read(STDIN_FILENO, buf.data(), buf.size());
      if (got == 0) break;
      if (got < 0) {
        if (errno == EINTR) continue;
        st = IoError(std::string("cannot read stdin: ") + std::strerror(errno));
        break;
      }
      for (ssize_t written = 0; written < got && st.ok();) {
        const ssize_t w = ::write(fd, buf.data() + written, static_cast<size_t>(got - written));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) st = IoError("cannot spool stdin to '" + path_ + "': " + std::strerror(errno));
        else written += w;
      }
    }
    ::close(fd);
    return st;
  }

 private:
  std::string path_;
};

namespace {

// WAV frames converted per step: bounds the float scratch (~256 KB) whatever the file size.
constexpr size_t kWavBlockFrames = 1 << 16;

Status DecodeWavBlocks(const uint8_t* data, size_t size, const SampleSink& sink, const AudioLoadOptions& options,
                       bool file_mapping);

Status DecodeFile(const std::string& path, const std::string& display_name, const SampleSink& sink,
                  const AudioLoadOptions& options) {
  WISP_RETURN_IF_ERROR(CheckMaxDuration(0, options.max_duration_seconds));
  Result<std::unique_ptr<MappedFile>> file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  const uint8_t* data = (*file)->data();
  const size_t size = (*file)->size();
  if (size == 0) return BadInput("audio file '" + display_name + "' is empty");

  if (LooksLikeWav(data, size)) {
    // Warnings name the file as errors do.
    AudioLoadOptions named = options;
    named.on_warning = [&](const std::string& m) { EmitAudioWarning(options, "'" + display_name + "': " + m); };
    Status st = DecodeWavBlocks(data, size, sink, named, /*file_mapping=*/true);
    if (st.ok()) return st;
    // Only a codec the built-in reader lacks (ADPCM, mu-law, ...) goes to ffmpeg: every other
    // error is BadInput (wav.h), and a malformed WAV handed on would be decoded as something
    // else and transcribed as invented text.
    if (st.kind() != ErrorKind::kUnsupported || !FfmpegAvailable())
      return Status(st.kind(), "'" + display_name + "': " + st.message());
  } else if (!FfmpegAvailable()) {
    return Unsupported("'" + display_name + "': unsupported audio format (not WAV) and wisp was built without ffmpeg");
  }
  file->reset();  // unmap before handing the path to ffmpeg
  Status st = DecodeWithFfmpeg(path, sink, options.max_duration_seconds, options.cancel);
  if (st.ok()) return st;
  // Errors from the stdin spool should name stdin, not the temporary file.
  std::string message = st.message();
  if (path != display_name) {
    for (size_t at = message.find(path); at != std::string::npos; at = message.find(path))
      message.replace(at, path.size(), display_name);
  }
  // Every message names the file (some of ffmpeg's, e.g. a bad sample, cannot know it).
  if (message.find(display_name) == std::string::npos) message = "'" + display_name + "': " + message;
  return Status(st.kind(), message);
}

}  // namespace

Status DecodeWavTo16k(const uint8_t* data, size_t size, const SampleSink& sink, const AudioLoadOptions& options) {
  return DecodeWavBlocks(data, size, sink, options, /*file_mapping=*/false);
}

namespace {

// file_mapping: data is a read-only file mapping whose decoded pages are dropped block by block,
// so that an hour-long WAV never becomes resident (a heap buffer must not be released).
Status DecodeWavBlocks(const uint8_t* data, size_t size, const SampleSink& sink, const AudioLoadOptions& options,
                       bool file_mapping) {
  Result<WavLayout> layout = ParseWavLayout(data, size);
  if (!layout.ok()) return layout.status();
  // The output length is known from the header: refuse an over-long file before the resampler,
  // the block or the caller's spectrogram allocate anything for it.
  WISP_RETURN_IF_ERROR(CheckMaxDuration(ResampledLength(layout->frames, layout->sample_rate),
                                        options.max_duration_seconds));
  if (layout->truncated) {
    const uint64_t frame_bytes = static_cast<uint64_t>(layout->channels) * layout->bytes_per_sample;
    char buf[256];
    if (layout->data_bytes_claimed > layout->data_bytes_present) {
      std::snprintf(buf, sizeof buf,
                    "truncated WAV: the data chunk claims %llu bytes but the file holds %llu; decoding the %.2f s present",
                    static_cast<unsigned long long>(layout->data_bytes_claimed),
                    static_cast<unsigned long long>(layout->data_bytes_present),
                    static_cast<double>(layout->frames) / layout->sample_rate);
    } else {
      std::snprintf(buf, sizeof buf, "truncated WAV: the last %llu bytes of the data chunk are not a whole %llu-byte frame; ignored",
                    static_cast<unsigned long long>(layout->data_bytes_present % frame_bytes),
                    static_cast<unsigned long long>(frame_bytes));
    }
    EmitAudioWarning(options, buf);
  }
  Result<std::unique_ptr<Resampler>> resampler = Resampler::Create(layout->sample_rate);
  if (!resampler.ok()) return resampler.status();
  std::vector<float> block(static_cast<size_t>(std::min<uint64_t>(layout->frames, kWavBlockFrames)));
  for (uint64_t first = 0; first < layout->frames; first += block.size()) {
    const size_t count = static_cast<size_t>(std::min<uint64_t>(block.size(), layout->frames - first));
    if (options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed)) {
      return Cancelled("audio decoding cancelled");
    }
    WISP_RETURN_IF_ERROR(DecodeWavFrames(*layout, data, first, count, block.data()));
    WISP_RETURN_IF_ERROR((*resampler)->Push(block.data(), count, sink));
    if (file_mapping) {
      const size_t frame_bytes = static_cast<size_t>(layout->channels) * layout->bytes_per_sample;
      ReleaseMappedRange(data + layout->data_offset + first * frame_bytes, count * frame_bytes);
    }
  }
  return (*resampler)->Finish(sink);
}

}  // namespace

ReplayableAudio::ReplayableAudio() = default;
ReplayableAudio::~ReplayableAudio() = default;

Result<std::unique_ptr<ReplayableAudio>> ReplayableAudio::Open(const std::string& path) {
  std::unique_ptr<ReplayableAudio> audio(new ReplayableAudio());
  if (path != "-") {
    audio->path_ = audio->display_name_ = path;
    return audio;
  }
  audio->spool_ = std::make_unique<StdinSpool>();
  WISP_RETURN_IF_ERROR(audio->spool_->Fill());
  audio->path_ = audio->spool_->path();
  audio->display_name_ = "<stdin>";
  return audio;
}

Status ReplayableAudio::Decode(const SampleSink& sink, const AudioLoadOptions& options) const {
  return DecodeFile(path_, display_name_, sink, options);
}

Status DecodeAudio(const std::string& path, const SampleSink& sink, const AudioLoadOptions& options) {
  Result<std::unique_ptr<ReplayableAudio>> audio = ReplayableAudio::Open(path);
  if (!audio.ok()) return audio.status();
  return (*audio)->Decode(sink, options);
}

Result<std::vector<float>> LoadAudio16k(const std::string& path, const AudioLoadOptions& options) {
  std::vector<float> samples;
  Status st = DecodeAudio(path, [&](const float* p, size_t n) { samples.insert(samples.end(), p, p + n); }, options);
  if (!st.ok()) return st;
  return samples;
}

const float* FiltersOrSlaney(const float* filters, int n_mels, std::vector<float>* storage) {
  if (filters != nullptr) return filters;
  *storage = SlaneyMelFilterbank(kSampleRate, kNFft, n_mels);
  return storage->data();
}

Result<LogMelSpectrogram> ComputeLogMel(const std::function<Status(const SampleSink&)>& decode, const float* filters,
                                        int n_mels) {
  if (n_mels <= 0) return InvalidArgument("n_mels must be positive, got " + std::to_string(n_mels));
  std::vector<float> computed;
  filters = FiltersOrSlaney(filters, n_mels, &computed);
  LogMelBuilder builder(filters, n_mels);
  Status st = decode([&](const float* p, size_t n) { builder.Push(p, n); });
  if (!st.ok()) return st;
  return builder.Finish();
}

Result<MelPass> ComputeLogMelOrLevel(const std::function<Status(const SampleSink&)>& decode, const float* filters,
                                     int n_mels, int64_t keep_frames) {
  if (n_mels <= 0) return InvalidArgument("n_mels must be positive, got " + std::to_string(n_mels));
  std::vector<float> computed;
  filters = FiltersOrSlaney(filters, n_mels, &computed);
  LogMelBuilder builder(filters, n_mels);
  bool keep = true;
  Status st = decode([&](const float* p, size_t n) {
    builder.Push(p, n);
    if (keep && builder.spectrogram().total_frames() > keep_frames) {
      keep = false;
      builder.ScanOnly();
    }
  });
  if (!st.ok()) return st;
  builder.End();
  // The padding's frames count too: the spectrogram transcribe() scales is the padded one.
  if (builder.spectrogram().total_frames() > keep_frames) keep = false;
  MelPass pass;
  pass.level = MelLevel{builder.spectrogram().level(), builder.samples_pushed()};
  if (keep) pass.mel = builder.Finish();
  return pass;
}

Result<LogMelSpectrogram> ComputeLogMelFromFile(const std::string& path, const float* filters, int n_mels,
                                                const AudioLoadOptions& options) {
  return ComputeLogMel([&](const SampleSink& sink) { return DecodeAudio(path, sink, options); }, filters, n_mels);
}

}  // namespace wisp
