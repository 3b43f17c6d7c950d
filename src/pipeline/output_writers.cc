#include "pipeline/output_writers.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "pipeline/text_metrics.h"

namespace wisp {
namespace {

std::string ReplaceAll(std::string text, std::string_view from, std::string_view to) {
  size_t pos = 0;
  while ((pos = text.find(from, pos)) != std::string::npos) {
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
  return text;
}

// What the subtitle writers show for a segment: text.strip().replace("-->", "->").
std::string SubtitleText(const Segment& segment) {
  return ReplaceAll(std::string(StripPythonWhitespace(ReplaceInvalidUtf8(segment.text))), "-->", "->");
}

// python's round(x) for the millisecond values: half to even, as std::nearbyint does in the
// default rounding mode (never changed by wisp).
int64_t RoundHalfEven(double x) { return static_cast<int64_t>(std::nearbyint(x)); }

void AppendTwoDigits(std::string* out, int64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%02lld", static_cast<long long>(v));
  out->append(buf);
}

}  // namespace

const char* OutputFormatExtension(OutputFormat format) {
  switch (format) {
    case OutputFormat::kTxt: return "txt";
    case OutputFormat::kVtt: return "vtt";
    case OutputFormat::kSrt: return "srt";
    case OutputFormat::kTsv: return "tsv";
    case OutputFormat::kJson: return "json";
  }
  return "txt";
}

Result<std::vector<OutputFormat>> ParseOutputFormats(std::string_view name) {
  const std::vector<OutputFormat> all = {OutputFormat::kTxt, OutputFormat::kVtt, OutputFormat::kSrt,
                                         OutputFormat::kTsv, OutputFormat::kJson};
  if (name == "all") return all;
  for (OutputFormat f : all) {
    if (name == OutputFormatExtension(f)) return std::vector<OutputFormat>{f};
  }
  return InvalidArgument("unknown output format '" + std::string(name) +
                         "' (expected txt, vtt, srt, tsv, json or all)");
}

std::string FormatTimestamp(double seconds, bool always_include_hours, char decimal_marker) {
  if (!(seconds >= 0)) seconds = 0;
  int64_t ms = RoundHalfEven(seconds * 1000.0);
  const int64_t hours = ms / 3'600'000;
  ms -= hours * 3'600'000;
  const int64_t minutes = ms / 60'000;
  ms -= minutes * 60'000;
  const int64_t secs = ms / 1'000;
  ms -= secs * 1'000;
  std::string out;
  if (always_include_hours || hours > 0) {
    AppendTwoDigits(&out, hours);
    out += ':';
  }
  AppendTwoDigits(&out, minutes);
  out += ':';
  AppendTwoDigits(&out, secs);
  out += decimal_marker;
  char buf[8];
  std::snprintf(buf, sizeof buf, "%03d", static_cast<int>(ms));
  out += buf;
  return out;
}

std::string PythonFloatRepr(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  // Shortest round-trip digits in scientific form ("d.ddde±XX"), then python's layout rules.
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string_view sci(buf, end - buf);
  std::string out;
  if (sci.front() == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits += c;
  }
  int exponent = 0;
  std::string_view exp_text = sci.substr(e_pos + 1);
  if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
  const int decpt = exponent + 1;  // digits d1 d2 ... mean 0.d1d2... * 10^decpt
  const int ndigits = static_cast<int>(digits.size());
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out += "0." + std::string(-decpt, '0') + digits;
    } else if (decpt >= ndigits) {
      out += digits + std::string(decpt - ndigits, '0') + ".0";
    } else {
      out += digits.substr(0, decpt) + "." + digits.substr(decpt);
    }
    return out;
  }
  out += digits[0];
  if (ndigits > 1) out += "." + digits.substr(1);
  char exp_buf[16];
  std::snprintf(exp_buf, sizeof exp_buf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  out += exp_buf;
  return out;
}

std::string JsonStringAscii(std::string_view utf8) {
  std::string out = "\"";
  size_t i = 0;
  auto append_u = [&out](uint32_t unit) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "\\u%04x", unit);
    out += buf;
  };
  while (i < utf8.size()) {
    const uint32_t cp = NextCodePoint(utf8, &i);
    switch (cp) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (cp >= 0x20 && cp <= 0x7E) {
      out += static_cast<char>(cp);
    } else if (cp > 0xFFFF) {
      const uint32_t v = cp - 0x10000;
      append_u(0xD800 | (v >> 10));
      append_u(0xDC00 | (v & 0x3FF));
    } else {
      append_u(cp);
    }
  }
  out += '"';
  return out;
}

std::string RenderTxt(const TranscriptionResult& result) {
  std::string out;
  for (const Segment& s : result.segments) {
    out += StripPythonWhitespace(ReplaceInvalidUtf8(s.text));
    out += '\n';
  }
  return out;
}

std::string RenderVtt(const TranscriptionResult& result) {
  std::string out = "WEBVTT\n\n";
  for (const Segment& s : result.segments) {
    out += FormatTimestamp(s.start, false, '.') + " --> " + FormatTimestamp(s.end, false, '.') +
           "\n" + SubtitleText(s) + "\n\n";
  }
  return out;
}

std::string RenderSrt(const TranscriptionResult& result) {
  std::string out;
  int index = 1;
  for (const Segment& s : result.segments) {
    out += std::to_string(index++) + "\n" + FormatTimestamp(s.start, true, ',') + " --> " +
           FormatTimestamp(s.end, true, ',') + "\n" + SubtitleText(s) + "\n\n";
  }
  return out;
}

std::string RenderTsv(const TranscriptionResult& result) {
  std::string out = "start\tend\ttext\n";
  for (const Segment& s : result.segments) {
    out += std::to_string(RoundHalfEven(1000 * s.start)) + "\t" +
           std::to_string(RoundHalfEven(1000 * s.end)) + "\t" +
           ReplaceAll(std::string(StripPythonWhitespace(ReplaceInvalidUtf8(s.text))), "\t", " ") + "\n";
  }
  return out;
}

std::string RenderJson(const TranscriptionResult& result) { return RenderJson(result, WriterOptions{}); }

std::string RenderJson(const TranscriptionResult& result, const WriterOptions& options) {
  // Key order and types of transcribe()'s dict(text=, segments=, language=) and its segments
  // ({"id": i, **new_segment(...)}); json.dump's default separators ", " and ": ".
  std::string out = "{\"text\": " + JsonStringAscii(ReplaceInvalidUtf8(result.text)) + ", \"segments\": [";
  for (size_t k = 0; k < result.segments.size(); ++k) {
    const Segment& s = result.segments[k];
    if (k > 0) out += ", ";
    out += "{\"id\": " + std::to_string(s.id);
    out += ", \"seek\": " + std::to_string(s.seek);
    out += ", \"start\": " + PythonFloatRepr(s.start);
    out += ", \"end\": " + PythonFloatRepr(s.end);
    out += ", \"text\": " + JsonStringAscii(ReplaceInvalidUtf8(s.text));
    out += ", \"tokens\": [";
    for (size_t t = 0; t < s.tokens.size(); ++t) {
      if (t > 0) out += ", ";
      out += std::to_string(s.tokens[t]);
    }
    out += "], \"temperature\": " + PythonFloatRepr(s.temperature);
    out += ", \"avg_logprob\": " + PythonFloatRepr(s.avg_logprob);
    out += ", \"compression_ratio\": " + PythonFloatRepr(s.compression_ratio);
    out += ", \"no_speech_prob\": " + PythonFloatRepr(s.no_speech_prob);
    if (options.word_timestamps) {  // add_word_timestamps appends segment["words"] last
      out += ", \"words\": [";
      for (size_t w = 0; w < s.words.size(); ++w) {
        const Word& word = s.words[w];
        if (w > 0) out += ", ";
        out += "{\"word\": " + JsonStringAscii(ReplaceInvalidUtf8(word.word));
        out += ", \"start\": " + (word.start_is_int_zero ? std::string("0") : PythonFloatRepr(word.start));
        out += ", \"end\": " + PythonFloatRepr(word.end);
        out += ", \"probability\": " + PythonFloatRepr(word.probability) + "}";
      }
      out += "]";
    }
    out += "}";
  }
  out += "], \"language\": " + JsonStringAscii(ReplaceInvalidUtf8(result.language));
  // wisp's addition, only when the language was detected (the official's result has no such
  // key; with a given language the file stays byte-identical): every candidate's probability.
  if (!result.language_probs.empty()) {
    out += ", \"language_probs\": {";
    for (size_t i = 0; i < result.language_probs.size(); ++i) {
      if (i > 0) out += ", ";
      out += JsonStringAscii(result.language_probs[i].first) + ": " + PythonFloatRepr(result.language_probs[i].second);
    }
    out += "}";
  }
  out += "}";
  return out;
}

std::string RenderOutput(OutputFormat format, const TranscriptionResult& result) {
  switch (format) {
    case OutputFormat::kTxt: return RenderTxt(result);
    case OutputFormat::kVtt: return RenderVtt(result);
    case OutputFormat::kSrt: return RenderSrt(result);
    case OutputFormat::kTsv: return RenderTsv(result);
    case OutputFormat::kJson: return RenderJson(result);
  }
  return {};
}

std::string OutputBaseName(const std::string& audio_path) {
  if (audio_path == "-") return "stdin";
  const size_t slash = audio_path.rfind('/');
  std::string base = slash == std::string::npos ? audio_path : audio_path.substr(slash + 1);
  // os.path.splitext: the last dot starts the extension unless only dots precede it.
  const size_t dot = base.rfind('.');
  if (dot != std::string::npos && base.find_first_not_of('.') < dot) base.resize(dot);
  return base;
}

std::string OutputPathForName(const std::string& output_dir, const std::string& base_name, OutputFormat format) {
  std::string path = output_dir;
  if (path.empty()) path = ".";
  if (path.back() != '/') path += '/';
  return path + base_name + "." + OutputFormatExtension(format);
}

std::string OutputPath(const std::string& output_dir, const std::string& audio_path,
                       OutputFormat format) {
  return OutputPathForName(output_dir, OutputBaseName(audio_path), format);
}

Status WriteOutputFile(OutputFormat format, const TranscriptionResult& result,
                       const std::string& output_dir, const std::string& audio_path,
                       std::string* written_path) {
  return WriteOutputFile(format, result, WriterOptions{}, output_dir, audio_path, written_path);
}

Status WriteOutputFile(OutputFormat format, const TranscriptionResult& result, const WriterOptions& options,
                       const std::string& output_dir, const std::string& audio_path,
                       std::string* written_path) {
  const std::string path = OutputPath(output_dir, audio_path, format);
  WISP_RETURN_IF_ERROR(WriteOutputFileAt(path, format, result, options));
  if (written_path != nullptr) *written_path = path;
  return Status::Ok();
}

Status WriteOutputFileAt(const std::string& path, OutputFormat format, const TranscriptionResult& result,
                         const WriterOptions& options) {
  const std::string contents = RenderOutput(format, result, options);
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) return IoError("cannot open output file " + path + ": " + std::strerror(errno));
  file.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  file.close();
  if (!file) return IoError("cannot write output file " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace wisp
