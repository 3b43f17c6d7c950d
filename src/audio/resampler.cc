#include "audio/resampler.h"

#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace wisp {
namespace {
constexpr double kMinRate = 1.0;
constexpr double kMaxRate = 10'000'000.0;
// Upper bound on the input samples handed to soxr in one call.
constexpr size_t kMaxSlice = 1 << 15;
}  // namespace

Result<std::unique_ptr<Resampler>> Resampler::Create(double input_rate, double output_rate) {
  if (!(input_rate >= kMinRate && input_rate <= kMaxRate) || !(output_rate >= kMinRate && output_rate <= kMaxRate))
    return InvalidArgument("cannot resample from " + std::to_string(input_rate) + " Hz to " +
                           std::to_string(output_rate) + " Hz: rate out of range");
  std::unique_ptr<Resampler> r(new Resampler(input_rate, output_rate));
  if (input_rate == output_rate) return r;

  soxr_error_t error = nullptr;
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  const soxr_runtime_spec_t runtime = soxr_runtime_spec(1);  // one thread: callers parallelise
  r->soxr_ = soxr_create(input_rate, output_rate, 1, &error, &io, &quality, &runtime);
  if (error != nullptr || r->soxr_ == nullptr)
    return InvalidArgument(std::string("cannot create resampler from ") + std::to_string(input_rate) +
                           " Hz: " + (error ? error : "unknown soxr error"));
  return r;
}

Resampler::~Resampler() {
  if (soxr_ != nullptr) soxr_delete(soxr_);
}

Status Resampler::Run(const float* samples, size_t n, const SampleSink& sink) {
  // samples == nullptr asks soxr to drain its tail (end of input). Input goes in slices small
  // enough that their output fits a ~64k-sample scratch whatever the rate ratio.
  const double ratio = output_rate_ / input_rate_;
  const size_t slice = static_cast<size_t>(std::clamp(65536.0 / ratio, 1.0, static_cast<double>(kMaxSlice)));
  out_.resize(static_cast<size_t>(std::ceil(slice * ratio)) + 256);
  size_t consumed = 0;
  while (true) {
    const size_t in_len = samples ? std::min(n - consumed, slice) : 0;
    size_t in_done = 0, out_done = 0;
    soxr_error_t error = soxr_process(soxr_, samples ? samples + consumed : nullptr, in_len, &in_done,
                                      out_.data(), out_.size(), &out_done);
    if (error != nullptr) return IoError(std::string("resampling failed: ") + error);
    if (out_done > 0) sink(out_.data(), out_done);
    if (samples && in_done == 0 && out_done == 0) return IoError("resampler made no progress");
    consumed += in_done;
    if (samples) {
      if (consumed >= n) return Status::Ok();
    } else if (out_done == 0) {
      return Status::Ok();  // tail fully drained
    }
  }
}

Status Resampler::Push(const float* samples, size_t n, const SampleSink& sink) {
  if (n == 0) return Status::Ok();
  if (is_identity()) {
    sink(samples, n);
    return Status::Ok();
  }
  return Run(samples, n, sink);
}

Status Resampler::Finish(const SampleSink& sink) {
  if (is_identity()) return Status::Ok();
  return Run(nullptr, 0, sink);
}

}  // namespace wisp
