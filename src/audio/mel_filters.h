// The mel filterbank: computing it the way librosa.filters.mel does (for models whose files do
// not embed one) and applying it sparsely to power spectra (each triangle covers only a few of
// the 201 bins, so a dense 80x201 product would waste ~95% of the work).
#pragma once
#include <vector>

namespace wisp {

// librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels) with its defaults: fmin 0,
// fmax sr/2, Slaney mel scale (htk=False), norm="slaney", computed in double and rounded to
// float32 exactly as librosa returns it. Row-major (n_mels, n_fft/2 + 1): the layout of
// whisper's mel_filters.npz and of ggml model files.
std::vector<float> SlaneyMelFilterbank(int sample_rate, int n_fft, int n_mels);

// Slaney mel scale (librosa.hz_to_mel / mel_to_hz with htk=False): linear below 1 kHz,
// logarithmic above.
double HzToSlaneyMel(double hz);
double SlaneyMelToHz(double mel);

// A filterbank stored as the non-zero run of each row.
class SparseMelFilterbank {
 public:
  // filters: (n_mels, bins) row-major.
  SparseMelFilterbank(const float* filters, int n_mels, int bins);
  int n_mels() const { return n_mels_; }
  int bins() const { return bins_; }
  // out[m] = log10(max(sum_k filters[m][k] * power[k], 1e-10)) — whisper's
  // mel_spec.clamp(min=1e-10).log10() before the max-8 floor and scaling.
  void ApplyLog10(const double* power, float* out) const;
  // max over m of sum_k filters[m][k] * power[k] (before the log): a spectrogram's level needs
  // only this, since log10 and the cast to float are monotonic.
  double MaxMel(const double* power) const;
  // The largest filter weight: sum_k filters[m][k] * power[k] <= max_weight() * sum_k power[k].
  double max_weight() const { return max_weight_; }

 private:
  struct Row {
    int first_bin;
    std::vector<float> weights;  // filters[m][first_bin, first_bin + weights.size())
  };
  int n_mels_;
  int bins_;
  std::vector<Row> rows_;
  double max_weight_ = 0;
};

}  // namespace wisp
