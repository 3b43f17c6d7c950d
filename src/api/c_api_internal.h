// What the C API's translation units share (wisp_c_api.cc: models, files, results;
// wisp_c_session.cc: streaming sessions): the opaque structs' definitions and the one
// conversion of wisp_params into validated TranscribeOptions plus worker threads.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "api/engine.h"
#include "api/wisp.h"
#include "pipeline/transcribe.h"
#include "util/status.h"
#include "util/thread_pool.h"

struct wisp_model {
  std::unique_ptr<wisp::WhisperEngine> engine;
};

struct wisp_result {
  wisp::TranscriptionResult result;     // texts as the pipeline produced them (raw token bytes)
  std::string text;                     // valid UTF-8 copies handed out by the accessors
  std::vector<std::string> segment_texts;
};

struct wisp_cancel {
  std::atomic<bool> flag{false};
};

namespace wisp_c {

template <typename T>
using Result = wisp::Result<T>;

char* CopyString(const std::string& s);
wisp_status StatusCode(wisp::ErrorKind kind);
// Stores a malloc'd copy of message in *error_message (when not NULL) and returns code.
wisp_status Fail(wisp_status code, const std::string& message, char** error_message);
wisp_status Succeed(char** error_message);

// The validated options (TranscribeOptions::ValidateForModel, as the CLI's) and the call's own
// worker threads. params NULL: wisp_params_default().
struct CallSetup {
  wisp::TranscribeOptions options;
  std::unique_ptr<wisp::ThreadPool> pool;
  wisp::OpContext ctx;
};
Result<CallSetup> PrepareCall(const wisp_params* params, const wisp::WhisperEngine& engine);

// wisp_model_load*: function names the entry point in messages.
wisp_status LoadModel(const char* function, const char* model_path, const char* tokenizer_file,
                      const wisp::LoadOptions& options, wisp_model** out_model, char** error_message);

// A heap wisp_result holding transcribed, with UTF-8-safe copies of the texts.
wisp_result* MakeResult(wisp::TranscriptionResult transcribed);

}  // namespace wisp_c
