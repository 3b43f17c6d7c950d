// openai-whisper's transcribe() (v20250625): 30-s windows (within clip_timestamps), each decoded
// with the temperature fallback, seeking by timestamp tokens, segments with start/end and the
// official statistics, word timestamps (pipeline/word_timestamps.h) and the silences skipped
// around likely hallucinations (pipeline/hallucination_filter.h).
#pragma once
#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "audio/mel.h"
#include "model/formats/tensor_table.h"
#include "model/weights.h"
#include "ops/ops.h"
#include "pipeline/decoding.h"
#include "pipeline/tokenizer.h"
#include "pipeline/transcribe_options.h"
#include "util/status.h"

namespace wisp {

// One entry of a segment's "words" (word_timestamps=True, pipeline/word_timestamps.h): the word
// as decoded (leading space included), start/end in seconds rounded to 0.01, and the mean
// probability of its tokens.
struct Word {
  std::string word;
  double start = 0, end = 0;
  double probability = 0;
  // One heuristic of the official sets start to max(0, ...), which is the python int 0 when the
  // other value is not positive; json.dump then writes "0", not "0.0".
  bool start_is_int_zero = false;
};

// One entry of the official result["segments"]. A segment of zero duration or blank text keeps
// its place (and id) with text "" and no tokens, as the official clears rather than removes it.
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
  std::vector<Word> words;  // filled only with word timestamps
};

struct TranscriptionResult {
  std::string text;
  std::string language;
  std::vector<Segment> segments;
  // Every candidate language's probability when the language was detected (token order);
  // empty when it was given or the model is English-only.
  std::vector<std::pair<std::string, double>> language_probs;
  // TranscribeOptions::short_audio: windows encoded on a shortened context, and how many of them
  // the confidence check (ShortAudioRule::fallback_prob) decoded again on the full window.
  int short_audio_windows = 0;
  int short_audio_fallbacks = 0;
};

// transcribe()'s loop variables in one object, so that a streaming front end can keep feeding
// windows through the same state: where the next window starts, the tokens so far (the prompt
// source), the clip being decoded and the sampling generator.
struct TranscribeState {
  int64_t seek = 0;           // frame where the next window starts
  size_t clip_index = 0;      // into clips
  std::vector<std::pair<int64_t, int64_t>> clips;  // [start, end) frames (seek_clips)
  std::vector<int> all_tokens;  // initial prompt tokens, then every segment's tokens
  size_t prompt_reset_since = 0;  // all_tokens[prompt_reset_since:] prompts the next window
  std::vector<int> initial_prompt_tokens;
  double last_temperature = 0;  // of the last decoded window
  std::mt19937_64 rng;

  // seek_clips from the options' clip_timestamps (round(t * 100) frames; an odd count ends at
  // content_frames; none is the whole file), seek at the first clip's start, the initial prompt
  // as the first prompt.
  static TranscribeState Start(const TranscribeOptions& options, const std::vector<int>& initial_prompt_tokens,
                               int64_t content_frames);

  // The official's clip bookkeeping at the top of its loop: moves seek into the current clip,
  // past finished clips; false when every clip is done.
  bool NextWindow();
  // The frames of the window at seek: min(N_FRAMES, content_frames - seek, clip end - seek).
  int64_t WindowFrames(int64_t content_frames) const;
  // The prompt of the window at seek: all_tokens[prompt_reset_since:], or with
  // carry_initial_prompt the initial prompt plus the tail of the rest that fits.
  std::vector<int> Prompt(bool carry_initial_prompt, int n_text_ctx) const;
  // After a window decoded at `temperature`: the prompt restarts when conditioning is off or
  // the temperature was above 0.5.
  void FinishWindow(double temperature, bool condition_on_previous_text);
};

// metadata: the checkpoint's (LoadedModel::metadata); with word timestamps its alignment heads,
// else openai-whisper's table for these dimensions, else the default (ResolveAlignmentHeads).
// Errors: a spectrogram whose n_mels differs from the model's, and TranscribeOptions::
// ValidateForModel's and PlanDecoding's refusals.
Result<TranscriptionResult> Transcribe(const ModelWeights& weights, const Tokenizer& tokenizer,
                                       const OpContext& ctx, const LogMelSpectrogram& mel,
                                       const TranscribeOptions& options, const ModelMetadata* metadata = nullptr);

// transcribe()'s decode_with_fallback on the window the decoder holds: decodes at each
// temperature in turn until the result is neither too repetitive (compression ratio above its
// threshold) nor too improbable (avg_logprob below its threshold), a likely-silent window
// (no_speech_prob above its threshold with a low avg_logprob) never counting as a failure.
// As transcribe() does, best_of applies only at T > 0 and beam_size / patience only at T = 0.
Result<DecodingResult> DecodeWithFallback(WindowDecoder* decoder, const DecodingOptions& base_options,
                                          const TranscribeOptions& options, std::mt19937_64* rng);

}  // namespace wisp
