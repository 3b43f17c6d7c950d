// Log-mel spectrogram identical to openai-whisper's log_mel_spectrogram(audio, n_mels,
// padding=N_SAMPLES) as transcribe() calls it, computed incrementally so that hours of audio
// never sit in memory as samples: only the log10 mel columns are kept (n_mels floats per 10 ms),
// and a streaming reader releases the columns it has consumed (ReleaseBefore), so memory stays
// flat however long the audio is.
//
// The official scale clamps every value at (global max - 8) over the whole padded spectrogram.
// A stream cannot know that max before its end: a caller that can read its input twice scans
// the levels first (LogMelBuilder::ScanLevel) and fixes the max (SetLevel), which makes every
// window exactly the official; without it windows use the max of every column computed so far.
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

  // Frees the storage of frames before `frame` (whole blocks): Window and At must not read
  // them again. Frames computed so far keep their numbering.
  void ReleaseBefore(int64_t frame);
  // First frame still stored (0 until ReleaseBefore frees a block).
  int64_t first_stored_frame() const { return released_blocks_ * kFramesPerBlock; }
  // The log10 max every window is scaled by: the scanned level once SetLevel was called, else
  // the max over every frame computed so far.
  float level() const { return log_max_; }

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
  int64_t released_blocks_ = 0;
  float log_max_ = -10.0f;
  bool level_fixed_ = false;  // SetLevel: appended frames no longer move log_max_
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
  // Ends the stream (End(), if not done yet) and hands over the spectrogram; the builder is
  // then empty again (ready for a new stream).
  LogMelSpectrogram Finish();

  // Streaming use: the spectrogram so far (frames are final once computed; content_frames() is
  // 0 until End), which the reader may ReleaseBefore. End() appends the padding and sets
  // content_frames, leaving the spectrogram in place.
  LogMelSpectrogram& spectrogram() { return out_; }
  void End();
  // Fixes the level (the log10 max of the whole padded spectrogram, e.g. from a first pass
  // over the same audio: audio_loader.h's ScanMelLevel).
  void SetLevel(float log_max);
  // From now on keep no frames (those stored are freed), only the level and the count: the
  // level scan of a stream too long to hold (ComputeLogMelOrLevel). A frame whose energy bound
  // (Parseval) cannot raise the level skips its FFT, which makes quiet audio cheap to scan.
  void ScanOnly();
  // 16-kHz samples pushed so far (the padding excluded).
  int64_t samples_pushed() const { return samples_seen_ - padding_pushed_; }

 private:
  struct Impl;  // FFT plan, window, sparse filterbank and scratch
  // Computes STFT frame `frame` (centred on sample frame * kHopLength). end_of_stream > 0
  // is the final sample count, enabling the reflect padding at the end.
  void EmitFrame(int64_t frame, int64_t end_of_stream);
  // ScanOnly's EmitFrame: counts the frame and raises the level if the frame can.
  void ScanFrame(const float* frame);
  void DropConsumedSamples();

  std::unique_ptr<Impl> impl_;
  int n_mels_;
  // Samples from absolute index pending_start_ on: what the next frames still need
  // (each frame reads 200 samples back and 199 ahead of its centre).
  std::vector<float> pending_;
  int64_t pending_start_ = 0;
  int64_t samples_seen_ = 0;
  int64_t next_frame_ = 0;
  int64_t padding_pushed_ = 0;
  bool ended_ = false;  // End() ran: Finish() must not pad again
  bool scan_only_ = false;
  LogMelSpectrogram out_;
};

}  // namespace wisp
