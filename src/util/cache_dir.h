// Where wisp keeps downloaded models and their tokenizer files. One rule, used by the CLI's
// downloader (which writes there) and the engine (which looks there for tiktoken files).
#pragma once
#include <string>

#include "util/status.h"

namespace wisp {

// $WISP_MODELS_DIR, else $XDG_CACHE_HOME/wisp, else $HOME/.cache/wisp. NotFound when none of
// these variables is set.
Result<std::string> ModelsCacheDir();

}  // namespace wisp
