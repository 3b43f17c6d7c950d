// Power spectrum of one STFT frame: |rfft(window * frame)|^2, as torch.stft(...).abs() ** 2
// computes it for whisper. A mixed-radix FFT keeps an hour of audio (360 000 frames) to a few
// seconds on one core; double precision keeps us within ~1e-7 of torch's float32 result.
#pragma once
#include <complex>
#include <vector>

namespace wisp {

// torch.hann_window(n) (periodic=True): 0.5 - 0.5 cos(2 pi i / n), i in [0, n).
std::vector<double> PeriodicHannWindow(int n);

// In-place complex DFT (forward, unnormalised) of a size whose prime factors are 2, 3 and 5,
// using the Stockham autosort formulation: no bit reversal, any mix of radices.
class ComplexFft {
 public:
  explicit ComplexFft(int n);
  int size() const { return n_; }
  // data: n values, transformed in place. Not thread-safe (uses internal scratch).
  void Forward(std::complex<double>* data);

 private:
  struct Stage {
    int radix;
    int span;  // product of the radices of earlier stages ("Ns")
    std::vector<std::complex<double>> twiddles;  // [k * radix + r] = exp(-2 pi i k r / (span * radix))
    std::vector<std::complex<double>> roots;     // [m] = exp(-2 pi i m / radix)
  };
  int n_;
  std::vector<Stage> stages_;
  std::vector<std::complex<double>> scratch_;
};

// Real-input power spectrum of an even size n: n/2 + 1 bins, via one complex FFT of size n/2
// on the even/odd samples packed as real/imaginary parts.
class PowerSpectrum {
 public:
  explicit PowerSpectrum(int n);
  int size() const { return n_; }
  int bins() const { return n_ / 2 + 1; }
  // frame: n samples (not yet windowed); window: n weights; out: bins() powers.
  void Compute(const float* frame, const double* window, double* out);

 private:
  int n_;
  ComplexFft half_;
  std::vector<std::complex<double>> packed_;
  std::vector<std::complex<double>> unpack_twiddles_;  // exp(-2 pi i k / n), k in [0, n/2]
};

}  // namespace wisp
