// openai-whisper's SubtitlesWriter.iterate_result (whisper/utils.py, v20250625) for results with
// word timestamps: words regrouped into subtitles by line width, line count, words per line and
// long pauses, optionally one cue per word with that word underlined. Lengths are python's
// len(str): code points of the (valid UTF-8) word.
#include <string>
#include <vector>

#include "pipeline/output_writers.h"
#include "pipeline/text_metrics.h"

namespace wisp {
namespace {

int64_t PyLen(std::string_view utf8) {
  int64_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
  return n;
}

std::string PyStrip(std::string_view utf8) { return std::string(StripPythonWhitespace(utf8)); }

// Bytes of the leading whitespace (str.isspace, which is also re's \s on str).
size_t LeadingSpace(std::string_view utf8) {
  const std::string probe = std::string(utf8) + "x";  // strip() then only removes leading space
  return utf8.size() - (StripPythonWhitespace(probe).size() - 1);
}

// re.sub(r"^(\s*)(.*)$", r"\1<u>\2</u>", word): '.' stops at a newline and '$' matches at the end
// or before a final newline, so a word with a newline after its text (other than a last one) is
// left as it is.
std::string Underline(const std::string& word) {
  const size_t lead = LeadingSpace(word);
  std::string rest = word.substr(lead), tail;
  const size_t nl = rest.find('\n');
  if (nl != std::string::npos) {
    if (nl != rest.size() - 1) return word;
    rest.pop_back();
    tail = "\n";
  }
  return word.substr(0, lead) + "<u>" + rest + "</u>" + tail;
}

struct Timing {
  std::string word;
  double start = 0, end = 0;
};

// iterate_subtitles(): the words of every segment, each subtitle a list of words whose text
// carries the line breaks.
std::vector<std::vector<Timing>> GroupWords(const TranscriptionResult& result, const WriterOptions& o) {
  // `x or options.get(...)`: 0 is python's None here.
  const bool preserve_segments = o.max_line_count == 0 || o.max_line_width == 0;
  const int64_t max_line_width = o.max_line_width != 0 ? o.max_line_width : 1000;
  const int64_t max_words_per_line = o.max_words_per_line != 0 ? o.max_words_per_line : 1000;
  std::vector<std::vector<Timing>> out;
  int64_t line_len = 0, line_count = 1;
  std::vector<Timing> subtitle;
  // get_start(segments) or 0.0: the first word's start, else the first segment's.
  double last = result.segments.empty() ? 0.0 : result.segments[0].start;
  for (const Segment& s : result.segments) {
    if (!s.words.empty()) {
      last = s.words[0].start;
      break;
    }
  }
  for (const Segment& segment : result.segments) {
    const int64_t n = static_cast<int64_t>(segment.words.size());
    int64_t chunk_index = 0, words_count = max_words_per_line;
    while (chunk_index < n) {
      if (max_words_per_line > n - chunk_index) words_count = n - chunk_index;
      const int64_t chunk_end = std::min(n, chunk_index + words_count);
      for (int64_t k = chunk_index; k < chunk_end; ++k) {
        const bool first_of_chunk = k == chunk_index;
        Timing timing{ReplaceInvalidUtf8(segment.words[k].word), segment.words[k].start, segment.words[k].end};
        const bool long_pause = !preserve_segments && timing.start - last > 3.0;
        const bool has_room = line_len + PyLen(timing.word) <= max_line_width;
        const bool seg_break = first_of_chunk && !subtitle.empty() && preserve_segments;
        if (line_len > 0 && has_room && !long_pause && !seg_break) {
          line_len += PyLen(timing.word);  // line continuation
        } else {
          timing.word = PyStrip(timing.word);  // new line
          if ((!subtitle.empty() && o.max_line_count != 0 && (long_pause || line_count >= o.max_line_count)) ||
              seg_break) {
            out.push_back(std::move(subtitle));  // subtitle break
            subtitle.clear();
            line_count = 1;
          } else if (line_len > 0) {
            ++line_count;  // line break
            timing.word = "\n" + timing.word;
          }
          line_len = PyLen(PyStrip(timing.word));
        }
        last = timing.start;
        subtitle.push_back(std::move(timing));
      }
      chunk_index += max_words_per_line;
    }
  }
  if (!subtitle.empty()) out.push_back(std::move(subtitle));
  return out;
}

struct Cue {
  std::string start, end, text;
};

std::vector<Cue> IterateResult(const TranscriptionResult& result, const WriterOptions& o, bool hours, char marker) {
  std::vector<Cue> cues;
  auto fmt = [&](double t) { return FormatTimestamp(t, hours, marker); };
  if (!(o.word_timestamps && !result.segments.empty())) {
    for (const Segment& s : result.segments) {
      std::string text = PyStrip(ReplaceInvalidUtf8(s.text));
      for (size_t p = 0; (p = text.find("-->", p)) != std::string::npos; p += 2) text.replace(p, 3, "->");
      cues.push_back({fmt(s.start), fmt(s.end), std::move(text)});
    }
    return cues;
  }
  for (const std::vector<Timing>& subtitle : GroupWords(result, o)) {
    const std::string start = fmt(subtitle.front().start), end = fmt(subtitle.back().end);
    std::string text;
    for (const Timing& t : subtitle) text += t.word;
    if (!o.highlight_words) {
      cues.push_back({start, end, text});
      continue;
    }
    std::string last = start;
    for (size_t i = 0; i < subtitle.size(); ++i) {
      const std::string word_start = fmt(subtitle[i].start), word_end = fmt(subtitle[i].end);
      if (last != word_start) cues.push_back({last, word_start, text});
      std::string marked;
      for (size_t j = 0; j < subtitle.size(); ++j) marked += j == i ? Underline(subtitle[j].word) : subtitle[j].word;
      cues.push_back({word_start, word_end, std::move(marked)});
      last = word_end;
    }
  }
  return cues;
}

}  // namespace

std::string RenderVtt(const TranscriptionResult& result, const WriterOptions& options) {
  std::string out = "WEBVTT\n\n";
  for (const Cue& c : IterateResult(result, options, false, '.')) out += c.start + " --> " + c.end + "\n" + c.text + "\n\n";
  return out;
}

std::string RenderSrt(const TranscriptionResult& result, const WriterOptions& options) {
  std::string out;
  int index = 1;
  for (const Cue& c : IterateResult(result, options, true, ',')) {
    out += std::to_string(index++) + "\n" + c.start + " --> " + c.end + "\n" + c.text + "\n\n";
  }
  return out;
}

std::string RenderOutput(OutputFormat format, const TranscriptionResult& result, const WriterOptions& options) {
  switch (format) {
    case OutputFormat::kVtt: return RenderVtt(result, options);
    case OutputFormat::kSrt: return RenderSrt(result, options);
    case OutputFormat::kJson: return RenderJson(result, options);
    default: return RenderOutput(format, result);
  }
}

}  // namespace wisp
