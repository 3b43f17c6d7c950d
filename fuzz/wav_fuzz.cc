// libFuzzer target for the WAV reader: any byte string must decode or fail with a Status that
// says why, never read outside the buffer or crash.
//   ./wav_fuzz -max_len=4096 fuzz/corpus/wav
#include <cstddef>
#include <cstdint>
#include <vector>

#include "audio/wav.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size heap copy, so AddressSanitizer flags a read even one byte past the end.
  const std::vector<uint8_t> bytes(data, data + size);
  wisp::Result<wisp::WavAudio> audio = wisp::ParseWav(bytes.data(), bytes.size());
  if (!audio.ok()) {
    if (audio.status().message().empty()) __builtin_trap();  // every failure must say why
    return 0;
  }
  if (audio->sample_rate <= 0 || audio->channels <= 0) __builtin_trap();

  // Decoding in two pieces must equal decoding at once (the front door decodes in blocks).
  wisp::Result<wisp::WavLayout> layout = wisp::ParseWavLayout(bytes.data(), bytes.size());
  if (!layout.ok() || layout->frames != audio->samples.size()) __builtin_trap();
  const size_t half = audio->samples.size() / 2;
  std::vector<float> pieces(audio->samples.size());
  wisp::DecodeWavFrames(*layout, bytes.data(), 0, half, pieces.data());
  wisp::DecodeWavFrames(*layout, bytes.data(), half, pieces.size() - half, pieces.data() + half);
  for (size_t i = 0; i < pieces.size(); ++i) {
    const float a = pieces[i], b = audio->samples[i];
    if (a != b && !(a != a && b != b)) __builtin_trap();  // equal, or both NaN (float input)
  }
  return 0;
}
