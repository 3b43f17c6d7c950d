/* wisp: Whisper speech-to-text, C API.
 *
 * Usage:
 *   wisp_model* model = NULL;
 *   char* err = NULL;
 *   if (wisp_model_load("ggml-tiny.en.bin", NULL, &model, &err) != WISP_OK) {
 *     fprintf(stderr, "%s\n", err); wisp_free_string(err); return 1;
 *   }
 *   wisp_params params = wisp_params_default();
 *   wisp_result* result = NULL;
 *   if (wisp_transcribe_file(model, "jfk.wav", &params, &result, &err) == WISP_OK) {
 *     for (int i = 0; i < wisp_result_segment_count(result); ++i)
 *       printf("%.2f %s\n", wisp_result_segment_start(result, i), wisp_result_segment_text(result, i));
 *     wisp_result_free(result);
 *   }
 *   wisp_model_free(model);
 *
 * Errors: every fallible call returns a wisp_status and, when error_message is not NULL, stores a
 * malloc'd message naming the problem (free it with wisp_free_string); on success *error_message
 * is set to NULL. There is no global error state.
 *
 * Threads: a wisp_model holds only immutable data (weights, mel filters, tokenizer), so several
 * threads may call wisp_transcribe_file on the same model concurrently; each call uses its own
 * worker threads (params.n_threads) and returns its own wisp_result. A wisp_result is read-only
 * after creation. wisp_model_free must not race with calls using that model.
 *
 * Strings returned by accessors are valid UTF-8 (bytes that a token sequence leaves invalid are
 * replaced by U+FFFD, as openai-whisper's text is) and live as long as their result. */
#ifndef WISP_H_
#define WISP_H_

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wisp_model wisp_model;
typedef struct wisp_result wisp_result;
typedef struct wisp_session wisp_session;
typedef struct wisp_cancel wisp_cancel;

typedef enum wisp_status {
  WISP_OK = 0,
  WISP_ERROR_INVALID_ARGUMENT = 1, /* a NULL pointer, bad parameter value, unknown language */
  WISP_ERROR_BAD_INPUT = 2,        /* damaged model/audio/tokenizer file */
  WISP_ERROR_NOT_FOUND = 3,        /* a file does not exist */
  WISP_ERROR_IO = 4,               /* a file could not be read or written */
  WISP_ERROR_UNSUPPORTED = 5,      /* e.g. an audio format this build cannot decode */
  WISP_ERROR_NETWORK = 6,
  WISP_ERROR_INTERNAL = 7,         /* out of memory or a bug */
  WISP_ERROR_CANCELLED = 8         /* the caller cancelled the transcription */
} wisp_status;

typedef enum wisp_backend {
  WISP_BACKEND_FAST = 0,      /* SIMD kernels, the default */
  WISP_BACKEND_REFERENCE = 1  /* plain loops, for checking results */
} wisp_backend;

/* Every field is validated by the same code as the command line's flags (TranscribeOptions::
 * Validate): a refused value makes wisp_transcribe_file return WISP_ERROR_INVALID_ARGUMENT with
 * the official's message. "Unset" below is python's None. */
typedef struct wisp_params {
  int n_threads;              /* 0: the machine's physical cores */
  wisp_backend backend;
  const char* language;       /* "en", "de", "English", ...; NULL or "": English for .en models, else
                                 detected from the first 30 s (openai-whisper's language=None) */
  const char* task;           /* "transcribe" (NULL) or "translate" */
  /* The first temperature; with temperature_increment_on_fallback > 0 the fallback tries
     temperature, + increment, ... up to 1.0 (np.arange(t, 1.0 + 1e-6, inc)); <= 0: one pass. The
     defaults (0, 0.2) give transcribe()'s (0.0, 0.2, 0.4, 0.6, 0.8, 1.0). */
  double temperature;
  double temperature_increment_on_fallback;
  int without_timestamps;     /* non-zero: <|notimestamps|> decoding, one segment per window */
  const char* initial_prompt; /* NULL: none */
  int condition_on_previous_text; /* non-zero (default): previous text prompts the next window */
  int carry_initial_prompt;   /* non-zero: the initial prompt starts every window's prompt */
  int best_of;                /* samples per window at T > 0 (default 5); 0: unset (one) */
  int beam_size;              /* beams at T = 0; 0: unset (greedy) */
  double patience;            /* NaN: unset (needs beam_size) */
  double length_penalty;      /* NaN: unset; else in [0, 1] */
  double compression_ratio_threshold; /* 2.4; NaN: off */
  double logprob_threshold;   /* -1.0; NaN: off */
  double no_speech_threshold; /* 0.6; NaN: off */
  const char* suppress_tokens; /* NULL: "-1" (the non-speech symbols); "": none */
  int suppress_blank;         /* non-zero (default) */
  double max_initial_timestamp; /* seconds, 1.0; 0: no limit */
  const char* clip_timestamps; /* "start,end,..." seconds; NULL or "": the whole file */
  const char* language_candidates; /* "en,de,fr": detection among these; NULL: all */
  unsigned long long seed;    /* of the sampling at T > 0 (default 0) */
  /* Called on the transcribing thread with each segment as soon as its window is decoded
     (start/end in seconds; text valid UTF-8, valid during the call only). NULL: none. */
  void (*on_segment)(double start, double end, const char* text, void* user_data);
  /* Called before every window and at the end: seconds of audio done and the audio's length
     (negative while a stream's length is unknown). NULL: none. */
  void (*on_progress)(double done_seconds, double total_seconds, void* user_data);
  void* user_data;            /* passed to the callbacks */
  /* NULL, or a token from wisp_cancel_new: once wisp_cancel_set is called on it (from any thread),
     the transcription stops before its next window or audio block with WISP_ERROR_CANCELLED. */
  wisp_cancel* cancel;
  /* Non-zero: a window holding less than 30 s of audio (a short file, the last window) is encoded
     on fewer positions, in proportion to its audio: faster, but the text may differ slightly from
     the full window's (docs/PERFORMANCE.md, "Short-audio encoder"). Default 0. */
  int short_audio;
} wisp_params;

/* Defaults equal to openai-whisper's transcribe(): the temperature fallback with best_of 5. */
wisp_params wisp_params_default(void);

/* Loads a whisper.cpp ggml model file. tokenizer_file: a tiktoken ranks file (gpt2.tiktoken /
 * multilingual.tiktoken) or NULL to look next to the model and in $WISP_ASSETS, falling back to
 * the vocabulary in the model file. Quantized models (q8_0, q5_x, q4_x) multiply in integers on
 * int8-rounded activations where the CPU has AVX-512 VNNI, as whisper.cpp does (the CLI's
 * --q8-exact is not exposed here yet). */
wisp_status wisp_model_load(const char* model_path, const char* tokenizer_file, wisp_model** out_model,
                            char** error_message);
/* As wisp_model_load, for the fast backend only (the weights held once, in their packed form;
 * WISP_BACKEND_REFERENCE calls are then refused), computing in `compute`: "auto" (NULL, and what
 * wisp_model_load uses: the fastest type within the drift budget of docs/PERFORMANCE.md, bf16 for
 * float models on AVX512_BF16 CPUs, int8 for quantized models on VNNI except q5_0/q4_0, else f32),
 * "f32" (exact: openai-whisper's tokens), "bf16" (AVX512_BF16; f32 elsewhere) or "int8" (VNNI;
 * float models quantized to q8_0 at load). An unknown name is WISP_ERROR_INVALID_ARGUMENT. */
wisp_status wisp_model_load_compute(const char* model_path, const char* tokenizer_file, const char* compute,
                                    wisp_model** out_model, char** error_message);
void wisp_model_free(wisp_model* model);
/* "multilingual" or "English-only"-style facts about a loaded model. */
int wisp_model_is_multilingual(const wisp_model* model);
int wisp_model_n_vocab(const wisp_model* model);
/* Which tokenizer the model decodes with, as a sentence: "tiktoken file /x/gpt2.tiktoken", or
 * "the vocabulary embedded in ..." when no tiktoken file was found. Lives as long as the model;
 * "" for NULL. */
const char* wisp_model_tokenizer_source(const wisp_model* model);
/* Non-zero when that is the model file's own vocabulary: whisper.cpp's files lost the tokens
 * that are not valid UTF-8 on their own, so non-ASCII text may decode differently from
 * openai-whisper. Fix: pass gpt2.tiktoken / multilingual.tiktoken as tokenizer_file (or put it
 * next to the model; `wisp models download` does). 0 for NULL. */
int wisp_model_tokenizer_is_fallback(const wisp_model* model);

/* Transcribes one audio file (WAV, or anything ffmpeg reads when built with it). params may be
 * NULL for the defaults. */
wisp_status wisp_transcribe_file(const wisp_model* model, const char* audio_path, const wisp_params* params,
                                 wisp_result** out_result, char** error_message);
void wisp_result_free(wisp_result* result);

/* Streaming: audio pushed as it arrives (a microphone, a network stream), each 30-s window
 * decoded as soon as it is complete (segments reach params->on_segment during push), memory flat
 * however long the stream. sample_rate: of the pushed samples (1000-384000; resampled to
 * 16 kHz). The spectrogram's scale is the official's maximum over the audio so far (a live stream
 * cannot know its end); wisp_transcribe_file is exactly the official on files. params is copied
 * (its strings too); the model must outlive the session. One thread at a time per session. */
wisp_status wisp_session_start(const wisp_model* model, const wisp_params* params, double sample_rate,
                               wisp_session** out_session, char** error_message);
/* Mono float samples, nominally in [-1, 1]; a NaN/infinite/absurd sample is WISP_ERROR_BAD_INPUT
 * and ends the session (every later call returns the same error). */
wisp_status wisp_session_push(wisp_session* session, const float* samples, unsigned long n_samples,
                              char** error_message);
/* Ends the stream: decodes what remains and returns the whole result. */
wisp_status wisp_session_finish(wisp_session* session, wisp_result** out_result, char** error_message);
void wisp_session_free(wisp_session* session);

/* Cancellation tokens for wisp_params.cancel: set from any thread; reusable after reset. */
wisp_cancel* wisp_cancel_new(void);
void wisp_cancel_set(wisp_cancel* cancel);
void wisp_cancel_reset(wisp_cancel* cancel);
void wisp_cancel_free(wisp_cancel* cancel);

const char* wisp_result_text(const wisp_result* result);
const char* wisp_result_language(const wisp_result* result);
int wisp_result_segment_count(const wisp_result* result);
/* Segment accessors: i in [0, count); out-of-range i gives 0 / "" / NULL. Times in seconds. */
double wisp_result_segment_start(const wisp_result* result, int i);
double wisp_result_segment_end(const wisp_result* result, int i);
const char* wisp_result_segment_text(const wisp_result* result, int i);
int wisp_result_segment_token_count(const wisp_result* result, int i);
const int* wisp_result_segment_tokens(const wisp_result* result, int i);
double wisp_result_segment_avg_logprob(const wisp_result* result, int i);
double wisp_result_segment_no_speech_prob(const wisp_result* result, int i);
double wisp_result_segment_temperature(const wisp_result* result, int i);
/* Detected-language probabilities (0 entries when the language was given or the model is
 * English-only): codes in token order. */
int wisp_result_language_prob_count(const wisp_result* result);
const char* wisp_result_language_prob_code(const wisp_result* result, int i);
double wisp_result_language_prob(const wisp_result* result, int i);

/* The result as openai-whisper's writers would write it: format "txt", "vtt", "srt", "tsv" or
 * "json". *out is malloc'd (free with wisp_free_string). */
wisp_status wisp_result_format(const wisp_result* result, const char* format, char** out, char** error_message);

void wisp_free_string(char* s);

#ifdef __cplusplus
}
#endif

#endif /* WISP_H_ */
