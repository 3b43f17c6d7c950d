// Whisper's audio encoder as one plain function over the op layer.
#pragma once
#include <vector>

#include "model/transformer_block.h"
#include "model/weights.h"
#include "ops/ops.h"

namespace wisp {

// Per-stream scratch for the encoder, sized on first use and reused across windows.
struct EncoderScratch {
  std::vector<float> conv1_out, x;
  BlockScratch block;
};

// mel: (n_mels, 3000) row-major, one 30-s window exactly as openai-whisper feeds it.
// out: (n_audio_ctx, n_audio_state) row-major audio features.
void RunEncoder(const ModelWeights& w, const OpContext& ctx, const float* mel, EncoderScratch* scratch,
                float* out);

}  // namespace wisp
