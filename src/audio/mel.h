// Log-mel spectrogram identical to openai-whisper's log_mel_spectrogram(audio, n_mels,
// padding=N_SAMPLES) as transcribe() calls it, computed incrementally so that hours of audio
// never sit in memory as samples: only the log10 mel columns are kept (n_mels floats per 10 ms).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
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
  // Frames live in fixed-size blocks so that growing to an hour of audio never needs one
  // contiguous reallocation (which would briefly hold the old and the new copy).
  static constexpr int64_t kFramesPerBlock = 4096;
  const float* Frame(int64_t frame) const {
    return blocks_[frame / kFramesPerBlock].data() + (frame % kFramesPerBlock) * n_mels_;
  }
  float* AppendFrame();

  int n_mels_ = 0;
  int64_t content_frames_ = 0;
  int64_t total_frames_ = 0;
  float log_max_ = -10.0f;
  std::vector<std::vector<float>> blocks_;  // log10 mel, frame-major: [frame][mel]
};

// Feeds 16-kHz mono samples in chunks of any size; Finish() appends the 30 s of zeros that
// transcribe() appends and returns the spectrogram.
class LogMelBuilder {
 public:
  // filters: (n_mels, 201) row-major, as stored in ggml files and mel_filters.npz.
  LogMelBuilder(const float* filters, int n_mels);
  ~LogMelBuilder();
  LogMelBuilder(LogMelBuilder&&) noexcept;
  LogMelBuilder& operator=(LogMelBuilder&&) noexcept;
  void Push(const float* samples, size_t n);
  // Ends the stream; the builder is then empty again (ready for a new stream).
  LogMelSpectrogram Finish();

 private:
  struct Impl;  // FFT plan, window, sparse filterbank and scratch
  // Computes STFT frame `frame` (centred on sample frame * kHopLength). end_of_stream > 0
  // is the final sample count, enabling the reflect padding at the end.
  void EmitFrame(int64_t frame, int64_t end_of_stream);
  void DropConsumedSamples();

  std::unique_ptr<Impl> impl_;
  int n_mels_;
  // Samples from absolute index pending_start_ on: what the next frames still need
  // (each frame reads 200 samples back and 199 ahead of its centre).
  std::vector<float> pending_;
  int64_t pending_start_ = 0;
  int64_t samples_seen_ = 0;
  int64_t next_frame_ = 0;
  LogMelSpectrogram out_;
};

}  // namespace wisp
