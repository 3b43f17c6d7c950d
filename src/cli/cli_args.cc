#include "cli/cli_args.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cmath>
#include <cstdlib>

namespace wisp {
namespace {

const OptionSpec* FindLong(const std::vector<OptionSpec>& options, std::string name) {
  // openai-whisper spells its options with underscores: --beam_size is --beam-size.
  std::replace(name.begin(), name.end(), '_', '-');
  for (const OptionSpec& o : options) {
    if (o.name == name || (!o.alias.empty() && o.alias == name)) return &o;
  }
  return nullptr;
}

// The values of openai-whisper's str2bool.
std::optional<bool> PythonBool(const std::string& s) {
  if (s == "True") return true;
  if (s == "False") return false;
  return std::nullopt;
}

const OptionSpec* FindShort(const std::vector<OptionSpec>& options, char c) {
  for (const OptionSpec& o : options) {
    if (o.short_name != 0 && o.short_name == c) return &o;
  }
  return nullptr;
}

std::string SeeHelp(const std::string& command) { return " (see `" + command + " --help`)"; }

}  // namespace

Result<ParsedArgs> ParseArgs(const std::vector<std::string>& args, const std::vector<OptionSpec>& options,
                             const std::string& command) {
  ParsedArgs parsed;
  bool options_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_ended || arg.size() < 2 || arg[0] != '-') {
      parsed.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    std::string flag;  // as the user wrote it, for messages
    const OptionSpec* spec = nullptr;
    std::string inline_value;
    bool has_inline_value = false;
    if (arg[1] == '-') {
      std::string name = arg.substr(2);
      const size_t eq = name.find('=');
      if (eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        has_inline_value = true;
        name.resize(eq);
      }
      flag = "--" + name;
      if (name == "help") {
        parsed.switches["help"] = true;
        continue;
      }
      spec = FindLong(options, name);
    } else {
      if (arg.size() != 2) {
        return InvalidArgument("unknown option '" + arg + "'" + SeeHelp(command));
      }
      flag = arg;
      if (arg[1] == 'h') {
        parsed.switches["help"] = true;
        continue;
      }
      spec = FindShort(options, arg[1]);
    }
    if (spec == nullptr) return InvalidArgument("unknown option '" + flag + "'" + SeeHelp(command));
    if (spec->value_name.empty()) {
      if (has_inline_value) {
        const std::optional<bool> b = PythonBool(inline_value);
        if (!b) return InvalidArgument("option " + flag + " takes no value");
        parsed.switches[spec->name] = *b;
        continue;
      }
      // The official CLI's `--word_timestamps True`: a following True / False belongs to the
      // switch (never a file name: a file called True needs ./True).
      const std::optional<bool> next = i + 1 < args.size() ? PythonBool(args[i + 1]) : std::nullopt;
      if (next) ++i;
      parsed.switches[spec->name] = next.value_or(true);
      continue;
    }
    if (!has_inline_value && i + 1 >= args.size()) {
      return InvalidArgument("option " + flag + " needs a value (" + spec->value_name + ")");
    }
    const std::string value = has_inline_value ? inline_value : args[++i];
    parsed.values[spec->name] = value;
    parsed.all_values[spec->name].push_back(value);
  }
  return parsed;
}

std::string FormatOptionsHelp(const std::vector<OptionSpec>& options) {
  std::vector<std::string> left;
  size_t width = 0;
  for (const OptionSpec& o : options) {
    std::string l = o.short_name != 0 ? std::string("-") + o.short_name + ", " : "    ";
    l += "--" + o.name;
    if (!o.value_name.empty()) l += " " + o.value_name;
    width = std::max(width, l.size());
    left.push_back(l);
  }
  std::string out;
  for (size_t i = 0; i < options.size(); ++i) {
    out += "  " + left[i] + std::string(width - left[i].size() + 2, ' ') + options[i].help + "\n";
  }
  out += "  -h, --help" + std::string(width > 10 ? width - 10 + 2 : 2, ' ') + "show this help\n";
  return out;
}

Result<int> ParseIntFlag(const std::string& flag, const std::string& value, int min, int max) {
  errno = 0;
  char* end = nullptr;
  const long v = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno == ERANGE || v < min || v > max) {
    return InvalidArgument(flag + ": expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                           "], got '" + value + "'");
  }
  return static_cast<int>(v);
}

Result<double> ParseDoubleFlag(const std::string& flag, const std::string& value, double min, double max) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v) || v < min || v > max) {
    char range[64];
    std::snprintf(range, sizeof range, "[%g, %g]", min, max);
    return InvalidArgument(flag + ": expected a number in " + range + ", got '" + value + "'");
  }
  return v;
}

Result<std::optional<int>> ParseOptionalIntFlag(const std::string& flag, const std::string& value, int min, int max) {
  if (value == "None") return std::optional<int>();
  Result<int> v = ParseIntFlag(flag, value, min, max);
  if (!v.ok()) return InvalidArgument(v.status().message() + " (or None)");
  return std::optional<int>(*v);
}

Result<std::optional<double>> ParseOptionalDoubleFlag(const std::string& flag, const std::string& value, double min,
                                                      double max) {
  if (value == "None") return std::optional<double>();
  Result<double> v = ParseDoubleFlag(flag, value, min, max);
  if (!v.ok()) return InvalidArgument(v.status().message() + " (or None)");
  return std::optional<double>(*v);
}

Result<ComputeType> ParseComputeFlag(const ParsedArgs& args) {
  if (!args.Has("compute")) return ComputeType::kAuto;
  const std::string c = args.Get("compute");
  const std::optional<ComputeType> parsed = ParseComputeType(c.c_str());
  if (!parsed) return InvalidArgument("--compute: expected auto, f32, bf16 or int8, got '" + c + "'");
  return *parsed;
}

}  // namespace wisp
