#include "cli/transcribe_outputs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pipeline/text_metrics.h"

namespace wisp {
namespace {

// The directory holding path ("a/b/" -> "a", "b" -> ".", "/b" -> "/").
std::string ParentDirectory(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string Quoted(const std::string& path) { return "'" + path + "'"; }

// W_OK for writing entries, X_OK for reaching them. access() asks with the real user, which is
// the user of a command line tool; root passes it wherever a write would succeed, except on
// read-only file systems, where access() fails too (EROFS).
bool CanCreateIn(const std::string& dir) { return ::access(dir.c_str(), W_OK | X_OK) == 0; }

}  // namespace

Result<std::vector<OutputFormat>> ParseOutputFormatList(const std::vector<std::string>& values) {
  std::vector<OutputFormat> formats;
  for (const std::string& value : values) {
    size_t begin = 0;
    while (true) {
      const size_t comma = std::min(value.find(',', begin), value.size());
      const std::string item = value.substr(begin, comma - begin);
      // An empty item ("srt,", ",,") is a typo rather than a request for nothing.
      if (item.empty()) return InvalidArgument("empty format in '" + value + "' (expected txt, vtt, srt, tsv, json or all)");
      Result<std::vector<OutputFormat>> parsed = ParseOutputFormats(item);
      if (!parsed.ok()) return parsed.status();
      for (OutputFormat f : *parsed) {
        if (std::find(formats.begin(), formats.end(), f) == formats.end()) formats.push_back(f);
      }
      if (comma == value.size()) break;
      begin = comma + 1;
    }
  }
  return formats;
}

std::vector<std::string> ResultFilePaths(const std::string& output_dir, const std::string& audio,
                                         const std::string& output_name, const std::vector<OutputFormat>& formats) {
  const std::string base = output_name.empty() ? OutputBaseName(audio) : output_name;
  std::vector<std::string> paths;
  for (OutputFormat f : formats) paths.push_back(OutputPathForName(output_dir, base, f));
  return paths;
}

Status ValidateOutputName(const std::string& output_name, size_t input_count) {
  if (output_name.find('/') != std::string::npos || output_name == "." || output_name == "..") {
    return InvalidArgument("--output-name: expected a file name without '/', got '" + output_name +
                           "' (--output-dir chooses the directory)");
  }
  if (input_count > 1) {
    return InvalidArgument("--output-name names the files of one AUDIO input, got " + std::to_string(input_count) +
                           " (their files would overwrite each other)");
  }
  return Status::Ok();
}

Status CheckOutputsWritable(const std::string& output_dir, const std::vector<std::string>& paths) {
  const std::string dir = output_dir.empty() ? "." : output_dir;
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT && errno != ENOTDIR) {
      return InvalidArgument("--output-dir: cannot use " + Quoted(dir) + ": " + std::strerror(errno));
    }
    // Missing: it will be created, so what matters is the nearest ancestor that exists. ENOTDIR
    // means some component is a file; walking up finds it and names it.
    std::string ancestor = ParentDirectory(dir);
    while (::stat(ancestor.c_str(), &st) != 0 && (errno == ENOENT || errno == ENOTDIR) && ancestor != "/" &&
           ancestor != ".") {
      ancestor = ParentDirectory(ancestor);
    }
    if (::stat(ancestor.c_str(), &st) != 0) {
      return InvalidArgument("--output-dir: cannot create " + Quoted(dir) + ": " + Quoted(ancestor) + ": " +
                             std::strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
      return InvalidArgument("--output-dir: cannot create " + Quoted(dir) + ": " + Quoted(ancestor) +
                             " is not a directory");
    }
    if (!CanCreateIn(ancestor)) {
      return InvalidArgument("--output-dir: cannot create " + Quoted(dir) + " in " + Quoted(ancestor) + ": " +
                             std::strerror(errno));
    }
    return Status::Ok();  // a new directory holds no files yet
  }
  if (!S_ISDIR(st.st_mode)) return InvalidArgument("--output-dir: " + Quoted(dir) + " is not a directory");
  if (!CanCreateIn(dir)) {
    return InvalidArgument("--output-dir: cannot write into " + Quoted(dir) + ": " + std::strerror(errno));
  }
  for (const std::string& path : paths) {
    if (::stat(path.c_str(), &st) != 0) continue;  // a new file in a writable directory
    if (S_ISDIR(st.st_mode)) return InvalidArgument("output file " + Quoted(path) + " is a directory");
    if (::access(path.c_str(), W_OK) != 0) {
      return InvalidArgument("output file " + Quoted(path) + " is not writable: " + std::strerror(errno));
    }
  }
  return Status::Ok();
}

std::string SegmentLine(const Segment& segment, bool timestamps) {
  const std::string text = ReplaceInvalidUtf8(segment.text);
  if (!timestamps) return std::string(StripPythonWhitespace(text)) + "\n";
  return "[" + FormatTimestamp(segment.start, false, '.') + " --> " + FormatTimestamp(segment.end, false, '.') +
         "] " + text + "\n";
}

}  // namespace wisp
