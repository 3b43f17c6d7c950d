// libFuzzer target for the WAV reader and the audio input rules: any byte string must decode or
// fail with a Status that says why, never read outside the buffer, crash, or take time and
// memory beyond what its size justifies (a 1-Hz header once meant billions of samples).
//   ./wav_fuzz -max_len=4096 fuzz/corpus/wav
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "audio/audio_loader.h"
#include "audio/wav.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size heap copy, so AddressSanitizer flags a read even one byte past the end.
  const std::vector<uint8_t> bytes(data, data + size);

  // The front door: header rules, then resampling to 16 kHz. Every accepted rate is within
  // 1-384 kHz, so the output is at most 16 samples per input byte.
  size_t out = 0;
  wisp::AudioLoadOptions options;
  options.on_warning = [](const std::string& m) {
    if (m.empty()) __builtin_trap();
  };
  wisp::Status st = wisp::DecodeWavTo16k(bytes.data(), bytes.size(), [&](const float* p, size_t n) {
    for (size_t i = 0; i < n; ++i)
      if (!std::isfinite(p[i])) __builtin_trap();  // the rules admit only finite samples
    out += n;
  }, options);
  if (!st.ok() && st.message().empty()) __builtin_trap();
  if (st.ok() && out > 16 * size + 16) __builtin_trap();

  wisp::Result<wisp::WavAudio> audio = wisp::ParseWav(bytes.data(), bytes.size());
  if (!audio.ok()) {
    if (audio.status().message().empty()) __builtin_trap();  // every failure must say why
    return 0;
  }
  if (audio->sample_rate < 1000 || audio->sample_rate > 384000 || audio->channels <= 0) __builtin_trap();

  // Decoding in two pieces must equal decoding at once (the front door decodes in blocks).
  wisp::Result<wisp::WavLayout> layout = wisp::ParseWavLayout(bytes.data(), bytes.size());
  if (!layout.ok() || layout->frames != audio->samples.size()) __builtin_trap();
  const size_t half = audio->samples.size() / 2;
  std::vector<float> pieces(audio->samples.size());
  if (!wisp::DecodeWavFrames(*layout, bytes.data(), 0, half, pieces.data()).ok()) __builtin_trap();
  if (!wisp::DecodeWavFrames(*layout, bytes.data(), half, pieces.size() - half, pieces.data() + half).ok())
    __builtin_trap();
  for (size_t i = 0; i < pieces.size(); ++i)
    if (pieces[i] != audio->samples[i]) __builtin_trap();  // no NaN can reach here
  return 0;
}
