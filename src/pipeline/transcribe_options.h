// Every option of openai-whisper's transcribe() (and its DecodingOptions) in one struct, checked in
// one place: the CLI, the C API and later front ends fill a TranscribeOptions and call Validate()
// before any model work, and Transcribe() calls it again, so a refusal reads the same everywhere.
#pragma once
#include <cmath>
#include <cstdint>
#include <atomic>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

namespace wisp {

struct Segment;
class Tokenizer;

// whisper.transcribe()'s default temperature tuple (exact literals, as the python default).
inline const std::vector<double>& DefaultTemperatures() {
  static const std::vector<double> t = {0.0, 0.2, 0.4, 0.6, 0.8, 1.0};
  return t;
}

// transcribe()'s defaults for prepend_punctuations / append_punctuations (word timestamps).
inline constexpr std::string_view kDefaultPrependPunctuations = "\"'\u201c\u00bf([{-";
inline constexpr std::string_view kDefaultAppendPunctuations =
    "\"'.\u3002,\uff0c!\uff01?\uff1f:\uff1a\u201d)]}\u3001";

// How a window holding less than 30 s of audio gets a shorter audio context (short_audio below).
// The head covers the audio: its frames plus margin_frames of the window's own padding, halved
// (two mel frames per encoder position), rounded up to a multiple of granularity, at least
// min_ctx. The tail keeps the window's last tail_ctx positions (pure padding, with their own
// positional rows): the model reads the end of its 30-s window when it places timestamps, and
// without it the last timestamp of a short clip moves (docs/PERFORMANCE.md, "Short-audio
// encoder"). A head and tail that would reach the full context give the full window.
struct ShortAudioRule {
  int margin_frames = 200;  // 2 s
  int granularity = 64;     // positions: matrix tiles stay full, few distinct sizes
  int min_ctx = 256;        // positions (5.12 s)
  int tail_ctx = 128;       // positions (2.56 s)
  // Confidence fallback: when a shortened window's decode sampled a token less probable than
  // this, the window is encoded again on all positions and decoded again (so its tokens are the
  // full window's). 0: never. 0.3 keeps 11 of 12 sentences and 43 of 45 short files
  // token-identical (docs/PERFORMANCE.md, "Short-audio encoder").
  double fallback_prob = 0.3;
};

// The positions RunEncoder keeps (model/encoder.h): the first head, the last tail.
struct AudioContext {
  int head = 0;
  int tail = 0;
  int total() const { return head + tail; }
  bool operator==(const AudioContext&) const = default;
};

// The audio context for a window of window_frames mel frames of audio (transcribe()'s
// segment_size) under rule: {n_audio_ctx, 0} for a full window, else the rule above. Pure
// arithmetic.
AudioContext ShortAudioContext(int64_t window_frames, int n_audio_ctx, const ShortAudioRule& rule);

struct TranscribeOptions {
  // A code ("en") or a name ("English"), as get_tokenizer accepts them. Empty: detected from the
  // first 30 s on a multilingual model (python's language=None), "en" on an English-only one.
  std::string language;
  // wisp's extension: detection chooses only among these codes (empty: every language).
  std::vector<std::string> language_candidates;
  std::string task = "transcribe";  // or "translate"

  // decode_with_fallback tries these in order until a result passes the thresholds below. One
  // entry is a single pass (python's float temperature).
  std::vector<double> temperatures = DefaultTemperatures();
  // Candidates sampled per window at T > 0, ranked by MaximumLikelihoodRanker (unset: one).
  // transcribe() ignores it at T = 0, as it ignores beam_size and patience at T > 0.
  std::optional<int> best_of = 5;
  std::optional<int> beam_size;          // beam search at T = 0 (unset: greedy)
  std::optional<double> patience;        // needs beam_size
  std::optional<double> length_penalty;  // in [0, 1]; unset: rank by sum_logprob / length

  bool without_timestamps = false;
  bool condition_on_previous_text = true;  // reset when the used temperature is > 0.5
  bool suppress_blank = true;
  std::string suppress_tokens = "-1";  // comma-separated ids; -1 = the non-speech set; "" = none
  double max_initial_timestamp = 1.0;  // seconds; 0 = no limit
  int sample_len = 0;                  // 0: n_text_ctx / 2 (224)
  std::string initial_prompt;          // empty: none (an empty python string is not reproduced)
  bool carry_initial_prompt = false;   // prepend the initial prompt to every window's prompt
  // Seconds: start,end,start,end,...; an odd count's last end is the end of the audio. Empty: the
  // whole file (python's "0").
  std::vector<double> clip_timestamps;
  // Word-level timestamps (pipeline/word_timestamps.h): every segment gets its words, and seek
  // follows the last word's end. The punctuation sets merge with the adjacent word.
  bool word_timestamps = false;
  std::string prepend_punctuations = std::string(kDefaultPrependPunctuations);
  std::string append_punctuations = std::string(kDefaultAppendPunctuations);
  std::optional<double> hallucination_silence_threshold;  // seconds; needs word_timestamps
  // wisp's extension (off by default, unlike whisper.cpp's silent audio_ctx): a window whose audio
  // ends before 30 s (a short file, the last window) runs the encoder and cross-attention on
  // ShortAudioContext positions instead of 1500, a cost proportional to the audio's length.
  // Output may differ from the full window's; docs/PERFORMANCE.md measures how often it does.
  // Language detection still reads the full first window (it is one pass, and its choice of
  // language changes every later window).
  bool short_audio = false;
  ShortAudioRule short_audio_rule;

  // The fallback thresholds; NaN disables one (python's None).
  double compression_ratio_threshold = 2.4;
  double logprob_threshold = -1.0;
  double no_speech_threshold = 0.6;

  // Seeds the generator of every sampled (T > 0) decode: equal seeds, equal output, whatever the
  // thread count.
  uint64_t seed = 0;
  // Called with every segment as soon as its window is decoded (the official verbose print).
  std::function<void(const Segment&)> on_segment;
  // Called before every window and at the end with the audio done so far and the audio's length, in seconds
  // (total_seconds < 0 while a stream's length is not known yet). Progress bars and ETAs.
  std::function<void(double done_seconds, double total_seconds)> on_progress;
  // Called once, before the first window is decoded (and before the first on_progress), with
  // the language in use and, when it was detected, every candidate's probability (empty
  // otherwise): what a front end reports before any segment (the official verbose "Detected
  // language", faster-whisper's info), which the result only carries at the end.
  std::function<void(const std::string& language, const std::vector<std::pair<std::string, double>>& probs)>
      on_language;
  // Checked before every window (and while audio is read): once set, from any thread, the
  // transcription stops and returns a kCancelled error. Not owned.
  const std::atomic<bool>* cancel = nullptr;

  // The model-independent checks, with the official's refusals: unknown task or language (or
  // candidate language), no temperature or one < 0, best_of or beam_size < 1, patience without
  // beam_size (or one leaving no candidate), length_penalty outside [0, 1], negative sample_len /
  // max_initial_timestamp / clip times, malformed suppress_tokens, a NaN-free threshold, and
  // a negative hallucination_silence_threshold or one without word_timestamps, and a
  // short_audio_rule with a negative margin or tail or a granularity or minimum context below 1.
  Status Validate() const;
  // Validate() plus what depends on the model: the language (and candidates) among its language
  // tokens, translate or a language other than English on an English-only model.
  Status ValidateForModel(const Tokenizer& tokenizer) const;
};

// The official CLI's temperature list: np.arange(start, 1.0 + 1e-6, increment) (start + i * step,
// as numpy fills it), or {start} when increment is unset (--temperature_increment_on_fallback
// None). Errors: start < 0, increment <= 0, or a start above 1 that leaves no temperature.
Result<std::vector<double>> FallbackTemperatures(double start, std::optional<double> increment);

// "200,64,256,128" -> ShortAudioRule{margin_frames 200, granularity 64, min_ctx 256, tail_ctx 128}.
// Errors name the field that is not a whole number in range (margin and tail >= 0, the others >= 1).
Result<ShortAudioRule> ParseShortAudioRule(const std::string& spec);

// "0,10.5,20" -> {0, 10.5, 20}; "" -> {} (the official's clip_timestamps string). Errors name
// the field that is not a number >= 0.
Result<std::vector<double>> ParseClipTimestamps(const std::string& spec);

}  // namespace wisp
