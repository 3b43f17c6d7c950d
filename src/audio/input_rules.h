// The rules every audio input passes before anything is allocated for its samples (issue 11).
// Both decoders (the built-in WAV reader and ffmpeg) apply them, so a hostile header cannot
// cost unbounded time or memory, and damaged samples are an error rather than invented text:
//
//  * sample rate within [kMinInputSampleRate, kMaxInputSampleRate]: below 1 kHz no speech
//    survives (its Nyquist limit is 500 Hz) and the 16-kHz copy would be 16x (or at 1 Hz,
//    16000x) the input; above 384 kHz no recorder writes and a garbage header is the likely cause;
//  * float samples finite and within +-kMaxFloatSampleMagnitude (full scale is +-1): NaN and
//    infinity are not sound, and beyond that bound the mel power overflows float, which yields
//    an empty or invented transcript, never a useful one;
//  * at most max_duration_seconds of 16-kHz output, computed from the header's frame count
//    before the first sample is decoded (ffmpeg: from the container's duration, then counted
//    while decoding in case the container lied).
#pragma once
#include <cstdint>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "util/status.h"

namespace wisp {

inline constexpr int kMinInputSampleRate = 1000;
inline constexpr int kMaxInputSampleRate = 384000;
inline constexpr double kMaxFloatSampleMagnitude = 1e4;

// What a caller may ask of DecodeAudio and friends (audio_loader.h).
struct AudioLoadOptions {
  // Refuse audio longer than this many seconds (measured at 16 kHz, i.e. after resampling);
  // 0 = unlimited. Negative or NaN values are InvalidArgument.
  double max_duration_seconds = 0;
  // Receives one message per repaired defect (a truncated data chunk), naming the file. When
  // null, warnings go to stderr as "wisp: warning: ...": a repair is never silent.
  std::function<void(const std::string&)> on_warning;
  // Spectrogram frames a file transcription keeps in memory for a one-pass transcription
  // (WhisperEngine::TranscribeFile): 10 minutes, 19 MB at 80 mels (31 MB at 128). Longer audio
  // is read twice and streamed, with flat memory; 0 streams everything.
  int64_t max_spectrogram_frames_in_memory = 60000;
  // Once set (from any thread), decoding stops with a kCancelled error. Not owned.
  const std::atomic<bool>* cancel = nullptr;
};

// BadInput "sample rate R Hz is outside the supported range 1000-384000 Hz" unless in range.
Status CheckInputSampleRate(double rate);

// The number of 16-kHz samples `frames` input frames at `rate` Hz become (what Resampler
// delivers: round(frames * 16000 / rate)); exact in 128-bit arithmetic for integer rates.
uint64_t ResampledLength(uint64_t frames, double rate);

// InvalidArgument for a negative/NaN limit; BadInput "D s of audio exceeds the maximum
// duration of L s" when samples_16k is over the limit; Ok otherwise (and always for limit 0).
Status CheckMaxDuration(uint64_t samples_16k, double max_duration_seconds);

// Delivers a warning as AudioLoadOptions::on_warning says.
void EmitAudioWarning(const AudioLoadOptions& options, const std::string& message);

// "NaN", "+inf", "-inf" or the value, for messages about a rejected float sample.
std::string DescribeFloatSample(double value);

// True when a float sample is usable (finite and within +-kMaxFloatSampleMagnitude).
inline bool FloatSampleOk(double v) { return v >= -kMaxFloatSampleMagnitude && v <= kMaxFloatSampleMagnitude; }

}  // namespace wisp
