#include "util/cache_dir.h"

#include <cstdlib>

namespace wisp {

Result<std::string> ModelsCacheDir() {
  const char* dir = std::getenv("WISP_MODELS_DIR");
  if (dir != nullptr && *dir != '\0') return std::string(dir);
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && *xdg != '\0') return std::string(xdg) + "/wisp";
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0') return std::string(home) + "/.cache/wisp";
  return NotFound("no model cache directory: set WISP_MODELS_DIR (or XDG_CACHE_HOME or HOME)");
}

}  // namespace wisp
