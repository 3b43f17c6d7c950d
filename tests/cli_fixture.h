// The fixtures of the tests that run build/bin/wisp (cli_test, cli_output_test): a scratch
// directory per test, and random-weight models written from whisper.cpp's header-only test files.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "model/ggml_writer.h"
#include "wisp_runner.h"

namespace wisp_test {

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kWisp.c_str(), X_OK), 0) << kWisp << " is not built";
    char dir[] = "/tmp/wisp_cli_test_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string dir_;
};

// Needs a loadable model: a random-weight 1-layer model written from whisper.cpp's header-only
// test files (skipped when the shared data is absent).
class CliWithModelTest : public CliTest {
 protected:
  std::string WriteModel(const std::string& header_name) {
    const std::string header = std::string(WISP_SHARED_DATA_DIR) + "/" + header_name;
    if (access(header.c_str(), R_OK) != 0) return "";
    const std::string path = dir_ + "/random-" + header_name;
    wisp::RandomModelOptions options;
    options.seed = 3;
    options.n_layers = 1;
    return wisp::WriteRandomGgmlModel(header, path, options).ok() ? path : "";
  }
};

}  // namespace wisp_test
