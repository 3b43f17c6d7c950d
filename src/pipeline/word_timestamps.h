// Word-level timestamps as openai-whisper computes them (whisper/timing.py, v20250625): the
// decoder is run once more over [sot_sequence, <|notimestamps|>, text tokens, <|endoftext|>],
// the cross-attention weights of the alignment heads are normalised, median-filtered and
// averaged, dynamic time warping aligns tokens to 20-ms audio frames, and the tokens' jumps
// become word boundaries; duration heuristics and punctuation merging follow.
//
// What the pipeline calls, per decoded 30-s window, right after SegmentWindowTokens has built
// the window's segments (before a segment of zero duration or blank text is cleared) and while
// the decoder still holds the window's cross K/V:
//   AddWordTimestamps(window_segments, tokenizer, model, segment_size, last_speech_timestamp, options)
// then, as transcribe() does (last_speech_timestamp starts at 0.0 for the file):
//   if (!single_timestamp_ending && LastWordEnd(window) > time_offset)
//     seek = nearbyint(*LastWordEnd(window) * 100)    // python round(): half to even
//   [hallucination_silence_threshold: SkipHallucinationSilences, pipeline/hallucination_filter.h]
//   if (LastWordEnd(window)) last_speech_timestamp = *LastWordEnd(window)
// and, when a segment is cleared for zero duration or blank text, its words are cleared too. The
// writers take WriterOptions{.word_timestamps = true, ...} (output_writers.h).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/decoder.h"
#include "model/formats/tensor_table.h"
#include "model/weights.h"
#include "ops/ops.h"
#include "pipeline/tokenizer.h"
#include "pipeline/transcribe.h"
#include "util/status.h"

namespace wisp {

// transcribe()'s punctuation defaults (kDefaultPrependPunctuations, kDefaultAppendPunctuations)
// live with the options, in pipeline/transcribe_options.h.

// ---- Alignment heads ------------------------------------------------------------------------

// openai-whisper's default for a checkpoint it has no table entry for: every head of the last
// half of the decoder layers (layers n_text_layer / 2 ..), in (layer, head) order.
std::vector<std::pair<int, int>> DefaultAlignmentHeads(const HParams& hp);

// The (layer, head) pairs of openai-whisper's _ALIGNMENT_HEADS for the published checkpoint
// these dimensions identify (width, decoder layers and heads, vocabulary size). Empty when no
// published model has them, or when two do with different heads (large-v1 and large-v2 have
// identical dimensions).
std::vector<std::pair<int, int>> PublishedAlignmentHeads(const HParams& hp);

// The heads to use: the checkpoint's own (metadata.alignment_heads), else the published table,
// else the default.
std::vector<std::pair<int, int>> ResolveAlignmentHeads(const ModelMetadata& metadata, const HParams& hp);

// ---- timing.py, piece by piece ----------------------------------------------------------------

// median_filter(x, filter_width) over the last axis of x, viewed as (rows, width): reflect
// padding of filter_width / 2 on each side, the middle of each sorted window (NaN sorts last, as
// torch.sort does). x is returned unchanged when width <= filter_width / 2. filter_width odd.
std::vector<float> MedianFilter(std::span<const float> x, int64_t rows, int64_t width, int filter_width);

// dtw_cpu + backtrace over x (n, m) row-major: the cost matrix in double, ties broken exactly
// as the official (diagonal only when strictly smallest, then up, else left). The path from
// (0, 0) to (n-1, m-1) as parallel index lists.
struct DtwPath {
  std::vector<int> text_indices;
  std::vector<int> time_indices;
};
DtwPath Dtw(std::span<const double> x, int n, int m);

// Tokenizer.split_to_word_tokens: for zh, ja, th, lo, my, yue at code-point boundaries
// (split_tokens_on_unicode), otherwise additionally joined at spaces (a subword starts a new
// word if it is special, starts with a space, is punctuation after strip(), or is the first).
// Words are python strings: decoded with errors="replace", valid UTF-8.
struct WordSplit {
  std::vector<std::string> words;
  std::vector<std::vector<int>> word_tokens;
};
WordSplit SplitToWordTokens(const Tokenizer& tokenizer, const std::vector<int>& tokens, std::string_view language);

// timing.py's WordTiming; times in seconds from the window start.
struct WordTiming {
  std::string word;
  std::vector<int> tokens;
  double start = 0, end = 0;
  double probability = 0;
};

// merge_punctuations: a word starting with a space whose strip() occurs in `prepended` joins the
// following word; a word occurring in `appended` joins a previous word that does not end in a
// space. The donor stays in place with empty word and tokens. Occurrence is python's substring
// test, as the official `in` on strings.
void MergePunctuations(std::vector<WordTiming>* alignment, std::string_view prepended, std::string_view appended);

// The softmax probability (over the ordinary tokens, ids < eot) of each text token where it was
// predicted: logits (n_tokens, n_vocab) of the forward pass over the sequence above, row
// sot_sequence_len + i (<|notimestamps|> and on) for text token i.
std::vector<double> TextTokenProbabilities(std::span<const float> logits, int n_vocab, int sot_sequence_len,
                                           const std::vector<int>& text_tokens, int eot);

// The rest of find_alignment once the forward pass is done. scores: the alignment heads' raw
// cross-attention scores (n_heads, n_tokens, n_audio_ctx), n_tokens = sot_sequence_len + 2 +
// text_tokens.size(); n_audio_ctx: the window's audio context (the model's 1500, or fewer for a
// short-audio window: TranscribeOptions::short_audio); num_frames: mel frames of real audio in
// the window (segment_size), of which at most 2 * n_audio_ctx are aligned.
struct AlignmentParams {
  int medfilt_width = 7;
  double qk_scale = 1.0;
};
std::vector<WordTiming> FindAlignmentFromScores(std::span<const float> scores, int n_heads, int n_audio_ctx,
                                                int sot_sequence_len, const std::vector<int>& text_tokens,
                                                const std::vector<double>& text_token_probs, int num_frames,
                                                const Tokenizer& tokenizer, std::string_view language,
                                                const AlignmentParams& params = {});

// The part of add_word_timestamps after find_alignment, on the window's segments: the median
// and maximum word durations, the sentence-boundary truncation, merge_punctuations, the words
// of each segment (times rounded as numpy rounds: rint(x * 100) / 100) and the segment-boundary
// fixes, which also move segment start/end. Sets every segment's words.
void ApplyWordAlignment(std::vector<WordTiming> alignment, std::span<Segment> segments, int eot,
                        double last_speech_timestamp, std::string_view prepend_punctuations,
                        std::string_view append_punctuations);

// ---- The integration ------------------------------------------------------------------------

// The model access find_alignment needs: the weights, and a decoder state whose cross K/V hold
// the window the segments came from (its self-attention cache is overwritten).
struct AlignmentModel {
  const ModelWeights* weights = nullptr;
  OpContext ctx;
  DecoderState* state = nullptr;
  std::vector<std::pair<int, int>> heads;  // ResolveAlignmentHeads
  // The forward pass's outputs (scores and logits: ~15 MB for a full window of tiny), kept from
  // window to window and never zeroed (the pass writes every element): fresh vectors cost a
  // memset and new pages every time. Scratch only, hence mutable; an AlignmentModel serves one
  // transcription at a time.
  struct Scratch {
    std::unique_ptr<float[]> data;
    size_t capacity = 0;
    std::span<float> Get(size_t n);  // n floats, uninitialised; grows by at least half
  };
  mutable Scratch scores_scratch, logits_scratch;
};

struct WordTimestampOptions {
  // The tokenizer's language and task (its sot_sequence; the language also picks the word
  // splitting). An English-only model's sot_sequence is <|startoftranscript|> alone.
  std::string language = "en";
  std::string task = "transcribe";
  std::string prepend_punctuations{kDefaultPrependPunctuations};
  std::string append_punctuations{kDefaultAppendPunctuations};
  AlignmentParams alignment;
};

// add_word_timestamps for one window: segments are the window's (their tokens with timestamps,
// seek, start, end), num_frames its segment_size, last_speech_timestamp transcribe()'s running
// value. Fills every segment's words and may move their start/end. No segments, or no text
// tokens: nothing to do (words stay empty). Errors: bad heads, an unknown language/task, a
// sequence longer than the decoder's context.
Status AddWordTimestamps(std::span<Segment> segments, const Tokenizer& tokenizer, const AlignmentModel& model,
                         int num_frames, double last_speech_timestamp, const WordTimestampOptions& options);

// transcribe()'s get_end: the end of the last word of the last segment that has words, else the
// last segment's end; nullopt without segments.
std::optional<double> LastWordEnd(std::span<const Segment> segments);

}  // namespace wisp
