// Model download against an HTTP/1.1 server running in this process on 127.0.0.1: full
// download, SHA-1 verification (a mismatch never lands under the final name), resuming a dropped
// transfer from the .part size with a Range request (the server logs the Range header it got),
// a server that ignores Range, an already complete .part (416), HTTP errors, and the message for
// an unreachable host. Also SHA-1 against the FIPS 180 test vectors.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/model_download.h"
#include "cli/sha1.h"
#include "wisp_runner.h"

namespace wisp {
namespace {

// Serves one blob at one path; every connection carries one request ("Connection: close").
class TestHttpServer {
 public:
  TestHttpServer(std::string path, std::string blob) : path_(std::move(path)), blob_(std::move(blob)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(listen_fd_, 8);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TestHttpServer() {
    stop_ = true;
    thread_.join();
    close(listen_fd_);
  }

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return base_url() + path_; }
  // The next `count` responses send only `bytes` body bytes, then close the connection.
  void DropNextResponses(int count, size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    drops_left_ = count;
    drop_after_ = bytes;
  }
  void set_ignore_range(bool ignore) { ignore_range_ = ignore; }
  // The Range header of each request, in order ("" when it had none).
  std::vector<std::string> ranges() {
    std::lock_guard<std::mutex> lock(mu_);
    return ranges_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      HandleConnection(fd);
      close(fd);
    }
  }

  void HandleConnection(int fd) {
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      request.append(buf, n);
    }
    std::istringstream lines(request);
    std::string method, target, line, range;
    lines >> method >> target;
    std::getline(lines, line);
    while (std::getline(lines, line) && line != "\r") {
      if (line.rfind("Range:", 0) == 0) range = line.substr(7, line.size() - 8);  // drop "\r"
    }
    size_t drop_after = std::string::npos;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ranges_.push_back(range);
      if (drops_left_ > 0) {
        --drops_left_;
        drop_after = drop_after_;
      }
    }
    if (method != "GET" || target != path_) {
      Send(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found");
      return;
    }
    size_t start = 0;
    if (!range.empty() && !ignore_range_) start = std::stoull(range.substr(6));  // "bytes=N-"
    std::string head;
    if (!range.empty() && !ignore_range_) {
      if (start >= blob_.size()) {
        Send(fd, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */" +
                     std::to_string(blob_.size()) + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
      }
      head = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + std::to_string(start) + "-" +
             std::to_string(blob_.size() - 1) + "/" + std::to_string(blob_.size()) + "\r\n";
    } else {
      head = "HTTP/1.1 200 OK\r\n";
    }
    head += "Content-Length: " + std::to_string(blob_.size() - start) + "\r\nConnection: close\r\n\r\n";
    Send(fd, head);
    const size_t end = drop_after == std::string::npos ? blob_.size() : start + drop_after;
    Send(fd, blob_.substr(start, end - start));
  }

  static void Send(int fd, const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += n;
    }
  }

  std::string path_, blob_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ignore_range_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> ranges_;
  int drops_left_ = 0;
  size_t drop_after_ = 0;
};

std::string SyntheticModel() {
  std::mt19937 rng(1234);
  std::string blob(1 << 20 | 123, '\0');
  for (char& c : blob) c = static_cast<char>(rng());
  return blob;
}

std::string Sha1Hex(const std::string& data) {
  Sha1 sha;
  sha.Update(data);
  return sha.FinishHex();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

class DownloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The test server is local; a proxy from the environment must not be asked for it.
    for (const char* v : {"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"}) unsetenv(v);
    char dir[] = "/tmp/wisp_download_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    dest_ = dir_ + "/ggml-test.bin";
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  DownloadOptions Options(const std::string& url, const std::string& sha1) const {
    DownloadOptions o;
    o.url = url;
    o.destination = dest_;
    o.expected_sha1 = sha1;
    o.connect_timeout_seconds = 5;
    o.stall_timeout_seconds = 10;
    return o;
  }
  std::string dir_, dest_;
  const std::string blob_ = SyntheticModel();
};

TEST(Sha1, KnownVectors) {
  EXPECT_EQ(Sha1Hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(Sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(Sha1Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(Sha1Hex("The quick brown fox jumps over the lazy dog"),
            "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12");
  // One million 'a', fed in odd-sized pieces so that every buffering path is taken.
  Sha1 sha;
  const std::string piece(997, 'a');
  size_t fed = 0;
  while (fed < 1000000) {
    const size_t n = std::min(piece.size(), 1000000 - fed);
    sha.Update(piece.data(), n);
    fed += n;
  }
  EXPECT_EQ(sha.FinishHex(), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST_F(DownloadTest, FullDownloadIsVerifiedAndRenamedIntoPlace) {
  TestHttpServer server("/ggml-test.bin", blob_);
  Result<DownloadReport> r = DownloadFile(Options(server.url(), Sha1Hex(blob_)));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(ReadAll(dest_), blob_);
  EXPECT_FALSE(Exists(dest_ + ".part"));
  EXPECT_EQ(r->bytes, static_cast<int64_t>(blob_.size()));
  EXPECT_EQ(r->sha1, Sha1Hex(blob_));
  EXPECT_EQ(r->attempts, 1);
  EXPECT_EQ(server.ranges(), std::vector<std::string>{""});
}

TEST_F(DownloadTest, ChecksumMismatchIsNotRenamedIntoPlace) {
  TestHttpServer server("/ggml-test.bin", blob_);
  const std::string wrong = "0123456789abcdef0123456789abcdef01234567";
  Result<DownloadReport> r = DownloadFile(Options(server.url(), wrong));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), ErrorKind::kBadInput);
  EXPECT_NE(r.status().message().find("checksum mismatch"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(wrong), std::string::npos);
  EXPECT_NE(r.status().message().find(Sha1Hex(blob_)), std::string::npos);
  EXPECT_FALSE(Exists(dest_));
  EXPECT_FALSE(Exists(dest_ + ".part"));
}

TEST_F(DownloadTest, DroppedConnectionResumesFromPartSize) {
  TestHttpServer server("/ggml-test.bin", blob_);
  server.DropNextResponses(1, 300000);
  DownloadOptions options = Options(server.url(), Sha1Hex(blob_));
  options.max_attempts = 1;
  Result<DownloadReport> first = DownloadFile(options);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().kind(), ErrorKind::kNetwork);
  EXPECT_NE(first.status().message().find("interrupted after 300000 bytes"), std::string::npos)
      << first.status().message();
  EXPECT_FALSE(Exists(dest_));
  EXPECT_EQ(FileSize(dest_ + ".part"), 300000);

  Result<DownloadReport> second = DownloadFile(options);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->resumed_from, 300000);
  EXPECT_EQ(ReadAll(dest_), blob_);
  EXPECT_EQ(server.ranges(), (std::vector<std::string>{"", "bytes=300000-"}));
}

TEST_F(DownloadTest, RetriesWithinOneCallWhileMakingProgress) {
  TestHttpServer server("/ggml-test.bin", blob_);
  server.DropNextResponses(2, 400000);
  Result<DownloadReport> r = DownloadFile(Options(server.url(), Sha1Hex(blob_)));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->attempts, 3);
  EXPECT_EQ(ReadAll(dest_), blob_);
  EXPECT_EQ(server.ranges(), (std::vector<std::string>{"", "bytes=400000-", "bytes=800000-"}));
}

TEST_F(DownloadTest, ServerIgnoringRangeRestartsFromZero) {
  TestHttpServer server("/ggml-test.bin", blob_);
  server.set_ignore_range(true);
  { std::ofstream(dest_ + ".part", std::ios::binary) << std::string(1000, 'x'); }
  Result<DownloadReport> r = DownloadFile(Options(server.url(), Sha1Hex(blob_)));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(ReadAll(dest_), blob_);
  EXPECT_EQ(server.ranges(), std::vector<std::string>{"bytes=1000-"});
}

TEST_F(DownloadTest, CompletePartFileIsVerifiedWithoutRefetching) {
  TestHttpServer server("/ggml-test.bin", blob_);
  { std::ofstream(dest_ + ".part", std::ios::binary) << blob_; }
  Result<DownloadReport> r = DownloadFile(Options(server.url(), Sha1Hex(blob_)));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(ReadAll(dest_), blob_);
  EXPECT_EQ(server.ranges(), std::vector<std::string>{"bytes=" + std::to_string(blob_.size()) + "-"});
}

TEST_F(DownloadTest, HttpErrorNamesStatusAndUrl) {
  TestHttpServer server("/ggml-test.bin", blob_);
  Result<DownloadReport> r = DownloadFile(Options(server.base_url() + "/missing.bin", ""));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), ErrorKind::kBadInput);
  EXPECT_NE(r.status().message().find("HTTP 404"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("/missing.bin"), std::string::npos);
  EXPECT_FALSE(Exists(dest_));
}

TEST_F(DownloadTest, UnreachableHostSaysSoAndSuggestsLocalModel) {
  const int port = wisp_test::ClosedPort();
  const std::string host = "127.0.0.1:" + std::to_string(port);
  Result<DownloadReport> r = DownloadFile(Options("http://" + host + "/ggml-test.bin", ""));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), ErrorKind::kNetwork);
  EXPECT_NE(r.status().message().find("could not reach " + host), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("-m /path/to/ggml-model.bin"), std::string::npos);
  EXPECT_FALSE(Exists(dest_));
}

TEST_F(DownloadTest, EnsureCachedModelDownloadsOnceFromMirror) {
  // tiny-q5_1 has no published checksum, so the synthetic blob passes (with a warning).
  TestHttpServer server("/ggml-tiny-q5_1.bin", blob_);
  const std::string cache = dir_ + "/cache/nested";
  Result<std::string> path = EnsureCachedModel("tiny-q5_1", cache, server.base_url() + "/", nullptr, false);
  ASSERT_TRUE(path.ok()) << path.status().message();
  EXPECT_EQ(*path, cache + "/ggml-tiny-q5_1.bin");
  EXPECT_EQ(ReadAll(*path), blob_);
  Result<std::string> again = EnsureCachedModel("tiny-q5_1", cache, server.base_url(), nullptr, false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(server.ranges().size(), 1u);  // served from the cache the second time

  // tiny has a published SHA-1, which the synthetic blob does not match.
  TestHttpServer tiny_server("/ggml-tiny.bin", blob_);
  Result<std::string> tiny = EnsureCachedModel("tiny", cache, tiny_server.base_url(), nullptr, false);
  ASSERT_FALSE(tiny.ok());
  EXPECT_NE(tiny.status().message().find("bd577a113a864445d4c299885e0cb97d4ba92b5f"), std::string::npos);
  EXPECT_FALSE(Exists(cache + "/ggml-tiny.bin"));

  Result<std::string> unknown = EnsureCachedModel("tiny.fr", cache, server.base_url(), nullptr, false);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("wisp models list"), std::string::npos);
}

// --- Tokenizer ranks (openai-whisper's gpt2.tiktoken / multilingual.tiktoken) ---

std::string SharedFile(const std::string& name) { return std::string(WISP_SHARED_DATA_DIR) + "/" + name; }

TEST(TokenizerAsset, MatchesModelNamesAndTheSharedFiles) {
  for (const char* name : {"tiny.en", "base.en", "tiny.en-q5_1", "small.en-tdrz", "medium.en-q5_0"}) {
    EXPECT_STREQ(TokenizerAssetForModel(name).file_name, "gpt2.tiktoken") << name;
  }
  for (const char* name : {"tiny", "base-q8_0", "large-v3", "large-v3-turbo-q5_0"}) {
    EXPECT_STREQ(TokenizerAssetForModel(name).file_name, "multilingual.tiktoken") << name;
  }
  // Every catalogue model maps to one of the two files.
  for (const ModelCatalogEntry& m : ModelCatalog()) {
    const std::string file = TokenizerAssetForModel(m.name).file_name;
    EXPECT_TRUE(file == "gpt2.tiktoken" || file == "multilingual.tiktoken") << m.name;
  }
  // The committed checksums and sizes are those of the team's copies of openai-whisper's files.
  for (const char* model : {"tiny.en", "tiny"}) {
    const TokenizerAsset& asset = TokenizerAssetForModel(model);
    const std::string path = SharedFile(asset.file_name);
    if (!Exists(path)) GTEST_SKIP() << "shared data missing: " << path;
    const std::string data = ReadAll(path);
    EXPECT_EQ(Sha1Hex(data), asset.sha1) << path;
    EXPECT_EQ(static_cast<int64_t>(data.size()), asset.bytes) << path;
  }
}

TEST(TokenizerAsset, BaseUrlPrecedence) {
  unsetenv("WISP_ASSETS_BASE_URL");
  EXPECT_EQ(ResolveAssetsBaseUrl(""), "https://raw.githubusercontent.com/openai/whisper/main/whisper/assets");
  setenv("WISP_ASSETS_BASE_URL", "http://mirror/assets", 1);
  EXPECT_EQ(ResolveAssetsBaseUrl(""), "http://mirror/assets");
  EXPECT_EQ(ResolveAssetsBaseUrl("http://flag"), "http://flag");
  unsetenv("WISP_ASSETS_BASE_URL");
}

TEST_F(DownloadTest, EnsureCachedTokenizerFetchesVerifiesAndCaches) {
  const std::string ranks_path = SharedFile("gpt2.tiktoken");
  if (!Exists(ranks_path)) GTEST_SKIP() << "shared data missing: " << ranks_path;
  const std::string ranks = ReadAll(ranks_path);
  TestHttpServer server("/assets/gpt2.tiktoken", ranks);
  server.DropNextResponses(1, 100000);  // one dropped connection, resumed within the call
  const std::string cache = dir_ + "/cache";
  Result<std::string> path = EnsureCachedTokenizer("base.en", cache, server.base_url() + "/assets/", nullptr, false);
  ASSERT_TRUE(path.ok()) << path.status().message();
  EXPECT_EQ(*path, cache + "/gpt2.tiktoken");
  EXPECT_EQ(ReadAll(*path), ranks);
  EXPECT_FALSE(Exists(*path + ".part"));
  EXPECT_EQ(server.ranges(), (std::vector<std::string>{"", "bytes=100000-"}));
  Result<std::string> again = EnsureCachedTokenizer("tiny.en-q5_1", cache, server.base_url() + "/assets", nullptr, false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *path);
  EXPECT_EQ(server.ranges().size(), 2u);  // served from the cache the second time
}

TEST_F(DownloadTest, EnsureCachedTokenizerRejectsWrongRanks) {
  // A file that is not openai-whisper's multilingual.tiktoken never lands under its name.
  TestHttpServer server("/multilingual.tiktoken", blob_);
  const std::string cache = dir_ + "/cache";
  Result<std::string> path = EnsureCachedTokenizer("large-v3", cache, server.base_url(), nullptr, false);
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().kind(), ErrorKind::kBadInput);
  EXPECT_NE(path.status().message().find("checksum mismatch"), std::string::npos) << path.status().message();
  EXPECT_NE(path.status().message().find(TokenizerAssetForModel("large-v3").sha1), std::string::npos);
  EXPECT_FALSE(Exists(cache + "/multilingual.tiktoken"));
  EXPECT_FALSE(Exists(cache + "/multilingual.tiktoken.part"));
  EXPECT_EQ(server.ranges(), std::vector<std::string>{""});

  // Unreachable: the advice is about the tokenizer file, not the model.
  Result<std::string> offline = EnsureCachedTokenizer("tiny", cache, "http://127.0.0.1:1", nullptr, false);
  ASSERT_FALSE(offline.ok());
  EXPECT_EQ(offline.status().kind(), ErrorKind::kNetwork);
  EXPECT_NE(offline.status().message().find("copy multilingual.tiktoken"), std::string::npos)
      << offline.status().message();
  EXPECT_NE(offline.status().message().find("--tokenizer-file"), std::string::npos);
}

TEST(ModelCatalog, NamesUrlsAndChecksums) {
  const auto& catalog = ModelCatalog();
  EXPECT_EQ(catalog.size(), 30u);
  for (size_t i = 0; i < catalog.size(); ++i) {
    const std::string sha1 = catalog[i].sha1;
    EXPECT_TRUE(sha1.empty() || (sha1.size() == 40 && sha1.find_first_not_of("0123456789abcdef") ==
                                                          std::string::npos)) << catalog[i].name;
    for (size_t j = 0; j < i; ++j) EXPECT_STRNE(catalog[i].name, catalog[j].name);
  }
  ASSERT_NE(FindCatalogModel("tiny.en"), nullptr);
  EXPECT_STREQ(FindCatalogModel("tiny.en")->sha1, "c78c86eb1a8faa21b369bcd33207cc90d64ae9df");
  EXPECT_EQ(CatalogModelUrl(*FindCatalogModel("tiny.en"), ""),
            "https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-tiny.en.bin");
  EXPECT_EQ(CatalogModelUrl(*FindCatalogModel("large-v3-turbo"), "http://mirror/models/"),
            "http://mirror/models/ggml-large-v3-turbo.bin");
  EXPECT_EQ(FindCatalogModel("large-v4"), nullptr);
}

TEST(ModelsCacheDir, FollowsEnvironmentPrecedence) {
  setenv("WISP_MODELS_DIR", "/m", 1);
  setenv("XDG_CACHE_HOME", "/x", 1);
  EXPECT_EQ(*ModelsCacheDir(), "/m");
  unsetenv("WISP_MODELS_DIR");
  EXPECT_EQ(*ModelsCacheDir(), "/x/wisp");
  unsetenv("XDG_CACHE_HOME");
  setenv("HOME", "/home/someone", 1);
  EXPECT_EQ(*ModelsCacheDir(), "/home/someone/.cache/wisp");
}

}  // namespace
}  // namespace wisp
