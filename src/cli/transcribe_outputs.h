// What `wisp transcribe` writes besides the model's work: the result files (which formats, their
// names, and whether they can be written, all settled before the model is loaded, so that a typo
// in -o costs nothing instead of the whole transcription) and the text printed on stdout as each
// segment is decoded.
#pragma once
#include <string>
#include <vector>

#include "pipeline/output_writers.h"
#include "pipeline/transcribe.h"
#include "util/status.h"

namespace wisp {

// Every -f / --output-format value in the order given, each one format, "all" (openai-whisper's
// five) or a comma-separated list of them: `-f srt -f vtt` and `-f srt,vtt` both give {srt, vtt}.
// Each format is kept once, where first named. Errors name the bad item.
Result<std::vector<OutputFormat>> ParseOutputFormatList(const std::vector<std::string>& values);

// The result files of one input: the base name is --output-name when given (output_name not
// empty), else OutputBaseName(audio) ("stdin" for -), in output_dir, one path per format.
std::vector<std::string> ResultFilePaths(const std::string& output_dir, const std::string& audio,
                                         const std::string& output_name, const std::vector<OutputFormat>& formats);

// --output-name: a plain file name (no '/', not "." or ".."), and only with one input, since
// several inputs would overwrite each other's files.
Status ValidateOutputName(const std::string& output_name, size_t input_count);

// Whether the result files can be written, without creating anything: output_dir is a writable
// directory, or is missing and its nearest existing ancestor is a writable directory (it is
// created later, as openai-whisper's makedirs does); no path is a directory or an existing file
// that cannot be written. The message names the path and the reason.
Status CheckOutputsWritable(const std::string& output_dir, const std::vector<std::string>& paths);

// The stdout line of one segment as it is decoded: its text stripped, as the .txt file has it
// (so the whole stdout equals RenderTxt of the result), or with timestamps openai-whisper's
// verbose line "[MM:SS.mmm --> MM:SS.mmm] text". Ends with '\n'.
std::string SegmentLine(const Segment& segment, bool timestamps);

}  // namespace wisp
