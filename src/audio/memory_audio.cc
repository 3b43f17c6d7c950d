#include "audio/memory_audio.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "audio/audio_loader.h"
#include "audio/ffmpeg_decoder.h"
#include "audio/wav.h"

#ifdef WISP_HAVE_FFMPEG
extern "C" {
#include <libavformat/avio.h>
#include <libavutil/error.h>
#include <libavutil/mem.h>
}
#endif

namespace wisp {
namespace {

#ifdef WISP_HAVE_FFMPEG

// The read position over the caller's bytes that ffmpeg's custom I/O callbacks move. Reads fail
// once the deadline has passed, which is how a decode that takes too long is stopped: libav
// checks nothing else between packets.
struct MemoryReader {
  std::span<const uint8_t> data;
  size_t pos = 0;
  std::chrono::steady_clock::time_point deadline;
  bool timed_out = false;

  static int Read(void* opaque, uint8_t* buf, int size) {
    auto* r = static_cast<MemoryReader*>(opaque);
    if (std::chrono::steady_clock::now() >= r->deadline) {
      r->timed_out = true;
      return AVERROR_EXIT;
    }
    const size_t left = r->data.size() - r->pos;
    if (left == 0) return AVERROR_EOF;
    const size_t n = std::min(left, static_cast<size_t>(std::max(size, 0)));
    std::memcpy(buf, r->data.data() + r->pos, n);
    r->pos += n;
    return static_cast<int>(n);
  }

  // Containers such as mp4 keep their index at the end, so seeking must work.
  static int64_t Seek(void* opaque, int64_t offset, int whence) {
    auto* r = static_cast<MemoryReader*>(opaque);
    const int64_t size = static_cast<int64_t>(r->data.size());
    if (whence & AVSEEK_SIZE) return size;
    int64_t base = 0;
    switch (whence & ~AVSEEK_FORCE) {
      case SEEK_SET: base = 0; break;
      case SEEK_CUR: base = static_cast<int64_t>(r->pos); break;
      case SEEK_END: base = size; break;
      default: return AVERROR(EINVAL);
    }
    if (offset > size - base || offset < -base) return AVERROR(EINVAL);
    r->pos = static_cast<size_t>(base + offset);
    return static_cast<int64_t>(r->pos);
  }
};

Status DecodeThroughFfmpeg(std::span<const uint8_t> data, const SampleSink& sink, const MemoryDecodeOptions& options) {
  constexpr int kIoBufferSize = 1 << 16;
  MemoryReader reader{data, 0, options.deadline, false};
  auto* buffer = static_cast<uint8_t*>(av_malloc(kIoBufferSize));
  if (buffer == nullptr) return IoError("out of memory decoding '" + options.name + "'");
  AVIOContext* io = avio_alloc_context(buffer, kIoBufferSize, /*write_flag=*/0, &reader, &MemoryReader::Read,
                                       nullptr, &MemoryReader::Seek);
  if (io == nullptr) {
    av_free(buffer);
    return IoError("out of memory decoding '" + options.name + "'");
  }
  Status st = DecodeWithFfmpegIo(io, options.name, sink);
  av_freep(&io->buffer);  // libav may have replaced the buffer it was given
  avio_context_free(&io);
  // The decoder treats a failing read as the end of a damaged file and keeps what it had, so a
  // stop at the deadline must be reported here, whatever it returned.
  if (reader.timed_out) return IoError("decoding '" + options.name + "' did not finish in the time allowed");
  return st;
}

#endif  // WISP_HAVE_FFMPEG

}  // namespace

Status DecodeAudioFromMemory(std::span<const uint8_t> data, const SampleSink& sink, const MemoryDecodeOptions& options) {
  if (data.empty()) return BadInput("audio '" + options.name + "' is empty");
  if (LooksLikeWav(data.data(), data.size())) {
    Status st = DecodeWavTo16k(data.data(), data.size(), sink);
    if (st.ok()) return st;
    // An encoding the built-in reader lacks (ADPCM, mu-law, ...) may still be one ffmpeg reads.
    if (st.kind() != ErrorKind::kUnsupported || !FfmpegAvailable())
      return Status(st.kind(), "'" + options.name + "': " + st.message());
  } else if (!FfmpegAvailable()) {
    return Unsupported("'" + options.name + "': unsupported audio format (not WAV) and wisp was built without ffmpeg");
  }
#ifdef WISP_HAVE_FFMPEG
  return DecodeThroughFfmpeg(data, sink, options);
#else
  return Unsupported("'" + options.name + "': wisp was built without ffmpeg");
#endif
}

Result<LogMelSpectrogram> ComputeLogMelFromMemory(std::span<const uint8_t> data, const float* filters, int n_mels,
                                                  const MemoryDecodeOptions& options) {
  return ComputeLogMel([&](const SampleSink& sink) { return DecodeAudioFromMemory(data, sink, options); }, filters,
                       n_mels);
}

}  // namespace wisp
