#include "server/responses.h"

#include <cstring>

#include <nlohmann/json.hpp>

#include "pipeline/output_writers.h"
#include "pipeline/text_metrics.h"

namespace wisp::server {
namespace {

using Json = nlohmann::ordered_json;

// whisper/tokenizer.py LANGUAGES, in its order.
constexpr const char* kLanguages[][2] = {
    {"en", "english"},   {"zh", "chinese"},        {"de", "german"},     {"es", "spanish"},     {"ru", "russian"},
    {"ko", "korean"},    {"fr", "french"},         {"ja", "japanese"},   {"pt", "portuguese"},  {"tr", "turkish"},
    {"pl", "polish"},    {"ca", "catalan"},        {"nl", "dutch"},      {"ar", "arabic"},      {"sv", "swedish"},
    {"it", "italian"},   {"id", "indonesian"},     {"hi", "hindi"},      {"fi", "finnish"},     {"vi", "vietnamese"},
    {"he", "hebrew"},    {"uk", "ukrainian"},      {"el", "greek"},      {"ms", "malay"},       {"cs", "czech"},
    {"ro", "romanian"},  {"da", "danish"},         {"hu", "hungarian"},  {"ta", "tamil"},       {"no", "norwegian"},
    {"th", "thai"},      {"ur", "urdu"},           {"hr", "croatian"},   {"bg", "bulgarian"},   {"lt", "lithuanian"},
    {"la", "latin"},     {"mi", "maori"},          {"ml", "malayalam"},  {"cy", "welsh"},       {"sk", "slovak"},
    {"te", "telugu"},    {"fa", "persian"},        {"lv", "latvian"},    {"bn", "bengali"},     {"sr", "serbian"},
    {"az", "azerbaijani"}, {"sl", "slovenian"},    {"kn", "kannada"},    {"et", "estonian"},    {"mk", "macedonian"},
    {"br", "breton"},    {"eu", "basque"},         {"is", "icelandic"},  {"hy", "armenian"},    {"ne", "nepali"},
    {"mn", "mongolian"}, {"bs", "bosnian"},        {"kk", "kazakh"},     {"sq", "albanian"},    {"sw", "swahili"},
    {"gl", "galician"},  {"mr", "marathi"},        {"pa", "punjabi"},    {"si", "sinhala"},     {"km", "khmer"},
    {"sn", "shona"},     {"yo", "yoruba"},         {"so", "somali"},     {"af", "afrikaans"},   {"oc", "occitan"},
    {"ka", "georgian"},  {"be", "belarusian"},     {"tg", "tajik"},      {"sd", "sindhi"},      {"gu", "gujarati"},
    {"am", "amharic"},   {"yi", "yiddish"},        {"lo", "lao"},        {"uz", "uzbek"},       {"fo", "faroese"},
    {"ht", "haitian creole"}, {"ps", "pashto"},    {"tk", "turkmen"},    {"nn", "nynorsk"},     {"mt", "maltese"},
    {"sa", "sanskrit"},  {"lb", "luxembourgish"},  {"my", "myanmar"},    {"bo", "tibetan"},     {"tl", "tagalog"},
    {"mg", "malagasy"},  {"as", "assamese"},       {"tt", "tatar"},      {"haw", "hawaiian"},   {"ln", "lingala"},
    {"ha", "hausa"},     {"ba", "bashkir"},        {"jw", "javanese"},   {"su", "sundanese"},   {"yue", "cantonese"},
};

// Texts arrive as raw token bytes; JSON needs valid UTF-8 (as openai-whisper's python str).
std::string Utf8(const std::string& bytes) { return ReplaceInvalidUtf8(bytes); }

Json SegmentJson(const Segment& s) {
  Json j;
  j["id"] = s.id;
  j["seek"] = s.seek;
  j["start"] = s.start;
  j["end"] = s.end;
  j["text"] = Utf8(s.text);
  j["tokens"] = s.tokens;
  j["temperature"] = s.temperature;
  j["avg_logprob"] = s.avg_logprob;
  j["compression_ratio"] = s.compression_ratio;
  j["no_speech_prob"] = s.no_speech_prob;
  return j;
}

std::string Event(const Json& j) { return "data: " + j.dump() + "\n\n"; }

}  // namespace

std::string LanguageName(const std::string& code) {
  for (const auto& entry : kLanguages) {
    if (code == entry[0]) return entry[1];
  }
  return code;
}

double AudioDurationSeconds(const LogMelSpectrogram& mel) {
  return static_cast<double>(mel.content_frames()) * kHopLength / kSampleRate;
}

RenderedBody RenderTranscription(ResponseFormat format, Task task, const TranscriptionResult& result,
                                 double duration_seconds, bool words) {
  switch (format) {
    case ResponseFormat::kText:
      return {"text/plain; charset=utf-8", RenderTxt(result)};
    case ResponseFormat::kSrt:
      return {"text/plain; charset=utf-8", RenderSrt(result)};
    case ResponseFormat::kVtt:
      return {"text/vtt; charset=utf-8", RenderVtt(result)};
    case ResponseFormat::kVerboseJson: {
      Json j;
      j["task"] = task == Task::kTranslate ? "translate" : "transcribe";
      j["language"] = LanguageName(result.language);
      j["duration"] = duration_seconds;
      j["text"] = Utf8(result.text);
      Json segments = Json::array();
      for (const Segment& s : result.segments) segments.push_back(SegmentJson(s));
      j["segments"] = std::move(segments);
      if (words) {
        Json list = Json::array();
        for (const Segment& s : result.segments) {
          for (const Word& w : s.words) {
            std::string word = Utf8(w.word);
            word.erase(0, word.find_first_not_of(' '));
            list.push_back(Json{{"word", word}, {"start", w.start}, {"end", w.end}});
          }
        }
        j["words"] = std::move(list);
      }
      return {"application/json", j.dump()};
    }
    case ResponseFormat::kJson:
      break;
  }
  Json j;
  j["text"] = Utf8(result.text);
  return {"application/json", j.dump()};
}

std::string SseTextDelta(const std::string& delta) {
  Json j;
  j["type"] = "transcript.text.delta";
  j["delta"] = Utf8(delta);
  return Event(j);
}

std::string SseTextDone(const std::string& text) {
  Json j;
  j["type"] = "transcript.text.done";
  j["text"] = Utf8(text);
  return Event(j);
}

std::string SseError(const ApiError& error) {
  // The error object of ErrorJson with a type, so a client reading events can tell it apart.
  Json j = Json::parse(ErrorJson(error));
  Json e;
  e["type"] = "error";
  e["error"] = j["error"];
  return Event(e);
}

std::string ModelsListJson(const std::vector<std::string>& names) {
  Json j;
  j["object"] = "list";
  Json data = Json::array();
  for (const std::string& name : names) {
    Json m;
    m["id"] = name;
    m["object"] = "model";
    m["created"] = 0;
    m["owned_by"] = "wisp";
    data.push_back(std::move(m));
  }
  j["data"] = std::move(data);
  return j.dump();
}

}  // namespace wisp::server
