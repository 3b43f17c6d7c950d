// Decoding of every format ffmpeg's libraries read (mp3, flac, ogg/vorbis/opus, m4a/aac, the
// audio track of a video, ...). Compiled only when wisp is built with ffmpeg
// (WISP_HAVE_FFMPEG); without it DecodeWithFfmpeg returns Unsupported.
//
// Design: libswresample only converts the decoded frames to interleaved float at the source
// rate and channel layout; channels are then averaged and libsoxr resamples to 16 kHz. Thus a
// file gives exactly the same samples whether it arrives as WAV (built-in reader) or through
// ffmpeg (e.g. FLAC of the same PCM), and every input rate goes through the same high-quality
// resampler. (openai-whisper itself pipes `ffmpeg -ac 1 -ar 16000 -f s16le`, i.e. swr's default
// resampler plus 16-bit quantisation, so non-16-kHz input cannot match it bit for bit anyway.)
#pragma once
#include <atomic>
#include <string>

#include "audio/resampler.h"
#include "util/status.h"

struct AVIOContext;  // libavformat's I/O context, kept out of this header

namespace wisp {

// True when this build can decode through ffmpeg.
bool FfmpegAvailable();

// Decodes the best audio stream of the file at `path` to 16-kHz mono, chunk by chunk.
// Errors name the problem: unreadable container, no audio stream, unsupported codec, corrupt
// data (a few undecodable packets in an otherwise good file are skipped, as ffmpeg does), and
// the input rules of input_rules.h: the sample rate range, NaN/infinite/huge float samples, and
// max_duration_seconds (0 = unlimited), checked against the container's stated duration before
// decoding and against the samples decoded so far while decoding.
// cancel (optional, not owned): once set, decoding stops with a kCancelled error.
Status DecodeWithFfmpeg(const std::string& path, const SampleSink& sink, double max_duration_seconds = 0,
                        const std::atomic<bool>* cancel = nullptr);

// The same through caller-supplied I/O (audio/memory_audio.cc reads an upload from memory this
// way, never through a temporary file); `name` stands for the input in messages. The caller owns
// io and frees it after the call.
Status DecodeWithFfmpegIo(AVIOContext* io, const std::string& name, const SampleSink& sink);

}  // namespace wisp
