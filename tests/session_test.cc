// Streaming transcription (api/session.h, WhisperEngine::TranscribeFile's two-pass path) on the
// REAL tiny.en: audio pushed in chunks of every size equals the file transcription token for
// token when the level is known, a live stream (level so far) on real speech, resampled input,
// bad samples, cancellation, progress, and a 10-hour file whose memory stays flat (RSS sampled
// while it runs, then cancelled: bounded time).
//
// Without the model the test skips (fails when CI=true), as real_weights_test does.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/engine.h"
#include "api/session.h"
#include "api/transcribe_memory.h"
#include "api/wisp.h"
#include "audio/audio_loader.h"
#include "audio/resampler.h"
#include "real_weights_common.h"
#include "util/thread_pool.h"

namespace wisp {
namespace {

namespace fs = std::filesystem;
using namespace real_weights;  // NOLINT: the shared helpers

#ifndef WISP_MAKE_SPEECH
#error "WISP_MAKE_SPEECH (tools/realweights/make_speech.sh) must be defined by the build"
#endif

bool Quick() { return std::getenv("WISP_TEST_QUICK") != nullptr; }

struct Shared {
  std::string skip, failure, speech_failure;
  std::unique_ptr<WhisperEngine> engine;
};

Shared& State() {
  static Shared* shared = [] {
    auto* s = new Shared;
    const std::string dir = RealModelDir();
    if (dir.empty() || !fs::exists(dir + "/model.bin")) {
      (OnCi() ? s->failure : s->skip) = "no real model at '" + dir + "': run scripts/fetch-real-model.sh";
      return s;
    }
    s->speech_failure = MakeSpeech(WISP_MAKE_SPEECH);
    LoadOptions options;
    options.keep_f32_matrices = false;
    options.compute = ComputeType::kF32;  // exact: the cases compare with openai-whisper's tokens
    Result<std::unique_ptr<WhisperEngine>> engine = WhisperEngine::Load(dir, "", options);
    if (!engine.ok()) s->failure = "cannot load " + dir + ": " + engine.status().message();
    else s->engine = std::move(*engine);
    return s;
  }();
  return *shared;
}

#define REQUIRE_ENGINE()                              \
  Shared& s = State();                                \
  if (!s.failure.empty()) FAIL() << s.failure;        \
  if (!s.skip.empty()) GTEST_SKIP() << s.skip;        \
  const WhisperEngine& engine = *s.engine

TranscribeOptions OnePass() {
  TranscribeOptions options;
  options.temperatures = {0.0};
  return options;
}

std::vector<float> Samples(const std::string& path) {
  Result<std::vector<float>> samples = LoadAudio16k(path);
  EXPECT_TRUE(samples.ok()) << path << ": " << samples.status().message();
  return samples.ok() ? *samples : std::vector<float>();
}

// Pushes samples in chunks cycling through awkward sizes (1 sample, one hop, a prime, 3 s).
Result<TranscriptionResult> PushAll(const WhisperEngine& engine, const std::vector<float>& samples,
                                    const TranscribeOptions& options, const OpContext& ctx,
                                    const SessionConfig& config) {
  Result<std::unique_ptr<Session>> session = Session::Start(engine, options, ctx, config);
  if (!session.ok()) return session.status();
  const size_t sizes[] = {1, 160, 7919, 48000};
  for (size_t at = 0, i = 0; at < samples.size(); ++i) {
    const size_t n = std::min(sizes[i % 4], samples.size() - at);
    WISP_RETURN_IF_ERROR((*session)->Push(samples.data() + at, n));
    at += n;
  }
  return (*session)->Finish();
}

void ExpectSameTokens(const TranscriptionResult& a, const TranscriptionResult& b, const std::string& what) {
  ASSERT_EQ(a.segments.size(), b.segments.size()) << what;
  for (size_t i = 0; i < a.segments.size(); ++i) {
    EXPECT_EQ(a.segments[i].tokens, b.segments[i].tokens) << what << " segment " << i;
    EXPECT_EQ(a.segments[i].start, b.segments[i].start) << what << " segment " << i;
    EXPECT_EQ(a.segments[i].end, b.segments[i].end) << what << " segment " << i;
  }
  EXPECT_EQ(a.text, b.text) << what;
}

TEST(Session, PushedInChunksWithKnownLevelEqualsTheFile) {
  REQUIRE_ENGINE();
  ThreadPool pool(2);
  const OpContext ctx{&pool, nullptr, Backend::kFast};
  for (const std::string name : {"jfk", "s4", "long"}) {
    if (Quick() && name == "long") continue;
    const std::string path = AudioPath(name);
    if (!fs::exists(path)) continue;
    Result<TranscriptionResult> file = engine.TranscribeFile(path, OnePass(), ctx);
    ASSERT_TRUE(file.ok()) << file.status().message();
    Result<MelPass> level = ComputeLogMelOrLevel(
        [&](const SampleSink& sink) { return DecodeAudio(path, sink); }, engine.mel_filters(), 80, 0);
    ASSERT_TRUE(level.ok()) << level.status().message();
    SessionConfig config;
    config.level = level->level.log_max;
    config.total_samples_16k = level->level.samples;
    Result<TranscriptionResult> pushed = PushAll(engine, Samples(path), OnePass(), ctx, config);
    ASSERT_TRUE(pushed.ok()) << pushed.status().message();
    ExpectSameTokens(*file, *pushed, name);
  }
}

// A live stream cannot know its level: each window is scaled by the max so far. On the real
// speech set that changes no token (the loudest frames come early, and the clamp at max - 8
// touches only near-silent bins); the count is printed for the record.
TEST(Session, LiveStreamOnRealSpeech) {
  REQUIRE_ENGINE();
  if (!s.speech_failure.empty()) FAIL() << s.speech_failure;
  ThreadPool pool(2);
  const OpContext ctx{&pool, nullptr, Backend::kFast};
  int identical = 0, total = 0;
  for (const std::string name : {"jfk", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "long"}) {
    if (Quick() && name != "jfk" && name != "s1") continue;
    const std::string path = AudioPath(name);
    if (!fs::exists(path)) continue;
    Result<TranscriptionResult> file = engine.TranscribeFile(path, OnePass(), ctx);
    ASSERT_TRUE(file.ok()) << file.status().message();
    Result<TranscriptionResult> live = PushAll(engine, Samples(path), OnePass(), ctx, SessionConfig());
    ASSERT_TRUE(live.ok()) << live.status().message();
    bool same = live->segments.size() == file->segments.size() && live->text == file->text;
    for (size_t i = 0; same && i < live->segments.size(); ++i) same = live->segments[i].tokens == file->segments[i].tokens;
    identical += same ? 1 : 0;
    ++total;
    EXPECT_TRUE(same) << name << ": live " << live->text << "\nfile " << file->text;
  }
  std::printf("[session] live level: %d/%d real files token-identical to the file transcription\n", identical, total);
}

TEST(Session, ResampledInputAt44100) {
  REQUIRE_ENGINE();
  ThreadPool pool(2);
  const OpContext ctx{&pool, nullptr, Backend::kFast};
  const std::string path = AudioPath("jfk");
  if (!fs::exists(path)) GTEST_SKIP() << path << " is absent";
  const std::vector<float> at16k = Samples(path);
  Result<std::unique_ptr<Resampler>> up = Resampler::Create(16000, 44100);
  ASSERT_TRUE(up.ok());
  std::vector<float> at44k;
  auto sink = [&](const float* p, size_t n) { at44k.insert(at44k.end(), p, p + n); };
  ASSERT_TRUE((*up)->Push(at16k.data(), at16k.size(), sink).ok());
  ASSERT_TRUE((*up)->Finish(sink).ok());
  EXPECT_EQ(at44k.size(), static_cast<size_t>(std::llround(at16k.size() * 44100.0 / 16000)));
  SessionConfig config;
  config.sample_rate = 44100;
  Result<TranscriptionResult> r = PushAll(engine, at44k, OnePass(), ctx, config);
  ASSERT_TRUE(r.ok()) << r.status().message();
  Result<TranscriptionResult> file = engine.TranscribeFile(path, OnePass(), ctx);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(r->text, file->text);

  config.sample_rate = 500;
  Result<std::unique_ptr<Session>> bad = Session::Start(engine, OnePass(), ctx, config);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "sample rate 500 Hz is outside the supported range 1000-384000 Hz");
}

// api TranscribeSamples (the Python module's path for NumPy arrays): a level scan, then a
// Session that knows level and length, so exactly the file's result; a set cancel flag stops it.
TEST(Session, TranscribeSamplesEqualsTheFile) {
  REQUIRE_ENGINE();
  ThreadPool pool(2);
  const OpContext ctx{&pool, nullptr, Backend::kFast};
  for (const std::string name : {"jfk", "s4"}) {
    const std::string path = AudioPath(name);
    if (!fs::exists(path)) continue;
    Result<TranscriptionResult> file = engine.TranscribeFile(path, OnePass(), ctx);
    ASSERT_TRUE(file.ok()) << file.status().message();
    const std::vector<float> samples = Samples(path);
    Result<TranscriptionResult> r = TranscribeSamples(engine, samples, 16000, OnePass(), ctx);
    ASSERT_TRUE(r.ok()) << r.status().message();
    ExpectSameTokens(*file, *r, name);
  }
  const std::vector<float> jfk = Samples(AudioPath("jfk"));
  std::atomic<bool> cancel{true};
  TranscribeOptions cancelled = OnePass();
  cancelled.cancel = &cancel;
  Result<TranscriptionResult> stopped = TranscribeSamples(engine, jfk, 16000, cancelled, ctx);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.status().kind(), ErrorKind::kCancelled);
  Result<TranscriptionResult> bad = TranscribeSamples(engine, jfk, 500, OnePass(), ctx);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "sample rate 500 Hz is outside the supported range 1000-384000 Hz");
}

TEST(Session, NonFiniteSampleIsAnErrorThatSticks) {
  REQUIRE_ENGINE();
  ThreadPool pool(1);
  const OpContext ctx{&pool, nullptr, Backend::kFast};
  Result<std::unique_ptr<Session>> session = Session::Start(engine, OnePass(), ctx);
  ASSERT_TRUE(session.ok());
  const std::vector<float> ok(1000, 0.1f);
  ASSERT_TRUE((*session)->Push(ok.data(), ok.size()).ok());
  const float bad[] = {0.0f, std::nanf(""), 0.0f};
  Status st = (*session)->Push(bad, 3);
  EXPECT_EQ(st.kind(), ErrorKind::kBadInput);
  EXPECT_EQ(st.message(), "audio sample NaN at sample 1001: samples must be finite and within +-10000");
  EXPECT_EQ((*session)->Push(ok.data(), ok.size()).message(), st.message());
  EXPECT_EQ((*session)->Finish().status().message(), st.message());
}

TEST(Session, CancelStopsBeforeTheNextWindowAndProgressEnds) {
  REQUIRE_ENGINE();
  if (!s.speech_failure.empty()) FAIL() << s.speech_failure;
  ThreadPool pool(2);
  const OpContext ctx{&pool, nullptr, Backend::kFast};
  const std::string path = AudioPath("long");
  std::atomic<bool> cancel{false};
  TranscribeOptions options = OnePass();
  std::vector<int> seeks;
  options.on_segment = [&](const Segment& seg) {
    seeks.push_back(seg.seek);
    cancel.store(true);
  };
  options.cancel = &cancel;
  AudioLoadOptions streamed;
  streamed.max_spectrogram_frames_in_memory = 0;  // the two-pass path: cancel reaches the audio pass
  Result<TranscriptionResult> r = engine.TranscribeFile(path, options, ctx, streamed);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), ErrorKind::kCancelled) << r.status().message();
  ASSERT_FALSE(seeks.empty());
  for (int seek : seeks) EXPECT_EQ(seek, 0) << "a window after the cancel was decoded";

  std::vector<std::pair<double, double>> progress;
  TranscribeOptions counted = OnePass();
  counted.on_progress = [&](double done, double total) { progress.emplace_back(done, total); };
  // on_language comes once, before any progress (front ends build their info from it).
  std::vector<std::string> languages;
  counted.on_language = [&](const std::string& language, const std::vector<std::pair<std::string, double>>& probs) {
    EXPECT_TRUE(progress.empty());
    EXPECT_TRUE(probs.empty());  // English-only model: nothing detected
    languages.push_back(language);
  };
  ASSERT_TRUE(engine.TranscribeFile(path, counted, ctx, streamed).ok());
  EXPECT_EQ(languages, std::vector<std::string>{"en"});
  ASSERT_GE(progress.size(), 7u);  // 169.7 s: at least 6 windows and the end
  for (size_t i = 1; i < progress.size(); ++i) EXPECT_LE(progress[i - 1].first, progress[i].first);
  EXPECT_NEAR(progress.back().first, 169.71, 1e-9);  // content_frames 16971
  EXPECT_EQ(progress.back().first, progress.back().second);
}

// The C API's mirror (wisp.h): a session with callbacks equals wisp_transcribe_file, and a
// cancel token set from the segment callback stops the file transcription.
struct CCallbacks {
  std::vector<std::string> texts;
  int progress_calls = 0;
  wisp_cancel* cancel_after_first = nullptr;
};

TEST(Session, CApiSessionCallbacksAndCancel) {
  REQUIRE_ENGINE();
  (void)engine;
  const std::string path = AudioPath("jfk");
  if (!fs::exists(path)) GTEST_SKIP() << path << " is absent";
  wisp_model* model = nullptr;
  char* err = nullptr;
  ASSERT_EQ(wisp_model_load_compute(RealModelDir().c_str(), nullptr, "f32", &model, &err), WISP_OK) << err;
  wisp_params p = wisp_params_default();
  p.n_threads = 2;
  p.temperature_increment_on_fallback = 0;  // one pass
  CCallbacks seen;
  p.user_data = &seen;
  p.on_segment = [](double, double, const char* text, void* user) {
    auto* c = static_cast<CCallbacks*>(user);
    c->texts.emplace_back(text);
    if (c->cancel_after_first != nullptr) wisp_cancel_set(c->cancel_after_first);
  };
  p.on_progress = [](double, double, void* user) { ++static_cast<CCallbacks*>(user)->progress_calls; };

  wisp_result* file = nullptr;
  ASSERT_EQ(wisp_transcribe_file(model, path.c_str(), &p, &file, &err), WISP_OK) << err;
  const std::vector<std::string> file_texts = seen.texts;
  ASSERT_EQ(file_texts.size(), static_cast<size_t>(wisp_result_segment_count(file)));
  EXPECT_GE(seen.progress_calls, 2);

  seen.texts.clear();
  wisp_session* session = nullptr;
  ASSERT_EQ(wisp_session_start(model, &p, 16000, &session, &err), WISP_OK) << err;
  const std::vector<float> samples = Samples(path);
  for (size_t at = 0; at < samples.size(); at += 4000) {
    ASSERT_EQ(wisp_session_push(session, samples.data() + at, std::min<size_t>(4000, samples.size() - at), &err), WISP_OK)
        << err;
  }
  wisp_result* streamed = nullptr;
  ASSERT_EQ(wisp_session_finish(session, &streamed, &err), WISP_OK) << err;
  EXPECT_EQ(seen.texts, file_texts);
  EXPECT_STREQ(wisp_result_text(streamed), wisp_result_text(file));
  const float nan_sample = std::nanf("");
  EXPECT_EQ(wisp_session_push(session, &nan_sample, 1, &err), WISP_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(err, "Push after Finish: the session has ended");
  wisp_free_string(err);
  wisp_session_free(session);

  // Cancel from the first segment: the rest of a 170-s file is never decoded.
  const std::string long_path = AudioPath("long");
  if (fs::exists(long_path)) {
    seen.texts.clear();
    seen.cancel_after_first = wisp_cancel_new();
    p.cancel = seen.cancel_after_first;
    wisp_result* cancelled = nullptr;
    EXPECT_EQ(wisp_transcribe_file(model, long_path.c_str(), &p, &cancelled, &err), WISP_ERROR_CANCELLED);
    EXPECT_EQ(cancelled, nullptr);
    EXPECT_NE(std::string(err).find("cancelled"), std::string::npos) << err;
    wisp_free_string(err);
    EXPECT_LT(seen.texts.size(), 10u);  // the first window's segments only (the file has 30)
    wisp_cancel_free(seen.cancel_after_first);
  }
  wisp_result_free(file);
  wisp_result_free(streamed);
  wisp_model_free(model);
}

long ResidentKb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// A 10-hour WAV (sparse: the data is silence, so it costs no disk) transcribed for a bounded
// time, sampling RSS, then cancelled: memory must stay within 100 MB of what the loaded engine
// held before, and the cancel must return promptly.
TEST(Session, TenHourFileKeepsMemoryFlatAndCancels) {
  REQUIRE_ENGINE();
  const double hours = Quick() ? 1.0 : 10.0;  // the sanitizers make the level scan ~10x slower
  const std::string path = (fs::temp_directory_path() / ("wisp-session-test-" + std::to_string(::getpid()) + ".wav")).string();
  const uint32_t data_bytes = static_cast<uint32_t>(hours * 3600 * 16000 * 2);
  {
    std::ofstream f(path, std::ios::binary);
    auto u32 = [&](uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
    auto u16 = [&](uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
    f.write("RIFF", 4), u32(36 + data_bytes), f.write("WAVEfmt ", 8), u32(16), u16(1), u16(1), u32(16000),
        u32(32000), u16(2), u16(16), f.write("data", 4), u32(data_bytes);
  }
  fs::resize_file(path, 44 + static_cast<uintmax_t>(data_bytes));

  ThreadPool pool(2);
  const OpContext ctx{&pool, nullptr, Backend::kFast};
  std::atomic<bool> cancel{false};
  std::atomic<int> windows{0};
  TranscribeOptions options = OnePass();
  options.cancel = &cancel;
  options.on_progress = [&](double done, double total) {
    if (total > 0 && done < total) windows.fetch_add(1);
  };
  const long before_kb = ResidentKb();
  long peak_kb = before_kb;
  Result<TranscriptionResult> result = InvalidArgument("not run");
  const auto start = std::chrono::steady_clock::now();
  std::thread worker([&] { result = engine.TranscribeFile(path, options, ctx); });
  double first_window_s = -1;
  // Run until three windows are decoded (or 300 s), sampling RSS every 50 ms.
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(300) && windows.load() < 3) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    peak_kb = std::max(peak_kb, ResidentKb());
    if (first_window_s < 0 && windows.load() > 0) {
      first_window_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
  }
  cancel.store(true);
  const auto cancelled_at = std::chrono::steady_clock::now();
  worker.join();
  const double stop_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - cancelled_at).count();
  fs::remove(path);
  EXPECT_GE(windows.load(), 3) << "no window was decoded within 300 s";
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().kind(), ErrorKind::kCancelled) << result.status().message();
  // Asserted in the Release pass: under the sanitizers (WISP_TEST_QUICK) freed memory sits in
  // AddressSanitizer's quarantine, so RSS there says little about the engine.
  if (!Quick()) {
    EXPECT_LT(peak_kb - before_kb, 100 * 1024) << "RSS grew from " << before_kb << " to " << peak_kb << " kB";
  }
  EXPECT_LT(stop_s, 30.0) << "the cancel took " << stop_s << " s";
  std::printf("[session] %.0f-h file: first window after %.1f s (the level scan), RSS %ld -> peak %ld kB (+%.1f MB), "
              "cancel returned in %.2f s\n",
              hours, first_window_s, before_kb, peak_kb, (peak_kb - before_kb) / 1024.0, stop_s);
}

}  // namespace
}  // namespace wisp
