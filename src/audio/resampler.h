// Streaming conversion of mono float audio at any rate to whisper's 16 kHz, with libsoxr at
// "high quality" (SOXR_HQ: 20-bit precision, ~95% passband, linear phase). Chunks in, chunks out,
// so an hour of 44.1-kHz audio never has to be held in memory. At 16 kHz it is the identity.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "util/status.h"

struct soxr;  // libsoxr's resampler (soxr_t), kept out of this header

namespace wisp {

// Receives decoded 16-kHz mono samples, chunk by chunk (the pointer is valid during the call).
using SampleSink = std::function<void(const float*, size_t)>;

class Resampler {
 public:
  // Rates outside [1 Hz, 10 MHz] (which no real file has) are InvalidArgument.
  static Result<std::unique_ptr<Resampler>> Create(double input_rate, double output_rate = 16000.0);
  ~Resampler();
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;

  bool is_identity() const { return soxr_ == nullptr; }
  double input_rate() const { return input_rate_; }
  double output_rate() const { return output_rate_; }

  // Consumes n input samples, passing whatever output is ready to sink (possibly nothing: the
  // filter holds back a few milliseconds of delay).
  Status Push(const float* samples, size_t n, const SampleSink& sink);
  // Flushes the filter's tail; afterwards the total output is round(n_in * out / in) samples.
  Status Finish(const SampleSink& sink);

 private:
  Resampler(double input_rate, double output_rate) : input_rate_(input_rate), output_rate_(output_rate) {}
  Status Run(const float* samples, size_t n, const SampleSink& sink);

  double input_rate_;
  double output_rate_;
  ::soxr* soxr_ = nullptr;  // null for the identity
  std::vector<float> out_;       // output scratch
};

}  // namespace wisp
