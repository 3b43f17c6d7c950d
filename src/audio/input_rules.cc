#include "audio/input_rules.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "audio/mel.h"

namespace wisp {

Status CheckInputSampleRate(double rate) {
  if (rate >= kMinInputSampleRate && rate <= kMaxInputSampleRate) return Status::Ok();
  char buf[64];
  // Integer rates (every header's) print in full: "4294967295", not "4.29497e+09".
  if (std::isfinite(rate) && rate == std::floor(rate) && std::fabs(rate) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", rate);
  else std::snprintf(buf, sizeof buf, "%.6g", rate);
  return BadInput("sample rate " + std::string(buf) + " Hz is outside the supported range " +
                  std::to_string(kMinInputSampleRate) + "-" + std::to_string(kMaxInputSampleRate) + " Hz");
}

uint64_t ResampledLength(uint64_t frames, double rate) {
  if (!(rate > 0)) return 0;
  const double r = std::round(rate);
  if (r == rate && r <= static_cast<double>(std::numeric_limits<uint32_t>::max())) {
    // Integer rate (every WAV): round(frames * 16000 / rate) without float error.
    const unsigned __int128 num = static_cast<unsigned __int128>(frames) * kSampleRate;
    const uint64_t den = static_cast<uint64_t>(r);
    const unsigned __int128 q = (num + den / 2) / den;
    return q > std::numeric_limits<uint64_t>::max() ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(q);
  }
  const double out = std::round(static_cast<double>(frames) * kSampleRate / rate);
  return out >= 1.8e19 ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(out);
}

Status CheckMaxDuration(uint64_t samples_16k, double max_duration_seconds) {
  if (!(max_duration_seconds >= 0))
    return InvalidArgument("maximum audio duration must be 0 (unlimited) or positive, got " +
                           std::to_string(max_duration_seconds));
  if (max_duration_seconds == 0) return Status::Ok();
  const double seconds = static_cast<double>(samples_16k) / kSampleRate;
  if (seconds <= max_duration_seconds) return Status::Ok();
  char buf[160];
  std::snprintf(buf, sizeof buf, "%.1f s of audio exceeds the maximum duration of %g s", seconds, max_duration_seconds);
  return BadInput(buf);
}

void EmitAudioWarning(const AudioLoadOptions& options, const std::string& message) {
  if (options.on_warning) options.on_warning(message);
  else std::fprintf(stderr, "wisp: warning: %s\n", message.c_str());
}

std::string DescribeFloatSample(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", value);
  return buf;
}

}  // namespace wisp
