// The `wisp` binary: dispatches to the subcommands in commands.h.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/cli_args.h"
#include "cli/commands.h"

namespace wisp {

int ReportError(const std::string& command, const std::string& message, int exit_code) {
  std::fprintf(stderr, "%s: %s\n", command.c_str(), message.c_str());
  return exit_code;
}

namespace {

constexpr const char* kTopLevelHelp =
    "wisp: Whisper speech-to-text (openai-whisper's transcription on whisper.cpp's ggml models)\n"
    "\n"
    "usage: wisp <command> [options]\n"
    "\n"
    "commands:\n"
    "  transcribe   transcribe (or translate) audio files: wisp transcribe -m MODEL AUDIO...\n"
    "  models       list the published models and download them into the cache\n"
    "  profile      time every op of one transcription: wisp profile -m MODEL AUDIO\n"
    "  bench        encoder/decoder timings against the measured FMA peak and bandwidth\n"
    "  serve        answer OpenAI's audio API over HTTP: wisp serve -m MODEL [--port 8080]\n"
    "  convert      write any checkpoint as a (quantized) ggml file: wisp convert IN OUT.bin --type q5_0\n"
    "  help         show this help\n"
    "\n"
    "`wisp <command> --help` describes each command.\n"
    "\n"
    "exit codes: 0 success, 1 usage error, 2 bad input (unreadable model or audio, failed download)\n";

}  // namespace
}  // namespace wisp

int main(int argc, char** argv) {
  using namespace wisp;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(kTopLevelHelp, stderr);
    return kExitUsage;
  }
  const std::string command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "-h" || command == "--help" || command == "help") {
    if (command == "help" && !rest.empty()) {  // "wisp help transcribe" = "wisp transcribe --help"
      const std::string topic = rest[0];
      if (topic == "transcribe") return RunTranscribeCommand({"--help"});
      if (topic == "models") return RunModelsCommand({"--help"});
      if (topic == "convert") return RunConvertCommand({"--help"});
      if (topic == "serve") return RunServeCommand({"--help"});
      return ReportError("wisp", "unknown command '" + topic + "' (see `wisp --help`)", kExitUsage);
    }
    std::fputs(kTopLevelHelp, stdout);
    return kExitOk;
  }
  if (command == "transcribe") return RunTranscribeCommand(rest);
  if (command == "models") return RunModelsCommand(rest);
  if (command == "profile") return RunProfileCommand(rest);
  if (command == "bench") return RunBenchCommand(rest);
  if (command == "convert") return RunConvertCommand(rest);
  if (command == "serve") return RunServeCommand(rest);
  return ReportError("wisp", "unknown command '" + command + "' (see `wisp --help`)", kExitUsage);
}
