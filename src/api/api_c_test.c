/* The C API from C11: defaults, argument checking, error codes and messages for missing and
 * damaged files, and result accessors tolerating NULL. (Transcription itself is covered by
 * api_test.cc, which can build a model.) Exits non-zero on the first failed check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/wisp.h"

static int failures = 0;

#define CHECK(cond)                                                    \
  do {                                                                 \
    if (!(cond)) {                                                     \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                      \
    }                                                                  \
  } while (0)

static int contains(const char* haystack, const char* needle) {
  return haystack != NULL && strstr(haystack, needle) != NULL;
}

int main(void) {
  wisp_params p = wisp_params_default();
  CHECK(p.n_threads == 0);
  CHECK(p.backend == WISP_BACKEND_FAST);
  CHECK(p.language == NULL && p.task == NULL && p.initial_prompt == NULL);
  CHECK(p.temperature == 0.0);
  CHECK(p.without_timestamps == 0);
  CHECK(p.condition_on_previous_text == 1);

  char* err = (char*)"untouched";
  wisp_model* model = (wisp_model*)&p; /* must be reset to NULL on failure */
  CHECK(wisp_model_load(NULL, NULL, &model, &err) == WISP_ERROR_INVALID_ARGUMENT);
  CHECK(model == NULL);
  CHECK(contains(err, "model_path"));
  wisp_free_string(err);

  err = NULL;
  CHECK(wisp_model_load("/nonexistent/ggml-tiny.bin", NULL, &model, &err) == WISP_ERROR_NOT_FOUND);
  CHECK(model == NULL);
  CHECK(contains(err, "/nonexistent/ggml-tiny.bin"));
  wisp_free_string(err);

  /* A file that is not a ggml model. */
  const char* bogus_path = "api_c_test_bogus.bin";
  FILE* f = fopen(bogus_path, "wb");
  CHECK(f != NULL);
  if (f != NULL) {
    fputs("this is not a model", f);
    fclose(f);
  }
  err = NULL;
  CHECK(wisp_model_load(bogus_path, NULL, &model, &err) == WISP_ERROR_BAD_INPUT);
  CHECK(contains(err, bogus_path));
  wisp_free_string(err);
  remove(bogus_path);

  err = NULL;
  CHECK(wisp_model_load_compute("/nonexistent/x.bin", NULL, "fp8", &model, &err) == WISP_ERROR_INVALID_ARGUMENT);
  CHECK(model == NULL);
  CHECK(contains(err, "compute: expected auto, f32, bf16 or int8, got 'fp8'"));
  wisp_free_string(err);
  CHECK(wisp_model_load_compute("/nonexistent/x.bin", NULL, "bf16", &model, NULL) == WISP_ERROR_NOT_FOUND);

  /* Error message out-param is optional. */
  CHECK(wisp_model_load("/nonexistent/x.bin", NULL, &model, NULL) == WISP_ERROR_NOT_FOUND);

  wisp_result* result = NULL;
  err = NULL;
  CHECK(wisp_transcribe_file(NULL, "a.wav", NULL, &result, &err) == WISP_ERROR_INVALID_ARGUMENT);
  CHECK(result == NULL);
  CHECK(contains(err, "must not be NULL"));
  wisp_free_string(err);

  /* Sessions and cancellation tokens (transcription through them: tests/session_test.cc). */
  CHECK(p.on_segment == NULL && p.on_progress == NULL && p.user_data == NULL && p.cancel == NULL);
  wisp_session* session = (wisp_session*)&p;
  err = NULL;
  CHECK(wisp_session_start(NULL, NULL, 16000, &session, &err) == WISP_ERROR_INVALID_ARGUMENT);
  CHECK(session == NULL);
  CHECK(contains(err, "must not be NULL"));
  wisp_free_string(err);
  CHECK(wisp_session_push(NULL, NULL, 0, NULL) == WISP_ERROR_INVALID_ARGUMENT);
  CHECK(wisp_session_finish(NULL, &result, NULL) == WISP_ERROR_INVALID_ARGUMENT);
  wisp_session_free(NULL);
  wisp_cancel* cancel = wisp_cancel_new();
  CHECK(cancel != NULL);
  wisp_cancel_set(cancel);
  wisp_cancel_reset(cancel);
  wisp_cancel_set(NULL);
  wisp_cancel_free(cancel);

  CHECK(wisp_result_segment_count(NULL) == 0);
  CHECK(strcmp(wisp_result_text(NULL), "") == 0);
  CHECK(wisp_result_segment_tokens(NULL, 0) == NULL);
  CHECK(wisp_model_n_vocab(NULL) == 0);
  CHECK(strcmp(wisp_model_tokenizer_source(NULL), "") == 0);
  CHECK(wisp_model_tokenizer_is_fallback(NULL) == 0);
  wisp_result_free(NULL);
  wisp_model_free(NULL);
  wisp_free_string(NULL);

  if (failures == 0) printf("api_c_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
