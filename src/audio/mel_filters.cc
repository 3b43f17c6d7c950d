#include "audio/mel_filters.h"

#include <algorithm>
#include <cmath>

namespace wisp {
namespace {

// Constants of librosa's Slaney scale.
constexpr double kMinLogHz = 1000.0;
constexpr double kLinearHzPerMel = 200.0 / 3.0;
constexpr double kMinLogMel = kMinLogHz / kLinearHzPerMel;  // 15

double SlaneyLogStep() { return std::log(6.4) / 27.0; }

// numpy.linspace(start, stop, num) element by element, including its rule that the last
// element is exactly `stop` (librosa's mel band edges come from it).
std::vector<double> Linspace(double start, double stop, int num) {
  std::vector<double> y(num);
  if (num == 1) {
    y[0] = start;
    return y;
  }
  const double step = (stop - start) / (num - 1);
  for (int i = 0; i < num; ++i) y[i] = static_cast<double>(i) * step + start;
  y[num - 1] = stop;
  return y;
}

}  // namespace

double HzToSlaneyMel(double hz) {
  if (hz >= kMinLogHz) return kMinLogMel + std::log(hz / kMinLogHz) / SlaneyLogStep();
  return hz / kLinearHzPerMel;
}

double SlaneyMelToHz(double mel) {
  if (mel >= kMinLogMel) return kMinLogHz * std::exp(SlaneyLogStep() * (mel - kMinLogMel));
  return kLinearHzPerMel * mel;
}

std::vector<float> SlaneyMelFilterbank(int sample_rate, int n_fft, int n_mels) {
  const int bins = n_fft / 2 + 1;
  // numpy.fft.rfftfreq(n_fft, d=1/sr): k * (1 / (n_fft * d)), evaluated in that order.
  const double d = 1.0 / sample_rate;
  const double bin_hz = 1.0 / (n_fft * d);
  std::vector<double> fft_hz(bins);
  for (int k = 0; k < bins; ++k) fft_hz[k] = static_cast<double>(k) * bin_hz;

  // n_mels + 2 band edges equally spaced on the mel scale between 0 Hz and Nyquist.
  std::vector<double> edge_hz = Linspace(HzToSlaneyMel(0.0), HzToSlaneyMel(sample_rate / 2.0), n_mels + 2);
  for (double& e : edge_hz) e = SlaneyMelToHz(e);

  std::vector<float> out(static_cast<size_t>(n_mels) * bins);
  for (int m = 0; m < n_mels; ++m) {
    const double lower_width = edge_hz[m + 1] - edge_hz[m];
    const double upper_width = edge_hz[m + 2] - edge_hz[m + 1];
    // Slaney normalisation: each triangle has unit area in Hz (2 / bandwidth).
    const double enorm = 2.0 / (edge_hz[m + 2] - edge_hz[m]);
    for (int k = 0; k < bins; ++k) {
      const double lower = -(edge_hz[m] - fft_hz[k]) / lower_width;
      const double upper = (edge_hz[m + 2] - fft_hz[k]) / upper_width;
      // librosa stores the triangle in its float32 output first and scales it in place
      // afterwards (float32 * float64 -> float32): the same double rounding here.
      const float triangle = static_cast<float>(std::max(0.0, std::min(lower, upper)));
      out[static_cast<size_t>(m) * bins + k] = static_cast<float>(static_cast<double>(triangle) * enorm);
    }
  }
  return out;
}

SparseMelFilterbank::SparseMelFilterbank(const float* filters, int n_mels, int bins)
    : n_mels_(n_mels), bins_(bins), rows_(n_mels) {
  for (int m = 0; m < n_mels; ++m) {
    const float* row = filters + static_cast<size_t>(m) * bins;
    int first = 0, last = bins;  // [first, last) holds every non-zero weight
    while (first < bins && row[first] == 0.0f) ++first;
    while (last > first && row[last - 1] == 0.0f) --last;
    rows_[m].first_bin = first;
    rows_[m].weights.assign(row + first, row + last);
    for (int k = first; k < last; ++k) max_weight_ = std::max(max_weight_, static_cast<double>(row[k]));
  }
}

double SparseMelFilterbank::MaxMel(const double* power) const {
  double best = 0.0;
  for (const Row& row : rows_) {
    const double* p = power + row.first_bin;
    double acc = 0.0;
    for (size_t i = 0; i < row.weights.size(); ++i) acc += static_cast<double>(row.weights[i]) * p[i];
    best = std::max(best, acc);
  }
  return best;
}

void SparseMelFilterbank::ApplyLog10(const double* power, float* out) const {
  for (int m = 0; m < n_mels_; ++m) {
    const Row& row = rows_[m];
    const double* p = power + row.first_bin;
    double acc = 0.0;
    for (size_t i = 0; i < row.weights.size(); ++i) acc += static_cast<double>(row.weights[i]) * p[i];
    out[m] = static_cast<float>(std::log10(std::max(acc, 1e-10)));
  }
}

}  // namespace wisp
