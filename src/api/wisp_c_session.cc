// The C API's streaming sessions (wisp.h: wisp_session_*) over api/session.h, and the
// cancellation tokens. As in wisp_c_api.cc, no C++ exception crosses into C.
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "api/c_api_internal.h"
#include "api/session.h"

struct wisp_session {
  // Owned copies of what the session's options point into.
  std::string language, task, initial_prompt, suppress_tokens, clip_timestamps, language_candidates;
  wisp_c::CallSetup setup;
  std::unique_ptr<wisp::Session> session;
};

using namespace wisp_c;  // NOLINT: this file implements the C API over these helpers

namespace {

// params with every string pointing into session's copies, so the caller's may go away.
wisp_params OwnedParams(const wisp_params* params, wisp_session* s) {
  wisp_params p = params != nullptr ? *params : wisp_params_default();
  auto own = [](const char* from, std::string* to) -> const char* {
    if (from == nullptr) return nullptr;
    *to = from;
    return to->c_str();
  };
  p.language = own(p.language, &s->language);
  p.task = own(p.task, &s->task);
  p.initial_prompt = own(p.initial_prompt, &s->initial_prompt);
  p.suppress_tokens = own(p.suppress_tokens, &s->suppress_tokens);
  p.clip_timestamps = own(p.clip_timestamps, &s->clip_timestamps);
  p.language_candidates = own(p.language_candidates, &s->language_candidates);
  return p;
}

}  // namespace

extern "C" {

wisp_status wisp_session_start(const wisp_model* model, const wisp_params* params, double sample_rate,
                               wisp_session** out_session, char** error_message) {
  if (out_session != nullptr) *out_session = nullptr;
  if (model == nullptr || out_session == nullptr) {
    return Fail(WISP_ERROR_INVALID_ARGUMENT, "wisp_session_start: model and out_session must not be NULL",
                error_message);
  }
  try {
    auto s = std::make_unique<wisp_session>();
    const wisp_params p = OwnedParams(params, s.get());
    Result<CallSetup> setup = PrepareCall(&p, *model->engine);
    if (!setup.ok()) return Fail(StatusCode(setup.status().kind()), setup.status().message(), error_message);
    s->setup = std::move(*setup);
    wisp::SessionConfig config;
    config.sample_rate = sample_rate;
    Result<std::unique_ptr<wisp::Session>> session =
        wisp::Session::Start(*model->engine, s->setup.options, s->setup.ctx, config);
    if (!session.ok()) return Fail(StatusCode(session.status().kind()), session.status().message(), error_message);
    s->session = std::move(*session);
    *out_session = s.release();
    return Succeed(error_message);
  } catch (const std::bad_alloc&) {
    return Fail(WISP_ERROR_INTERNAL, "out of memory starting a session", error_message);
  } catch (const std::exception& e) {
    return Fail(WISP_ERROR_INTERNAL, std::string("internal error: ") + e.what(), error_message);
  }
}

wisp_status wisp_session_push(wisp_session* session, const float* samples, unsigned long n_samples,
                              char** error_message) {
  if (session == nullptr || (samples == nullptr && n_samples > 0)) {
    return Fail(WISP_ERROR_INVALID_ARGUMENT, "wisp_session_push: session and samples must not be NULL",
                error_message);
  }
  try {
    const wisp::Status st = session->session->Push(samples, n_samples);
    if (!st.ok()) return Fail(StatusCode(st.kind()), st.message(), error_message);
    return Succeed(error_message);
  } catch (const std::bad_alloc&) {
    return Fail(WISP_ERROR_INTERNAL, "out of memory decoding pushed audio", error_message);
  } catch (const std::exception& e) {
    return Fail(WISP_ERROR_INTERNAL, std::string("internal error: ") + e.what(), error_message);
  }
}

wisp_status wisp_session_finish(wisp_session* session, wisp_result** out_result, char** error_message) {
  if (out_result != nullptr) *out_result = nullptr;
  if (session == nullptr || out_result == nullptr) {
    return Fail(WISP_ERROR_INVALID_ARGUMENT, "wisp_session_finish: session and out_result must not be NULL",
                error_message);
  }
  try {
    Result<wisp::TranscriptionResult> r = session->session->Finish();
    if (!r.ok()) return Fail(StatusCode(r.status().kind()), r.status().message(), error_message);
    *out_result = MakeResult(std::move(*r));
    return Succeed(error_message);
  } catch (const std::bad_alloc&) {
    return Fail(WISP_ERROR_INTERNAL, "out of memory finishing a session", error_message);
  } catch (const std::exception& e) {
    return Fail(WISP_ERROR_INTERNAL, std::string("internal error: ") + e.what(), error_message);
  }
}

void wisp_session_free(wisp_session* session) { delete session; }

wisp_cancel* wisp_cancel_new(void) { return new (std::nothrow) wisp_cancel(); }
void wisp_cancel_set(wisp_cancel* cancel) {
  if (cancel != nullptr) cancel->flag.store(true);
}
void wisp_cancel_reset(wisp_cancel* cancel) {
  if (cancel != nullptr) cancel->flag.store(false);
}
void wisp_cancel_free(wisp_cancel* cancel) { delete cancel; }

}  // extern "C"
