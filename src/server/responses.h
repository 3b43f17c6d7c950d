// Response bodies of the OpenAI audio API from a wisp TranscriptionResult: json {"text"},
// verbose_json (task, language, duration, text, segments with openai-whisper's fields), and
// text / srt / vtt byte-identical to `wisp transcribe -f txt|srt|vtt` (the pipeline's writers);
// plus the server-sent events of stream=true and the bodies of GET /v1/models.
#pragma once
#include <string>
#include <vector>

#include "audio/mel.h"
#include "pipeline/transcribe.h"
#include "server/request_form.h"

namespace wisp::server {

struct RenderedBody {
  std::string content_type;
  std::string body;
};

// duration_seconds: the audio's length (LogMelSpectrogram::content_frames() * hop / rate).
// words: verbose_json also lists every segment's words, as OpenAI's top-level "words"
// ({"word", "start", "end"}, the word without its leading space).
RenderedBody RenderTranscription(ResponseFormat format, Task task, const TranscriptionResult& result,
                                 double duration_seconds, bool words = false);

// The audio length transcribe() works with, in seconds.
double AudioDurationSeconds(const LogMelSpectrogram& mel);

// whisper's LANGUAGES name of a code ("en" -> "english"), as OpenAI's verbose_json reports the
// language; the code itself when unknown.
std::string LanguageName(const std::string& code);

// One server-sent event as OpenAI frames them: "data: <json>\n\n".
std::string SseTextDelta(const std::string& delta);
std::string SseTextDone(const std::string& text);
std::string SseError(const ApiError& error);

// GET /v1/models: {"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}]}.
std::string ModelsListJson(const std::vector<std::string>& names);

}  // namespace wisp::server
