#include "pipeline/transcribe_options.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "pipeline/languages.h"
#include "pipeline/logit_filters.h"
#include "pipeline/tokenizer.h"

namespace wisp {
namespace {

// Numbers in messages as python prints them for the common cases (0.2, 1, -1.5).
std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

Status CheckLanguage(const std::string& language, const std::string& what) {
  if (NormalizeLanguage(language).empty()) {
    return InvalidArgument("unknown " + what + " '" + language +
                           "' (expected a code such as en, de, fr or a name such as English)");
  }
  return Status::Ok();
}

Status CheckThreshold(double value, const char* name) {
  if (std::isinf(value)) return InvalidArgument(std::string(name) + " must be a finite number or unset");
  return Status::Ok();
}

}  // namespace

Status TranscribeOptions::Validate() const {
  if (task != "transcribe" && task != "translate") {
    return InvalidArgument("task must be transcribe or translate, got '" + task + "'");
  }
  if (!language.empty()) WISP_RETURN_IF_ERROR(CheckLanguage(language, "language"));
  for (const std::string& c : language_candidates) WISP_RETURN_IF_ERROR(CheckLanguage(c, "candidate language"));
  if (!language.empty() && !language_candidates.empty()) {
    return InvalidArgument("language_candidates restrict language detection, which a given language ('" + language +
                           "') turns off: pass one or the other");
  }
  if (temperatures.empty()) return InvalidArgument("no temperature to decode at");
  for (double t : temperatures) {
    if (!(t >= 0.0) || !std::isfinite(t)) return InvalidArgument("temperature must be a number >= 0, got " + Num(t));
  }
  if (best_of && *best_of < 1) return InvalidArgument("best_of must be >= 1, got " + std::to_string(*best_of));
  if (beam_size && *beam_size < 1) return InvalidArgument("beam_size must be >= 1, got " + std::to_string(*beam_size));
  if (patience) {
    if (!beam_size) return InvalidArgument("patience requires beam_size to be given");
    // BeamSearchDecoder: max_candidates = round(beam_size * patience) must be > 0.
    if (!(std::nearbyint(*beam_size * *patience) > 0)) {
      return InvalidArgument("Invalid beam size (" + std::to_string(*beam_size) + ") or patience (" + Num(*patience) +
                             "): round(beam_size * patience) must be at least 1");
    }
  }
  if (length_penalty && !(*length_penalty >= 0.0 && *length_penalty <= 1.0)) {
    return InvalidArgument("length_penalty (alpha) should be a value between 0 and 1, got " + Num(*length_penalty));
  }
  if (sample_len < 0) return InvalidArgument("sample_len must be >= 0, got " + std::to_string(sample_len));
  if (!(max_initial_timestamp >= 0.0) || !std::isfinite(max_initial_timestamp)) {
    return InvalidArgument("max_initial_timestamp must be a number of seconds >= 0, got " + Num(max_initial_timestamp));
  }
  for (double t : clip_timestamps) {
    if (!(t >= 0.0) || !std::isfinite(t)) {
      return InvalidArgument("clip_timestamps must be seconds >= 0, got " + Num(t));
    }
  }
  // Syntax only; the ids are checked against the vocabulary in ValidateForModel.
  SpecialTokenIds any_vocab;
  any_vocab.n_vocab = std::numeric_limits<int>::max();
  if (Result<std::vector<int>> ids = ParseSuppressTokens(suppress_tokens, {}, any_vocab); !ids.ok()) {
    return ids.status();
  }
  WISP_RETURN_IF_ERROR(CheckThreshold(compression_ratio_threshold, "compression_ratio_threshold"));
  WISP_RETURN_IF_ERROR(CheckThreshold(logprob_threshold, "logprob_threshold"));
  WISP_RETURN_IF_ERROR(CheckThreshold(no_speech_threshold, "no_speech_threshold"));
  if (hallucination_silence_threshold) {
    if (!(*hallucination_silence_threshold >= 0.0) || !std::isfinite(*hallucination_silence_threshold)) {
      return InvalidArgument("hallucination_silence_threshold must be seconds >= 0, got " +
                             Num(*hallucination_silence_threshold));
    }
    if (!word_timestamps) {
      return InvalidArgument("hallucination_silence_threshold needs word_timestamps");
    }
  }
  const ShortAudioRule& r = short_audio_rule;
  if (r.margin_frames < 0 || r.granularity < 1 || r.min_ctx < 1 || r.tail_ctx < 0) {
    return InvalidArgument("short_audio_rule needs margin_frames >= 0, granularity >= 1, min_ctx >= 1 and "
                           "tail_ctx >= 0, got " + std::to_string(r.margin_frames) + ", " +
                           std::to_string(r.granularity) + ", " + std::to_string(r.min_ctx) + ", " +
                           std::to_string(r.tail_ctx));
  }
  if (!(r.fallback_prob >= 0.0 && r.fallback_prob <= 1.0)) {
    return InvalidArgument("short_audio_rule.fallback_prob must be in [0, 1], got " + Num(r.fallback_prob));
  }
  return Status::Ok();
}

AudioContext ShortAudioContext(int64_t window_frames, int n_audio_ctx, const ShortAudioRule& rule) {
  const AudioContext full{n_audio_ctx, 0};
  if (window_frames >= 2 * int64_t{n_audio_ctx}) return full;
  const int64_t positions = (std::max<int64_t>(window_frames, 0) + rule.margin_frames + 1) / 2;  // ceil
  const int64_t g = std::max(rule.granularity, 1);
  const int64_t head = std::max<int64_t>((positions + g - 1) / g * g, rule.min_ctx);
  if (head + rule.tail_ctx >= n_audio_ctx) return full;
  return AudioContext{static_cast<int>(head), rule.tail_ctx};
}

Status TranscribeOptions::ValidateForModel(const Tokenizer& tokenizer) const {
  WISP_RETURN_IF_ERROR(Validate());
  if (!tokenizer.multilingual()) {
    // openai-whisper silently ignores language and task for English-only models; asking one to
    // transcribe German or to translate is an error here instead of a surprise.
    if (!language.empty() && NormalizeLanguage(language) != "en") {
      return InvalidArgument("language '" + language + "' requested from an English-only (.en) model");
    }
    if (task == "translate") return InvalidArgument("task 'translate' needs a multilingual model");
    return Status::Ok();
  }
  for (const std::string& l : language_candidates) {
    if (tokenizer.LanguageToken(NormalizeLanguage(l)) < 0) {
      return InvalidArgument("candidate language '" + l + "' is not one of this model's languages");
    }
  }
  if (!language.empty() && tokenizer.LanguageToken(NormalizeLanguage(language)) < 0) {
    return InvalidArgument("language '" + language + "' is not one of this model's languages");
  }
  const SpecialTokenIds ids = SpecialTokenIdsOf(tokenizer);
  if (Result<std::vector<int>> s = ParseSuppressTokens(suppress_tokens, {}, ids); !s.ok()) return s.status();
  return Status::Ok();
}

Result<std::vector<double>> FallbackTemperatures(double start, std::optional<double> increment) {
  if (!(start >= 0.0) || !std::isfinite(start)) {
    return InvalidArgument("temperature must be a number >= 0, got " + Num(start));
  }
  if (!increment) return std::vector<double>{start};
  if (!(*increment > 0.0) || !std::isfinite(*increment)) {
    return InvalidArgument("temperature_increment_on_fallback must be a number > 0 (or None for a single pass), got " +
                           Num(*increment));
  }
  // np.arange: length ceil((stop - start) / step); element i = start + i * (v1 - v0).
  const double stop = 1.0 + 1e-6;
  const double length = std::ceil((stop - start) / *increment);
  if (!(length >= 1)) {
    return InvalidArgument("temperature " + Num(start) + " is above 1.0: with a fallback increment no temperature "
                           "is left (pass temperature_increment_on_fallback None for a single pass)");
  }
  const double delta = (start + *increment) - start;
  std::vector<double> t;
  for (int64_t i = 0; i < static_cast<int64_t>(length); ++i) t.push_back(i == 0 ? start : start + i * delta);
  return t;
}

Result<ShortAudioRule> ParseShortAudioRule(const std::string& spec) {
  constexpr int kFields = 4;
  const char* names[kFields] = {"margin", "granularity", "minimum context", "tail"};
  const long mins[kFields] = {0, 1, 1, 0};
  int values[kFields] = {};
  std::string_view rest = spec;
  for (int i = 0; i < kFields; ++i) {
    const size_t comma = rest.find(',');
    if (i < kFields - 1 && comma == std::string_view::npos) {
      return InvalidArgument(
          "short_audio_rule: expected MARGIN,GRANULARITY,MIN_CTX,TAIL (four whole numbers) and optionally "
          ",FALLBACK_PROB, got \"" + spec + "\"");
    }
    const std::string field(rest.substr(0, comma));
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(field.c_str(), &end, 10);
    if (field.empty() || *end != '\0' || errno == ERANGE || v < mins[i] || v > 100000) {
      return InvalidArgument("short_audio_rule: " + std::string(names[i]) + " '" + field + "' is not a whole number in [" +
                             std::to_string(mins[i]) + ", 100000]");
    }
    values[i] = static_cast<int>(v);
    if (comma != std::string_view::npos) rest.remove_prefix(comma + 1);
    if (i == kFields - 1 && comma != std::string_view::npos) {  // the optional fifth field
      char* end = nullptr;
      const std::string field(rest);
      const double p = std::strtod(field.c_str(), &end);
      if (field.empty() || *end != '\0' || !(p >= 0.0 && p <= 1.0)) {
        return InvalidArgument("short_audio_rule: fallback probability '" + field + "' is not a number in [0, 1]");
      }
      return ShortAudioRule{values[0], values[1], values[2], values[3], p};
    }
  }
  return ShortAudioRule{values[0], values[1], values[2], values[3]};
}

Result<std::vector<double>> ParseClipTimestamps(const std::string& spec) {
  std::vector<double> out;
  if (spec.empty()) return out;
  std::string_view rest = spec;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string field(rest.substr(0, comma));
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(field.c_str(), &end);
    if (field.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v) || v < 0) {
      return InvalidArgument("clip_timestamps: '" + field + "' is not a number of seconds >= 0 (in \"" + spec + "\")");
    }
    out.push_back(v);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace wisp
