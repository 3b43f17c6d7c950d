// Helpers for the tests that run the built `wisp` binary in a child process (cli_test,
// profile_cli_test) or need a loopback port nothing listens on (cli_test, download_test).
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace wisp_test {

// build/bin/wisp of this build tree.
extern const std::string kWisp;

struct RunResult {
  int exit_code = -1;  // -1 when the child did not exit normally
  std::string out, err;
};

// The whole file, byte for byte ("" when it cannot be opened).
std::string ReadFile(const std::string& path);

// How the child's standard streams are connected beyond the defaults.
struct RunIo {
  std::string stdin_path;     // a file read as stdin (audio "-"); empty: stdin is /dev/null
  bool merge_stderr = false;  // stderr into out too, interleaved as written (err stays empty)
};

// Runs wisp with args and extra environment variables; stdout/stderr go through temp files so
// that neither can fill a pipe and block the child.
RunResult RunWisp(const std::vector<std::string>& args,
                  const std::vector<std::pair<std::string, std::string>>& env = {}, const RunIo& io = {});

// A 127.0.0.1 port that was just free: bind to port 0, read the number, close.
int ClosedPort();

}  // namespace wisp_test

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE((haystack).find(needle), std::string::npos) << "missing \"" << (needle) << "\" in:\n" << (haystack)
