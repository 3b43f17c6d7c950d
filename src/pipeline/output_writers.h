// Result files byte-identical to openai-whisper's whisper/utils.py writers (WriteTXT, WriteVTT,
// WriteSRT, WriteTSV, WriteJSON) for results without word timestamps, plus the small pieces of
// Python semantics they depend on (round-half-even, str.strip, float repr, json.dump escaping).
//
// Segment texts arrive as raw token bytes (Tokenizer::Decode). openai-whisper's texts are python
// str produced by bytes.decode("utf-8", errors="replace"), so every writer first applies the same
// replacement (ReplaceInvalidUtf8, text_metrics.h) and then works on valid UTF-8.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/transcribe.h"
#include "util/status.h"

namespace wisp {

enum class OutputFormat { kTxt, kVtt, kSrt, kTsv, kJson };

// The file extension, which is also the --output-format name ("txt", "vtt", ...).
const char* OutputFormatExtension(OutputFormat format);

// "txt" | "vtt" | "srt" | "tsv" | "json" -> one format; "all" -> all five in openai-whisper's
// order (txt, vtt, srt, tsv, json). Anything else is InvalidArgument naming the choices.
Result<std::vector<OutputFormat>> ParseOutputFormats(std::string_view name);

// whisper.utils.format_timestamp: milliseconds = round(seconds * 1000) (half to even, like
// python's round), hours shown when always_include_hours or non-zero, "MM:SS<marker>mmm".
// seconds must be >= 0 (openai-whisper asserts it; negative input is clamped to 0 here).
std::string FormatTimestamp(double seconds, bool always_include_hours, char decimal_marker);

// repr(float) as json.dump writes it: shortest round-trip digits, fixed notation when the
// decimal exponent is in [-4, 16), else "d.ddde+XX"; NaN/Infinity/-Infinity as json.dump does.
std::string PythonFloatRepr(double value);

// A JSON string literal (with quotes) as json.dump(ensure_ascii=True) writes it: \" \\ \n \r \t
// \b \f, every other character outside ' '..'~' as \uXXXX (lowercase hex), characters above
// U+FFFF as a UTF-16 surrogate pair. Input must be valid UTF-8 (see ReplaceInvalidUtf8).
std::string JsonStringAscii(std::string_view utf8);

// Whole file contents, byte for byte what the corresponding openai-whisper writer produces.
std::string RenderTxt(const TranscriptionResult& result);
std::string RenderVtt(const TranscriptionResult& result);
std::string RenderSrt(const TranscriptionResult& result);
std::string RenderTsv(const TranscriptionResult& result);
std::string RenderJson(const TranscriptionResult& result);
std::string RenderOutput(OutputFormat format, const TranscriptionResult& result);

// The writer options of openai-whisper's command line (word_options in transcribe.py's cli), for
// results with word timestamps. 0 stands for python's None (the official treats 0 the same).
struct WriterOptions {
  // The segments carry "words" (transcribe(word_timestamps=True)), even when some are empty: json
  // writes them, vtt/srt cut subtitles from words instead of segments.
  bool word_timestamps = false;
  bool highlight_words = false;  // one cue per word, the word underlined: <u>word</u>
  int max_line_width = 0;        // characters in a line before breaking it
  int max_line_count = 0;        // lines in a subtitle (with max_line_width: segments are not kept)
  int max_words_per_line = 0;    // no effect with max_line_width
};

// With word timestamps (options.word_timestamps) byte-identical to openai-whisper's writers given
// those options (SubtitlesWriter.iterate_result for vtt/srt, json.dump of the words); otherwise
// the same as the functions above. Implemented in word_subtitles.cc (vtt, srt, dispatch).
std::string RenderVtt(const TranscriptionResult& result, const WriterOptions& options);
std::string RenderSrt(const TranscriptionResult& result, const WriterOptions& options);
std::string RenderJson(const TranscriptionResult& result, const WriterOptions& options);
std::string RenderOutput(OutputFormat format, const TranscriptionResult& result, const WriterOptions& options);

// splitext(basename(audio_path))[0], as openai-whisper names its result files, with python's
// splitext rule (leading dots of the name do not start an extension: ".wav" has none); "stdin"
// for "-" (standard input), which would otherwise give "-.txt", a name shells take for a flag.
std::string OutputBaseName(const std::string& audio_path);

// os.path.join(output_dir, base_name + "." + ext).
std::string OutputPathForName(const std::string& output_dir, const std::string& base_name, OutputFormat format);

// OutputPathForName(output_dir, OutputBaseName(audio_path), format).
std::string OutputPath(const std::string& output_dir, const std::string& audio_path,
                       OutputFormat format);

// Renders and writes one file at OutputPath; the Status names the file on failure.
// On success *written_path (if not null) holds the path written.
Status WriteOutputFile(OutputFormat format, const TranscriptionResult& result,
                       const std::string& output_dir, const std::string& audio_path,
                       std::string* written_path = nullptr);
// The same with the writer options (word timestamps in vtt/srt/json).
Status WriteOutputFile(OutputFormat format, const TranscriptionResult& result, const WriterOptions& options,
                       const std::string& output_dir, const std::string& audio_path,
                       std::string* written_path = nullptr);
// Renders and writes one file at exactly path (a name chosen by the caller, e.g. --output-name).
Status WriteOutputFileAt(const std::string& path, OutputFormat format, const TranscriptionResult& result,
                         const WriterOptions& options);

}  // namespace wisp
