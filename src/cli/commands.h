// The `wisp` subcommands. Each takes its arguments after the command name and returns the
// process exit code (kExitOk, kExitUsage, kExitBadInput from cli_args.h).
#pragma once
#include <string>
#include <vector>

namespace wisp {

// wisp transcribe -m MODEL [options] AUDIO...
int RunTranscribeCommand(const std::vector<std::string>& args);
// wisp models list | download NAME...
int RunModelsCommand(const std::vector<std::string>& args);
// wisp profile -m MODEL AUDIO / wisp bench (-m MODEL | --random NAME): performance reports
int RunProfileCommand(const std::vector<std::string>& args);
int RunBenchCommand(const std::vector<std::string>& args);
// wisp convert IN OUT.bin [--type TYPE]: any checkpoint as a whisper.cpp ggml file
int RunConvertCommand(const std::vector<std::string>& args);
// wisp serve -m [NAME=]MODEL... [--host H] [--port N]: OpenAI's audio API over HTTP (src/server/)
int RunServeCommand(const std::vector<std::string>& args);

// Prints "wisp <command>: <message>" on stderr and returns the exit code.
int ReportError(const std::string& command, const std::string& message, int exit_code);

}  // namespace wisp
