#include "audio/mel.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "audio/mel_filters.h"
#include "audio/power_spectrum.h"

namespace wisp {
namespace {
constexpr int kBins = kNFft / 2 + 1;     // 201 rfft bins
constexpr int kHalfWindow = kNFft / 2;   // torch.stft(center=True) pads n_fft/2 each side
}  // namespace

// ---------------------------------------------------------------- LogMelSpectrogram

float* LogMelSpectrogram::AppendFrame() {
  const int64_t in_block = total_frames_ % kFramesPerBlock;
  if (in_block == 0) blocks_.emplace_back(static_cast<size_t>(kFramesPerBlock) * n_mels_);
  ++total_frames_;
  return blocks_.back().data() + in_block * n_mels_;
}

void LogMelSpectrogram::ReleaseBefore(int64_t frame) {
  // Only whole blocks go, and never the block being appended to.
  const int64_t releasable = std::min<int64_t>(frame / kFramesPerBlock, static_cast<int64_t>(blocks_.size()) - 1);
  for (; released_blocks_ < releasable; ++released_blocks_) std::vector<float>().swap(blocks_[released_blocks_]);
}

float LogMelSpectrogram::At(int mel, int64_t frame) const {
  assert(mel >= 0 && mel < n_mels_ && frame >= first_stored_frame() && frame < total_frames_);
  // torch: (torch.maximum(log_spec, log_spec.max() - 8.0) + 4.0) / 4.0, all in float32.
  const float floor = log_max_ - 8.0f;
  return (std::max(Frame(frame)[mel], floor) + 4.0f) / 4.0f;
}

void LogMelSpectrogram::Window(int64_t start, int64_t count, float* out) const {
  std::fill(out, out + static_cast<size_t>(n_mels_) * kWindowFrames, 0.0f);
  if (start < 0) start = 0;
  // mel[:, start:start+count] clips at the end of the spectrogram; pad_or_trim then keeps at
  // most N_FRAMES and zero-fills the rest.
  const int64_t available = std::max<int64_t>(0, total_frames_ - start);
  const int64_t n = std::min<int64_t>({count, available, static_cast<int64_t>(kWindowFrames)});
  assert(n <= 0 || start >= first_stored_frame());
  const float floor = log_max_ - 8.0f;
  for (int64_t f = 0; f < n; ++f) {
    const float* column = Frame(start + f);
    for (int m = 0; m < n_mels_; ++m)
      out[static_cast<size_t>(m) * kWindowFrames + f] = (std::max(column[m], floor) + 4.0f) / 4.0f;
  }
}

// ---------------------------------------------------------------- LogMelBuilder

struct LogMelBuilder::Impl {
  Impl(const float* filters, int n_mels)
      : window(PeriodicHannWindow(kNFft)), spectrum(kNFft), filterbank(filters, n_mels, kBins),
        frame(kNFft), power(kBins) {}
  std::vector<double> window;
  PowerSpectrum spectrum;
  SparseMelFilterbank filterbank;
  std::vector<float> frame;    // one reflect-padded STFT frame
  std::vector<double> power;   // its power spectrum
};

LogMelBuilder::LogMelBuilder(const float* filters, int n_mels)
    : impl_(std::make_unique<Impl>(filters, n_mels)), n_mels_(n_mels) {
  out_.n_mels_ = n_mels;
}
LogMelBuilder::~LogMelBuilder() = default;
LogMelBuilder::LogMelBuilder(LogMelBuilder&&) noexcept = default;
LogMelBuilder& LogMelBuilder::operator=(LogMelBuilder&&) noexcept = default;

void LogMelBuilder::EmitFrame(int64_t frame, int64_t end_of_stream) {
  const int64_t first = frame * kHopLength - kHalfWindow;
  float* buf = impl_->frame.data();
  for (int j = 0; j < kNFft; ++j) {
    int64_t idx = first + j;
    // torch.stft's reflect padding: x[-i] = x[i] and x[L-1+i] = x[L-1-i] (edge not repeated).
    if (idx < 0) idx = -idx;
    if (end_of_stream > 0 && idx >= end_of_stream) idx = 2 * (end_of_stream - 1) - idx;
    assert(idx >= pending_start_ && idx - pending_start_ < static_cast<int64_t>(pending_.size()));
    buf[j] = pending_[idx - pending_start_];
  }
  if (scan_only_) {
    ScanFrame(buf);
    return;
  }
  impl_->spectrum.Compute(buf, impl_->window.data(), impl_->power.data());
  float* column = out_.AppendFrame();
  impl_->filterbank.ApplyLog10(impl_->power.data(), column);
  if (!out_.level_fixed_) {
    for (int m = 0; m < n_mels_; ++m) out_.log_max_ = std::max(out_.log_max_, column[m]);
  }
}

void LogMelBuilder::ScanOnly() {
  scan_only_ = true;
  out_.ReleaseBefore(out_.total_frames_);
  std::vector<std::vector<float>>().swap(out_.blocks_);
  out_.released_blocks_ = 0;
}

void LogMelBuilder::ScanFrame(const float* frame) {
  ++out_.total_frames_;
  if (out_.level_fixed_) return;
  // Parseval: sum over the 201 one-sided bins of |X_k|^2 <= sum over all 400 = 400 * sum (w x)^2,
  // and every mel value is at most max_weight times that sum. 2 % covers the rounding.
  double energy = 0.0;
  const double* window = impl_->window.data();
  for (int j = 0; j < kNFft; ++j) {
    const double v = window[j] * frame[j];
    energy += v * v;
  }
  const double bound = impl_->filterbank.max_weight() * kNFft * energy * 1.02;
  if (static_cast<float>(std::log10(std::max(bound, 1e-10))) <= out_.log_max_) return;
  impl_->spectrum.Compute(frame, window, impl_->power.data());
  const double best = impl_->filterbank.MaxMel(impl_->power.data());
  out_.log_max_ = std::max(out_.log_max_, static_cast<float>(std::log10(std::max(best, 1e-10))));
}

void LogMelBuilder::SetLevel(float log_max) {
  out_.log_max_ = log_max;
  out_.level_fixed_ = true;
}

void LogMelBuilder::DropConsumedSamples() {
  // The next frame starts reading at next_frame_ * hop - 200; everything before is done.
  // Compact only in large steps so the erase cost stays linear overall.
  const int64_t needed_from = std::max<int64_t>(0, next_frame_ * kHopLength - kHalfWindow);
  const int64_t droppable = needed_from - pending_start_;
  if (droppable < (1 << 16)) return;
  pending_.erase(pending_.begin(), pending_.begin() + droppable);
  pending_start_ = needed_from;
}

void LogMelBuilder::Push(const float* samples, size_t n) {
  if (n == 0) return;
  pending_.insert(pending_.end(), samples, samples + n);
  samples_seen_ += static_cast<int64_t>(n);
  // A frame is ready once its last sample (centre + 199) has arrived; frame 0 also reads
  // sample 200, the reflection of its first padded sample.
  auto last_needed = [](int64_t frame) {
    return std::max<int64_t>(frame * kHopLength + (kNFft - kHalfWindow) - 1, kHalfWindow);
  };
  while (last_needed(next_frame_) < samples_seen_) {
    EmitFrame(next_frame_, /*end_of_stream=*/0);
    ++next_frame_;
  }
  DropConsumedSamples();
}

void LogMelBuilder::End() {
  if (ended_) return;
  ended_ = true;
  // transcribe() calls log_mel_spectrogram(audio, padding=N_SAMPLES): 30 s of zeros appended
  // before the STFT. Pushed in pieces so the padding never exists as one large buffer.
  const std::vector<float> zeros(kSampleRate, 0.0f);
  for (int pushed = 0; pushed < kWindowSamples; pushed += kSampleRate) {
    Push(zeros.data(), zeros.size());
    padding_pushed_ += kSampleRate;
  }
  // torch.stft yields 1 + L / hop frames and whisper drops the last one: L / hop frames.
  const int64_t total = samples_seen_ / kHopLength;
  for (; next_frame_ < total; ++next_frame_) EmitFrame(next_frame_, samples_seen_);
  out_.content_frames_ = total - kWindowFrames;
}

LogMelSpectrogram LogMelBuilder::Finish() {
  End();
  LogMelSpectrogram result = std::move(out_);
  out_ = LogMelSpectrogram();
  out_.n_mels_ = n_mels_;
  pending_.clear();
  pending_start_ = samples_seen_ = next_frame_ = padding_pushed_ = 0;
  ended_ = false;
  return result;
}

}  // namespace wisp
