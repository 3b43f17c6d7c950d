// The C API over WhisperEngine. Every entry point catches C++ exceptions (std::bad_alloc in
// practice) so that none crosses into C.
#include "api/wisp.h"

#include <cmath>
#include <cstdlib>
#include <optional>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "api/c_api_internal.h"
#include "api/engine.h"
#include "pipeline/output_writers.h"
#include "pipeline/text_metrics.h"
#include "util/thread_pool.h"

namespace wisp_c {

char* CopyString(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out != nullptr) std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

wisp_status StatusCode(wisp::ErrorKind kind) {
  switch (kind) {
    case wisp::ErrorKind::kOk: return WISP_OK;
    case wisp::ErrorKind::kInvalidArgument: return WISP_ERROR_INVALID_ARGUMENT;
    case wisp::ErrorKind::kBadInput: return WISP_ERROR_BAD_INPUT;
    case wisp::ErrorKind::kNotFound: return WISP_ERROR_NOT_FOUND;
    case wisp::ErrorKind::kIo: return WISP_ERROR_IO;
    case wisp::ErrorKind::kUnsupported: return WISP_ERROR_UNSUPPORTED;
    case wisp::ErrorKind::kNetwork: return WISP_ERROR_NETWORK;
    case wisp::ErrorKind::kCancelled: return WISP_ERROR_CANCELLED;
  }
  return WISP_ERROR_INTERNAL;
}

wisp_status Fail(wisp_status code, const std::string& message, char** error_message) {
  if (error_message != nullptr) *error_message = CopyString(message);
  return code;
}

wisp_status Succeed(char** error_message) {
  if (error_message != nullptr) *error_message = nullptr;
  return WISP_OK;
}

const wisp::Segment* SegmentAt(const wisp_result* r, int i) {
  if (r == nullptr || i < 0 || i >= static_cast<int>(r->result.segments.size())) return nullptr;
  return &r->result.segments[i];
}

template <typename T>
using Result = wisp::Result<T>;

std::vector<std::string> SplitCommas(const char* s) {
  std::vector<std::string> out;
  if (s == nullptr) return out;
  std::string item;
  for (const char* c = s;; ++c) {
    if (*c == ',' || *c == '\0') {
      if (!item.empty()) out.push_back(item);
      item.clear();
      if (*c == '\0') break;
    } else {
      item += *c;
    }
  }
  return out;
}

// wisp_params as TranscribeOptions; the values are checked by TranscribeOptions::Validate, as the
// CLI's are.
Result<wisp::TranscribeOptions> OptionsFromParams(const wisp_params& p, const wisp::WhisperEngine& engine) {
  wisp::TranscribeOptions o;
  o.language = p.language != nullptr ? p.language : "";
  if (o.language.empty() && !engine.hparams().multilingual()) o.language = "en";
  o.task = p.task != nullptr && *p.task != '\0' ? p.task : "transcribe";
  Result<std::vector<double>> temperatures = wisp::FallbackTemperatures(
      p.temperature, p.temperature_increment_on_fallback > 0 ? std::optional<double>(p.temperature_increment_on_fallback)
                                                             : std::nullopt);
  if (!temperatures.ok()) return temperatures.status();
  // transcribe()'s literal default tuple for the default pair (arange gives 0.6000000000000001).
  o.temperatures = p.temperature == 0.0 && p.temperature_increment_on_fallback == 0.2 ? wisp::DefaultTemperatures()
                                                                                      : *temperatures;
  o.without_timestamps = p.without_timestamps != 0;
  o.condition_on_previous_text = p.condition_on_previous_text != 0;
  o.carry_initial_prompt = p.carry_initial_prompt != 0;
  o.short_audio = p.short_audio != 0;
  if (p.initial_prompt != nullptr) o.initial_prompt = p.initial_prompt;
  o.best_of = p.best_of != 0 ? std::optional<int>(p.best_of) : std::nullopt;
  o.beam_size = p.beam_size != 0 ? std::optional<int>(p.beam_size) : std::nullopt;
  if (!std::isnan(p.patience)) o.patience = p.patience;
  if (!std::isnan(p.length_penalty)) o.length_penalty = p.length_penalty;
  o.compression_ratio_threshold = p.compression_ratio_threshold;
  o.logprob_threshold = p.logprob_threshold;
  o.no_speech_threshold = p.no_speech_threshold;
  if (p.suppress_tokens != nullptr) o.suppress_tokens = p.suppress_tokens;
  o.suppress_blank = p.suppress_blank != 0;
  o.max_initial_timestamp = p.max_initial_timestamp;
  if (p.clip_timestamps != nullptr) {
    Result<std::vector<double>> clips = wisp::ParseClipTimestamps(p.clip_timestamps);
    if (!clips.ok()) return clips.status();
    o.clip_timestamps = *clips;
  }
  if (engine.hparams().multilingual()) o.language_candidates = SplitCommas(p.language_candidates);
  o.seed = p.seed;
  if (p.cancel != nullptr) o.cancel = &p.cancel->flag;
  if (p.on_segment != nullptr) {
    o.on_segment = [cb = p.on_segment, user = p.user_data](const wisp::Segment& s) {
      const std::string text = wisp::ReplaceInvalidUtf8(s.text);
      cb(s.start, s.end, text.c_str(), user);
    };
  }
  if (p.on_progress != nullptr) {
    o.on_progress = [cb = p.on_progress, user = p.user_data](double done, double total) { cb(done, total, user); };
  }
  return o;
}

Result<CallSetup> PrepareCall(const wisp_params* params, const wisp::WhisperEngine& engine) {
  const wisp_params p = params != nullptr ? *params : wisp_params_default();
  if (p.n_threads < 0) return wisp::InvalidArgument("n_threads must be >= 0, got " + std::to_string(p.n_threads));
  if (p.backend != WISP_BACKEND_FAST && p.backend != WISP_BACKEND_REFERENCE) {
    return wisp::InvalidArgument("unknown backend " + std::to_string(static_cast<int>(p.backend)));
  }
  Result<wisp::TranscribeOptions> options = OptionsFromParams(p, engine);
  if (!options.ok()) return options.status();
  WISP_RETURN_IF_ERROR(options->ValidateForModel(engine.tokenizer()));
  CallSetup setup;
  setup.options = std::move(*options);
  setup.pool = std::make_unique<wisp::ThreadPool>(p.n_threads > 0 ? p.n_threads : wisp::ThreadPool::DefaultThreadCount());
  setup.ctx.pool = setup.pool.get();
  setup.ctx.backend = p.backend == WISP_BACKEND_REFERENCE ? wisp::Backend::kReference : wisp::Backend::kFast;
  return setup;
}

wisp_result* MakeResult(wisp::TranscriptionResult transcribed) {
  auto result = std::make_unique<wisp_result>();
  result->result = std::move(transcribed);
  result->text = wisp::ReplaceInvalidUtf8(result->result.text);
  for (const wisp::Segment& s : result->result.segments) result->segment_texts.push_back(wisp::ReplaceInvalidUtf8(s.text));
  return result.release();
}

wisp_status LoadModel(const char* function, const char* model_path, const char* tokenizer_file,
                      const wisp::LoadOptions& options, wisp_model** out_model, char** error_message) {
  if (out_model != nullptr) *out_model = nullptr;
  if (model_path == nullptr || out_model == nullptr) {
    return Fail(WISP_ERROR_INVALID_ARGUMENT, std::string(function) + ": model_path and out_model must not be NULL",
                error_message);
  }
  try {
    auto engine = wisp::WhisperEngine::Load(model_path, tokenizer_file != nullptr ? tokenizer_file : "", options);
    if (!engine.ok()) return Fail(StatusCode(engine.status().kind()), engine.status().message(), error_message);
    *out_model = new wisp_model{std::move(*engine)};
    return Succeed(error_message);
  } catch (const std::bad_alloc&) {
    return Fail(WISP_ERROR_INTERNAL, "out of memory loading " + std::string(model_path), error_message);
  } catch (const std::exception& e) {
    return Fail(WISP_ERROR_INTERNAL, std::string("internal error: ") + e.what(), error_message);
  }
}

}  // namespace wisp_c

using namespace wisp_c;  // NOLINT: this file implements the C API over these helpers

extern "C" {

wisp_params wisp_params_default(void) {
  wisp_params p;
  p.n_threads = 0;
  p.backend = WISP_BACKEND_FAST;
  p.language = nullptr;
  p.task = nullptr;
  p.temperature = 0.0;
  p.temperature_increment_on_fallback = 0.2;
  p.without_timestamps = 0;
  p.initial_prompt = nullptr;
  p.condition_on_previous_text = 1;
  p.carry_initial_prompt = 0;
  p.short_audio = 0;
  p.best_of = 5;
  p.beam_size = 0;
  p.patience = std::nan("");
  p.length_penalty = std::nan("");
  p.compression_ratio_threshold = 2.4;
  p.logprob_threshold = -1.0;
  p.no_speech_threshold = 0.6;
  p.suppress_tokens = nullptr;
  p.suppress_blank = 1;
  p.max_initial_timestamp = 1.0;
  p.clip_timestamps = nullptr;
  p.language_candidates = nullptr;
  p.seed = 0;
  p.on_segment = nullptr;
  p.on_progress = nullptr;
  p.user_data = nullptr;
  p.cancel = nullptr;
  return p;
}

wisp_status wisp_model_load(const char* model_path, const char* tokenizer_file, wisp_model** out_model,
                            char** error_message) {
  return LoadModel("wisp_model_load", model_path, tokenizer_file, wisp::LoadOptions{}, out_model, error_message);
}

wisp_status wisp_model_load_compute(const char* model_path, const char* tokenizer_file, const char* compute,
                                    wisp_model** out_model, char** error_message) {
  if (out_model != nullptr) *out_model = nullptr;
  const std::optional<wisp::ComputeType> type = wisp::ParseComputeType(compute != nullptr ? compute : "auto");
  if (!type) {
    return Fail(WISP_ERROR_INVALID_ARGUMENT,
                std::string("compute: expected auto, f32, bf16 or int8, got '") + compute + "'", error_message);
  }
  wisp::LoadOptions options;
  options.keep_f32_matrices = false;  // the fast backend's panels only: the weights are held once
  options.compute = *type;
  return LoadModel("wisp_model_load_compute", model_path, tokenizer_file, options, out_model, error_message);
}

void wisp_model_free(wisp_model* model) { delete model; }

int wisp_model_is_multilingual(const wisp_model* model) {
  return model != nullptr && model->engine->hparams().multilingual() ? 1 : 0;
}

int wisp_model_n_vocab(const wisp_model* model) {
  return model != nullptr ? model->engine->hparams().n_vocab : 0;
}

const char* wisp_model_tokenizer_source(const wisp_model* model) {
  return model != nullptr ? model->engine->tokenizer_source().c_str() : "";
}

int wisp_model_tokenizer_is_fallback(const wisp_model* model) {
  return model != nullptr && model->engine->tokenizer_is_ggml_fallback() ? 1 : 0;
}

wisp_status wisp_transcribe_file(const wisp_model* model, const char* audio_path, const wisp_params* params,
                                 wisp_result** out_result, char** error_message) {
  if (out_result != nullptr) *out_result = nullptr;
  if (model == nullptr || audio_path == nullptr || out_result == nullptr) {
    return Fail(WISP_ERROR_INVALID_ARGUMENT,
                "wisp_transcribe_file: model, audio_path and out_result must not be NULL", error_message);
  }
  try {
    const wisp::WhisperEngine& engine = *model->engine;
    Result<CallSetup> setup = PrepareCall(params, engine);
    if (!setup.ok()) return Fail(StatusCode(setup.status().kind()), setup.status().message(), error_message);
    auto transcribed = engine.TranscribeFile(audio_path, setup->options, setup->ctx);
    if (!transcribed.ok()) {
      return Fail(StatusCode(transcribed.status().kind()), transcribed.status().message(), error_message);
    }
    *out_result = MakeResult(std::move(*transcribed));
    return Succeed(error_message);
  } catch (const std::bad_alloc&) {
    return Fail(WISP_ERROR_INTERNAL, "out of memory transcribing " + std::string(audio_path), error_message);
  } catch (const std::exception& e) {
    return Fail(WISP_ERROR_INTERNAL, std::string("internal error: ") + e.what(), error_message);
  }
}

void wisp_result_free(wisp_result* result) { delete result; }

const char* wisp_result_text(const wisp_result* result) { return result != nullptr ? result->text.c_str() : ""; }

const char* wisp_result_language(const wisp_result* result) {
  return result != nullptr ? result->result.language.c_str() : "";
}

int wisp_result_segment_count(const wisp_result* result) {
  return result != nullptr ? static_cast<int>(result->result.segments.size()) : 0;
}

double wisp_result_segment_start(const wisp_result* result, int i) {
  const wisp::Segment* s = SegmentAt(result, i);
  return s != nullptr ? s->start : 0.0;
}

double wisp_result_segment_end(const wisp_result* result, int i) {
  const wisp::Segment* s = SegmentAt(result, i);
  return s != nullptr ? s->end : 0.0;
}

const char* wisp_result_segment_text(const wisp_result* result, int i) {
  return SegmentAt(result, i) != nullptr ? result->segment_texts[i].c_str() : "";
}

int wisp_result_segment_token_count(const wisp_result* result, int i) {
  const wisp::Segment* s = SegmentAt(result, i);
  return s != nullptr ? static_cast<int>(s->tokens.size()) : 0;
}

const int* wisp_result_segment_tokens(const wisp_result* result, int i) {
  const wisp::Segment* s = SegmentAt(result, i);
  return s != nullptr && !s->tokens.empty() ? s->tokens.data() : nullptr;
}

double wisp_result_segment_avg_logprob(const wisp_result* result, int i) {
  const wisp::Segment* s = SegmentAt(result, i);
  return s != nullptr ? s->avg_logprob : 0.0;
}

double wisp_result_segment_no_speech_prob(const wisp_result* result, int i) {
  const wisp::Segment* s = SegmentAt(result, i);
  return s != nullptr ? s->no_speech_prob : 0.0;
}

double wisp_result_segment_temperature(const wisp_result* result, int i) {
  const wisp::Segment* s = SegmentAt(result, i);
  return s != nullptr ? s->temperature : 0.0;
}

int wisp_result_language_prob_count(const wisp_result* result) {
  return result != nullptr ? static_cast<int>(result->result.language_probs.size()) : 0;
}

const char* wisp_result_language_prob_code(const wisp_result* result, int i) {
  if (result == nullptr || i < 0 || i >= static_cast<int>(result->result.language_probs.size())) return "";
  return result->result.language_probs[i].first.c_str();
}

double wisp_result_language_prob(const wisp_result* result, int i) {
  if (result == nullptr || i < 0 || i >= static_cast<int>(result->result.language_probs.size())) return 0.0;
  return result->result.language_probs[i].second;
}

wisp_status wisp_result_format(const wisp_result* result, const char* format, char** out, char** error_message) {
  if (out != nullptr) *out = nullptr;
  if (result == nullptr || format == nullptr || out == nullptr) {
    return Fail(WISP_ERROR_INVALID_ARGUMENT, "wisp_result_format: result, format and out must not be NULL",
                error_message);
  }
  try {
    auto formats = wisp::ParseOutputFormats(format);
    if (!formats.ok() || formats->size() != 1) {
      return Fail(WISP_ERROR_INVALID_ARGUMENT,
                  "unknown format '" + std::string(format) + "' (expected txt, vtt, srt, tsv or json)", error_message);
    }
    *out = CopyString(wisp::RenderOutput((*formats)[0], result->result));
    if (*out == nullptr) return Fail(WISP_ERROR_INTERNAL, "out of memory", error_message);
    return Succeed(error_message);
  } catch (const std::exception& e) {
    return Fail(WISP_ERROR_INTERNAL, std::string("internal error: ") + e.what(), error_message);
  }
}

void wisp_free_string(char* s) { std::free(s); }

}  // extern "C"
