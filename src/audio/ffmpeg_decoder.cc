#include "audio/ffmpeg_decoder.h"

#ifdef WISP_HAVE_FFMPEG
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
}

#include <cstdio>
#include <memory>
#include <vector>

#include "audio/input_rules.h"
#endif

namespace wisp {

#ifndef WISP_HAVE_FFMPEG

bool FfmpegAvailable() { return false; }

Status DecodeWithFfmpeg(const std::string& path, const SampleSink&, double, const std::atomic<bool>*) {
  return Unsupported("cannot decode '" + path + "': wisp was built without ffmpeg");
}

Status DecodeWithFfmpegIo(AVIOContext* io, const std::string& name, const SampleSink& sink) {
  return Unsupported("cannot decode " + name + ": wisp was built without ffmpeg");
}

#else

namespace {

std::string AvError(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

// Owners for the libav objects, so every early return frees them.
struct FormatCloser {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct CodecCloser {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameFreer {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketFreer {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwrFreer {
  void operator()(SwrContext* s) const { swr_free(&s); }
};

// Streams one decoder's output through swr (to interleaved float), the channel average and
// the resampler.
class FrameConverter {
 public:
  FrameConverter(SwrContext* swr, int channels, int rate, double max_duration_seconds, Resampler* resampler,
                 const SampleSink& sink)
      : swr_(swr), channels_(channels), rate_(rate), max_duration_seconds_(max_duration_seconds),
        resampler_(resampler), sink_(sink) {}

  // frame == nullptr flushes swr's internal buffer.
  Status Convert(const AVFrame* frame) {
    const int in_samples = frame ? frame->nb_samples : 0;
    const int capacity = swr_get_out_samples(swr_, in_samples);
    if (capacity < 0) return BadInput("corrupt audio data: " + AvError(capacity));
    interleaved_.resize(static_cast<size_t>(capacity) * channels_ + channels_);
    uint8_t* out_planes[1] = {reinterpret_cast<uint8_t*>(interleaved_.data())};
    const int got = swr_convert(swr_, out_planes, capacity, frame ? const_cast<const uint8_t**>(frame->extended_data) : nullptr,
                                in_samples);
    if (got < 0) return BadInput("corrupt audio data: " + AvError(got));
    mono_.resize(static_cast<size_t>(got));
    for (int i = 0; i < got; ++i) {
      // Same equal-weight average as the WAV reader, so both paths agree sample for sample.
      double sum = 0.0;
      for (int c = 0; c < channels_; ++c) {
        const float v = interleaved_[static_cast<size_t>(i) * channels_ + c];
        // The same sample rule as the WAV reader (float codecs and containers can carry NaN).
        if (!FloatSampleOk(v)) {
          char at[96];
          std::snprintf(at, sizeof at, "sample %lld (%.3f s, channel %d) is ", static_cast<long long>(samples_ + i),
                        static_cast<double>(samples_ + i) / rate_, c + 1);
          return BadInput(at + DescribeFloatSample(v) + ": audio samples must be finite and within +-" +
                          DescribeFloatSample(kMaxFloatSampleMagnitude) + " (full scale is +-1)");
        }
        sum += v;
      }
      mono_[i] = static_cast<float>(sum / channels_);
    }
    samples_ += got;
    // A container may understate its duration: the limit holds for what is actually decoded.
    WISP_RETURN_IF_ERROR(CheckMaxDuration(ResampledLength(static_cast<uint64_t>(samples_), rate_), max_duration_seconds_));
    return resampler_->Push(mono_.data(), mono_.size(), sink_);
  }
  int64_t samples() const { return samples_; }

 private:
  SwrContext* swr_;
  int channels_;
  int rate_;
  double max_duration_seconds_;
  Resampler* resampler_;
  const SampleSink& sink_;
  std::vector<float> interleaved_, mono_;
  int64_t samples_ = 0;
};

void QuietLibavLogging() {
  // Problems reach the caller as Status values; libav's own stderr chatter would only duplicate
  // them. Respect a level the host application chose explicitly (anything but the default).
  if (av_log_get_level() == AV_LOG_INFO) av_log_set_level(AV_LOG_QUIET);
}

}  // namespace

bool FfmpegAvailable() { return true; }

namespace {
Status DecodeInput(const std::string& path, AVIOContext* io, const SampleSink& sink, double max_duration_seconds,
                   const std::atomic<bool>* cancel);
}  // namespace

Status DecodeWithFfmpeg(const std::string& path, const SampleSink& sink, double max_duration_seconds,
                        const std::atomic<bool>* cancel) {
  return DecodeInput(path, nullptr, sink, max_duration_seconds, cancel);
}

Status DecodeWithFfmpegIo(AVIOContext* io, const std::string& name, const SampleSink& sink) {
  return DecodeInput(name, io, sink, 0, nullptr);
}

namespace {

// path names the input in messages; with io it is not opened (the container is probed from io).
Status DecodeInput(const std::string& path, AVIOContext* io, const SampleSink& sink, double max_duration_seconds,
                   const std::atomic<bool>* cancel) {
  WISP_RETURN_IF_ERROR(CheckMaxDuration(0, max_duration_seconds));
  QuietLibavLogging();
  AVFormatContext* raw_format = nullptr;
  if (io != nullptr) {
    raw_format = avformat_alloc_context();
    if (raw_format == nullptr) return IoError("out of memory opening '" + path + "'");
    raw_format->pb = io;
    raw_format->flags |= AVFMT_FLAG_CUSTOM_IO;  // avformat_close_input then leaves io to the caller
  }
  // On failure avformat_open_input frees raw_format itself.
  int rc = avformat_open_input(&raw_format, io != nullptr ? "" : path.c_str(), nullptr, nullptr);
  if (rc < 0) {
    if (rc == AVERROR(ENOENT)) return NotFound("cannot open '" + path + "': no such file");
    return BadInput("cannot read '" + path + "' as audio: " + AvError(rc));
  }
  std::unique_ptr<AVFormatContext, FormatCloser> format(raw_format);
  rc = avformat_find_stream_info(format.get(), nullptr);
  if (rc < 0) return BadInput("cannot read '" + path + "' as audio: " + AvError(rc));

  const AVCodec* codec = nullptr;
  const int stream_index = av_find_best_stream(format.get(), AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
  if (stream_index == AVERROR_STREAM_NOT_FOUND) return BadInput("no audio stream in '" + path + "'");
  AVStream* stream = format->streams[stream_index >= 0 ? stream_index : 0];
  if (stream_index == AVERROR_DECODER_NOT_FOUND || codec == nullptr) {
    const AVStream* s = nullptr;
    for (unsigned i = 0; i < format->nb_streams && !s; ++i)
      if (format->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) s = format->streams[i];
    const char* name = s ? avcodec_get_name(s->codecpar->codec_id) : "unknown";
    return Unsupported("unsupported audio codec '" + std::string(name) + "' in '" + path + "'");
  }
  if (stream_index < 0) return BadInput("cannot read '" + path + "' as audio: " + AvError(stream_index));

  std::unique_ptr<AVCodecContext, CodecCloser> decoder(avcodec_alloc_context3(codec));
  if (!decoder) return IoError("out of memory creating the audio decoder");
  rc = avcodec_parameters_to_context(decoder.get(), stream->codecpar);
  if (rc >= 0) rc = avcodec_open2(decoder.get(), codec, nullptr);
  if (rc < 0) return Unsupported("cannot open the " + std::string(codec->name) + " decoder for '" + path + "': " + AvError(rc));
  if (decoder->sample_rate <= 0) return BadInput("audio stream of '" + path + "' has no sample rate");
  Status rate_ok = CheckInputSampleRate(decoder->sample_rate);
  if (!rate_ok.ok()) return BadInput("'" + path + "': " + rate_ok.message());
  // The container's stated duration, when it has one, refuses an over-long file before decoding.
  const int64_t stated = stream->duration != AV_NOPTS_VALUE && stream->time_base.den > 0
                             ? av_rescale_q(stream->duration, stream->time_base, AVRational{1, 16000})
                         : format->duration != AV_NOPTS_VALUE ? av_rescale(format->duration, 16000, AV_TIME_BASE)
                                                              : -1;
  if (stated > 0) {
    Status st = CheckMaxDuration(static_cast<uint64_t>(stated), max_duration_seconds);
    if (!st.ok()) return BadInput("'" + path + "': " + st.message());
  }

  // Some decoders report only a channel count; give swr a concrete layout for it.
  AVChannelLayout layout{};
  if (decoder->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || decoder->ch_layout.nb_channels <= 0) {
    const int n = decoder->ch_layout.nb_channels > 0 ? decoder->ch_layout.nb_channels : 1;
    av_channel_layout_default(&layout, n);
  } else if (av_channel_layout_copy(&layout, &decoder->ch_layout) < 0) {
    return IoError("out of memory copying the channel layout");
  }
  const int channels = layout.nb_channels;

  SwrContext* raw_swr = nullptr;
  rc = swr_alloc_set_opts2(&raw_swr, &layout, AV_SAMPLE_FMT_FLT, decoder->sample_rate, &layout,
                           decoder->sample_fmt, decoder->sample_rate, 0, nullptr);
  av_channel_layout_uninit(&layout);
  std::unique_ptr<SwrContext, SwrFreer> swr(raw_swr);
  if (rc < 0 || swr_init(swr.get()) < 0)
    return Unsupported("cannot convert the samples of '" + path + "' (sample format " +
                       std::to_string(decoder->sample_fmt) + ")");

  Result<std::unique_ptr<Resampler>> resampler = Resampler::Create(decoder->sample_rate);
  if (!resampler.ok()) return resampler.status();
  FrameConverter converter(swr.get(), channels, decoder->sample_rate, max_duration_seconds, resampler->get(), sink);

  std::unique_ptr<AVPacket, PacketFreer> packet(av_packet_alloc());
  std::unique_ptr<AVFrame, FrameFreer> frame(av_frame_alloc());
  if (!packet || !frame) return IoError("out of memory allocating decode buffers");
  int decode_errors = 0;
  int last_error = 0;
  auto drain = [&]() -> Status {
    while (true) {
      const int r = avcodec_receive_frame(decoder.get(), frame.get());
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return Status::Ok();
      if (r < 0) {  // a damaged frame: skip it like the ffmpeg command does
        ++decode_errors;
        last_error = r;
        return Status::Ok();
      }
      Status st = converter.Convert(frame.get());
      av_frame_unref(frame.get());
      if (!st.ok()) return st;
    }
  };
  while (true) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) return Cancelled("decoding of '" + path + "' cancelled");
    rc = av_read_frame(format.get(), packet.get());
    if (rc == AVERROR_EOF) break;
    if (rc < 0) {  // a damaged container: keep what was decoded so far
      ++decode_errors;
      last_error = rc;
      break;
    }
    if (packet->stream_index == stream_index) {
      const int sent = avcodec_send_packet(decoder.get(), packet.get());
      if (sent < 0 && sent != AVERROR(EAGAIN)) {
        ++decode_errors;
        last_error = sent;
      }
      av_packet_unref(packet.get());
      WISP_RETURN_IF_ERROR(drain());
    } else {
      av_packet_unref(packet.get());
    }
  }
  avcodec_send_packet(decoder.get(), nullptr);  // flush the decoder's delayed frames
  WISP_RETURN_IF_ERROR(drain());
  WISP_RETURN_IF_ERROR(converter.Convert(nullptr));
  if (converter.samples() == 0 && decode_errors > 0)
    return BadInput("corrupt audio data in '" + path + "': " + AvError(last_error));
  return (*resampler)->Finish(sink);
}

}  // namespace

#endif  // WISP_HAVE_FFMPEG

}  // namespace wisp
