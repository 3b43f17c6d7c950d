// Command-line parsing for the `wisp` subcommands: each command declares its options in a
// table, which drives both parsing and the --help text, so the two cannot disagree.
// Usage errors are InvalidArgument Statuses whose message names the offending flag; the CLI
// turns them into exit code 1.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ops/compute_type.h"
#include "util/status.h"

namespace wisp {

// Process exit codes of the `wisp` binary.
constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;     // unknown flag, missing value, bad number, unknown command, unwritable output
constexpr int kExitBadInput = 2;  // unreadable model or audio, network failure, failed download

// Long names are written with dashes; openai-whisper's underscore spellings (--beam_size) name
// the same option. A switch may be followed by True or False (--word_timestamps True), as the
// official CLI's boolean options are, or written --name=True / --name=False.
struct OptionSpec {
  std::string name;        // long name without dashes: "model"
  char short_name = 0;     // 'm' for -m; 0 when none
  std::string value_name;  // "MODEL"; empty: a switch without a value
  std::string help;        // one line; the default is part of it when there is one
  std::string alias;       // another long name of the same option ("model-dir" for "models-dir")
};

struct ParsedArgs {
  std::map<std::string, std::string> values;  // last occurrence wins
  // Every value of an option in the order given, for options that may repeat (-f srt -f vtt);
  // `values` keeps the last one so single-valued options need not care.
  std::map<std::string, std::vector<std::string>> all_values;
  std::map<std::string, bool> switches;       // false for "--name False"
  std::vector<std::string> positional;

  // A value given, or a switch given and not False.
  bool Has(const std::string& name) const {
    auto it = switches.find(name);
    return values.count(name) > 0 || (it != switches.end() && it->second);
  }
  // A switch's state when given (True or bare: true; False: false).
  std::optional<bool> Switch(const std::string& name) const {
    auto it = switches.find(name);
    return it == switches.end() ? std::nullopt : std::optional<bool>(it->second);
  }
  std::string Get(const std::string& name, const std::string& fallback = "") const {
    auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
  std::vector<std::string> GetAll(const std::string& name) const {
    auto it = all_values.find(name);
    return it == all_values.end() ? std::vector<std::string>() : it->second;
  }
};

// Parses args (without the program and command names). Accepts --name VALUE, --name=VALUE,
// -x VALUE, and "--" ending the options. A lone "-" is a positional argument (stdin audio).
// --help / -h are always known (as the switch "help").
Result<ParsedArgs> ParseArgs(const std::vector<std::string>& args, const std::vector<OptionSpec>& options,
                             const std::string& command);

// The options block of a --help text, one aligned line per option.
std::string FormatOptionsHelp(const std::vector<OptionSpec>& options);

// Integer / number parsing for a flag's value; the error names the flag and the accepted range.
Result<int> ParseIntFlag(const std::string& flag, const std::string& value, int min, int max);

// --compute TYPE (transcribe, profile, bench): ops/compute_type.h's names; absent is kAuto.
inline constexpr const char* kComputeFlagHelp =
    "precision the products compute in: auto (default: the fastest within the drift budget of "
    "docs/PERFORMANCE.md: bf16 for float models on AVX512_BF16 CPUs, int8 for quantized models on VNNI, "
    "else f32), f32 (exact: openai-whisper's tokens), bf16 (AVX512_BF16; elsewhere f32, with a note) or int8 "
    "(VNNI: float models quantized to q8_0 at load)";
Result<ComputeType> ParseComputeFlag(const ParsedArgs& args);
Result<double> ParseDoubleFlag(const std::string& flag, const std::string& value, double min, double max);
// openai-whisper's optional_int / optional_float: "None" is unset, anything else as above.
Result<std::optional<int>> ParseOptionalIntFlag(const std::string& flag, const std::string& value, int min, int max);
Result<std::optional<double>> ParseOptionalDoubleFlag(const std::string& flag, const std::string& value, double min,
                                                      double max);

}  // namespace wisp
