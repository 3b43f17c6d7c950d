// Log-mel spectrogram identical to openai-whisper's log_mel_spectrogram(audio, n_mels,
// padding=N_SAMPLES) as transcribe() calls it, computed incrementally so that hours of audio
// never sit in memory as samples: only the log10 mel columns are kept (n_mels floats per 10 ms).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace wisp {

constexpr int kSampleRate = 16000;
constexpr int kNFft = 400;
constexpr int kHopLength = 160;
constexpr int kWindowFrames = 3000;            // N_FRAMES: one 30-s window
constexpr int kWindowSamples = 480000;         // N_SAMPLES

// The finished spectrogram. Values are stored as log10(max(mel, 1e-10)); the max-8 floor and
// (x+4)/4 scaling are applied when a window is cut, with the global max over the padded mel.
class LogMelSpectrogram {
 public:
  int n_mels() const { return n_mels_; }
  // Frames of real audio: the official mel.shape[-1] - N_FRAMES (content_frames).
  int64_t content_frames() const { return content_frames_; }
  // All stored frames (content + the 30 s of zero padding).
  int64_t total_frames() const { return total_frames_; }

  // Writes an (n_mels, kWindowFrames) window: frames [start, start + count) in whisper's final
  // scale, the rest 0.0 — exactly mel[:, start:start+count] followed by pad_or_trim.
  void Window(int64_t start, int64_t count, float* out) const;

  // Final-scale value of one stored frame (tests).
  float At(int mel, int64_t frame) const;

 private:
  friend class LogMelBuilder;
  int n_mels_ = 0;
  int64_t content_frames_ = 0;
  int64_t total_frames_ = 0;
  float log_max_ = -10.0f;
  std::vector<float> log10_;  // frame-major: [frame][mel]
};

// Feeds 16-kHz mono samples in chunks of any size; Finish() appends the 30 s of zeros that
// transcribe() appends and returns the spectrogram.
class LogMelBuilder {
 public:
  // filters: (n_mels, 201) row-major, as stored in ggml files and mel_filters.npz.
  LogMelBuilder(const float* filters, int n_mels);
  void Push(const float* samples, size_t n);
  LogMelSpectrogram Finish();

 private:
  struct Impl;
  std::vector<float> filters_;
  int n_mels_;
  std::vector<float> pending_;  // samples not yet consumed by a full frame
  int64_t samples_seen_ = 0;
  LogMelSpectrogram out_;
  bool started_ = false;
  std::vector<float> head_;  // first samples, kept for the reflect padding at the start
};

}  // namespace wisp
