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
  std::vector<float> mel;  // a head and a tail's frames side by side
  BlockScratch block;
};

// mel: (n_mels, 3000) row-major, one 30-s window exactly as openai-whisper feeds it.
// head_ctx, tail_ctx: the positions to encode (the audio context), for a window that holds less
// than 30 s of audio: the first head_ctx positions (mel frames 0..2*head_ctx-1) and the last
// tail_ctx ones (the window's final 2*tail_ctx frames), each with its own positional row. Default
// (0, 0): all hp.n_audio_ctx positions, the official encoder. Dropping the padding in between
// makes the cost follow the audio's length (whisper.cpp's audio_ctx keeps a head only); the
// output is an approximation of the full window's kept rows -- attention sees fewer positions --
// so callers decide when that is acceptable (pipeline: TranscribeOptions::short_audio).
// Requires 1 <= head_ctx (when given) and head_ctx + tail_ctx <= hp.n_audio_ctx.
// out: (head_ctx + tail_ctx, n_audio_state) row-major audio features, head rows first.
void RunEncoder(const ModelWeights& w, const OpContext& ctx, const float* mel, EncoderScratch* scratch,
                float* out, int head_ctx = 0, int tail_ctx = 0);

}  // namespace wisp
