// openai-whisper's transcribe() at a fixed temperature: 30-s windows, seeking by timestamp
// tokens, segments with start/end and the official statistics.
#pragma once
#include <string>
#include <vector>

#include "audio/mel.h"
#include "model/weights.h"
#include "ops/ops.h"
#include "pipeline/tokenizer.h"
#include "util/status.h"

namespace wisp {

struct Segment {
  int id = 0;
  int seek = 0;  // frame offset of the window that produced it
  double start = 0, end = 0;
  std::string text;
  std::vector<int> tokens;
  double temperature = 0;
  double avg_logprob = 0;
  double compression_ratio = 0;
  double no_speech_prob = 0;
};

struct TranscriptionResult {
  std::string text;
  std::string language;
  std::vector<Segment> segments;
};

struct TranscribeOptions {
  std::string language = "en";     // code as in whisper's LANGUAGES ("en", "de", ...)
  std::string task = "transcribe";  // or "translate"
  double temperature = 0.0;
  bool without_timestamps = false;
  bool condition_on_previous_text = true;
  bool suppress_blank = true;
  std::string suppress_tokens = "-1";  // comma-separated ids; -1 = the non-speech set
  double max_initial_timestamp = 1.0;
  int sample_len = 0;  // 0: n_text_ctx / 2 (224)
  std::string initial_prompt;
  double compression_ratio_threshold = 2.4;
  double logprob_threshold = -1.0;
  double no_speech_threshold = 0.6;
};

Result<TranscriptionResult> Transcribe(const ModelWeights& weights, const Tokenizer& tokenizer,
                                       const OpContext& ctx, const LogMelSpectrogram& mel,
                                       const TranscribeOptions& options);

}  // namespace wisp
