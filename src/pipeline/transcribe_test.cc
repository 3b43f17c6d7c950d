// The transcription loop end to end on a random-weight tiny.en model built in memory from the
// header of whisper.cpp's for-tests-ggml-tiny.en.bin (shared data; the test skips without it).
// Random weights say nothing about the words, so this checks the structure openai-whisper's
// transcribe() guarantees: ordered, well-formed segments, consistent bookkeeping, finite
// statistics, determinism, and the option errors. Exact equivalence with openai-whisper on real
// models is tested in tests/.
#include "pipeline/transcribe.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "audio/mel.h"
#include "model/ggml_loader.h"
#include "model/ggml_writer.h"
#include "pipeline/text_metrics.h"
#include "util/thread_pool.h"

namespace wisp {
namespace {

std::string SharedFile(const std::string& name) { return std::string(WISP_SHARED_DATA_DIR) + "/" + name; }

// 5 s of a 440 Hz tone with a slow amplitude wobble and a little deterministic noise.
std::vector<float> SyntheticSignal(double seconds) {
  const int n = static_cast<int>(seconds * kSampleRate);
  std::vector<float> samples(n);
  uint32_t state = 12345;
  for (int i = 0; i < n; ++i) {
    state = state * 1664525u + 1013904223u;
    const double noise = (static_cast<double>(state >> 8) / (1 << 24) - 0.5) * 0.02;
    const double t = static_cast<double>(i) / kSampleRate;
    samples[i] = static_cast<float>(0.3 * (0.6 + 0.4 * std::sin(2 * M_PI * 1.5 * t)) * std::sin(2 * M_PI * 440 * t) +
                                    noise);
  }
  return samples;
}

// A random-weight model (f16 matrices) at the shape of a shared whisper.cpp test header, loaded
// from memory: seed and n_layers as RandomModelOptions (0 layers: the header's).
Result<std::unique_ptr<LoadedModel>> LoadRandomModel(const std::string& header_path, uint64_t seed, int n_layers = 0) {
  Result<GgmlHeader> header = ReadGgmlHeader(header_path);
  if (!header.ok()) return header.status();
  RandomModelOptions random;
  random.seed = seed;
  random.type = GgmlType::kF16;
  random.n_layers = n_layers;
  Result<std::vector<uint8_t>> bytes = BuildRandomGgmlModel(header.value(), random);
  if (!bytes.ok()) return bytes.status();
  return LoadGgmlModelFromMemory(bytes->data(), bytes->size());
}

class TranscribeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string header_path = SharedFile("for-tests-ggml-tiny.en.bin");
    if (!std::filesystem::exists(header_path)) {
      GTEST_SKIP() << "shared test data not found: " << header_path;
    }
    Result<std::unique_ptr<LoadedModel>> loaded = LoadRandomModel(header_path, /*seed=*/7);
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    model_ = std::move(loaded.value());
    const HParams& hp = model_->weights.hparams;
    Result<Tokenizer> tokenizer = Tokenizer::FromGgmlVocab(model_->vocab, hp.n_vocab);
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().message();
    tokenizer_ = std::make_unique<Tokenizer>(std::move(tokenizer.value()));

    LogMelBuilder builder(model_->mel_filters.data.data(), model_->mel_filters.n_mels);
    const std::vector<float> signal = SyntheticSignal(kSeconds);
    builder.Push(signal.data(), signal.size());
    mel_ = std::make_unique<LogMelSpectrogram>(builder.Finish());
  }

  Result<TranscriptionResult> Run(const TranscribeOptions& options) {
    OpContext ctx;  // single-threaded, fast backend
    return Transcribe(model_->weights, *tokenizer_, ctx, *mel_, options);
  }

  static constexpr double kSeconds = 5.0;
  std::unique_ptr<LoadedModel> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<LogMelSpectrogram> mel_;
};

TEST_F(TranscribeTest, SegmentsAreWellFormed) {
  ASSERT_EQ(mel_->content_frames(), 500);  // 5 s at 100 frames per second
  TranscribeOptions options;
  options.temperatures = {0.0};  // one greedy pass (random weights would fall back to sampling)
  std::vector<int> streamed_ids;
  options.on_segment = [&](const Segment& s) { streamed_ids.push_back(s.id); };
  Result<TranscriptionResult> result = Run(options);
  ASSERT_TRUE(result.ok()) << result.status().message();
  const TranscriptionResult& r = result.value();
  EXPECT_EQ(r.language, "en");

  const Tokenizer& tok = *tokenizer_;
  const int n_vocab = model_->weights.hparams.n_vocab;
  std::string concatenated;
  int previous_seek = -1;
  double previous_start = -1;
  ASSERT_EQ(streamed_ids.size(), r.segments.size());
  for (size_t i = 0; i < r.segments.size(); ++i) {
    const Segment& s = r.segments[i];
    SCOPED_TRACE("segment " + std::to_string(i) + " [" + std::to_string(s.start) + ", " + std::to_string(s.end) + "]");
    EXPECT_EQ(s.id, static_cast<int>(i));
    EXPECT_EQ(streamed_ids[i], s.id);
    // Windows start inside the audio and never move back.
    EXPECT_GE(s.seek, previous_seek);
    EXPECT_LT(s.seek, mel_->content_frames());
    previous_seek = s.seek;
    // A segment lies inside its 30-s window; starts are ordered.
    const double window_start = s.seek * 0.01;
    EXPECT_GE(s.start, window_start - 1e-9);
    EXPECT_LE(s.end, window_start + 30.0 + 1e-9);
    EXPECT_LE(s.start, s.end);
    EXPECT_GE(s.start, previous_start);
    previous_start = s.start;
    // Cleared segments (instantaneous or blank) have neither text nor tokens; the others have
    // a positive duration and non-blank text.
    if (s.tokens.empty()) {
      EXPECT_EQ(s.text, "");
    } else {
      EXPECT_LT(s.start, s.end);
      EXPECT_FALSE(StripPythonWhitespace(s.text).empty());
      EXPECT_EQ(s.text, ReplaceInvalidUtf8(tok.Decode(s.tokens)));
    }
    // Tokens are text or timestamps (eot and the other specials are suppressed or cut), and
    // the timestamps inside a segment never decrease.
    int last_timestamp = -1;
    for (int t : s.tokens) {
      EXPECT_GE(t, 0);
      EXPECT_LT(t, n_vocab);
      EXPECT_TRUE(t < tok.eot() || t >= tok.timestamp_begin()) << t;
      if (t >= tok.timestamp_begin()) {
        EXPECT_GE(t, last_timestamp);
        last_timestamp = t;
      }
    }
    EXPECT_TRUE(std::isfinite(s.start) && std::isfinite(s.end));
    EXPECT_TRUE(std::isfinite(s.avg_logprob));
    EXPECT_LE(s.avg_logprob, 0.0);
    EXPECT_GE(s.no_speech_prob, 0.0);
    EXPECT_LE(s.no_speech_prob, 1.0);
    EXPECT_GE(s.compression_ratio, 0.0);
    EXPECT_TRUE(std::isfinite(s.compression_ratio));
    EXPECT_EQ(s.temperature, 0.0);
    concatenated += tok.Decode(s.tokens);
  }
  // result["text"] decodes all tokens the segments contributed, in order.
  EXPECT_EQ(r.text, ReplaceInvalidUtf8(concatenated));
}

TEST_F(TranscribeTest, DeterministicAndPromptStaysOutOfTheText) {
  TranscribeOptions options;
  options.sample_len = 40;
  Result<TranscriptionResult> a = Run(options);
  Result<TranscriptionResult> b = Run(options);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->segments.size(), b->segments.size());
  for (size_t i = 0; i < a->segments.size(); ++i) {
    EXPECT_EQ(a->segments[i].tokens, b->segments[i].tokens);
    EXPECT_EQ(a->segments[i].start, b->segments[i].start);
    EXPECT_EQ(a->segments[i].end, b->segments[i].end);
    EXPECT_EQ(a->segments[i].avg_logprob, b->segments[i].avg_logprob);
    EXPECT_EQ(a->segments[i].no_speech_prob, b->segments[i].no_speech_prob);
  }
  EXPECT_EQ(a->text, b->text);
  // The initial prompt is context only: it never appears in the result text by itself.
  options.initial_prompt = "  Hello there.  ";
  Result<TranscriptionResult> prompted = Run(options);
  ASSERT_TRUE(prompted.ok()) << prompted.status().message();
  EXPECT_EQ(prompted->text.find("Hello there."), std::string::npos);
}

// without_timestamps: no timestamp tokens, so each window is one segment over its real audio.
TEST_F(TranscribeTest, WithoutTimestampsOneSegmentPerWindow) {
  TranscribeOptions options;
  options.without_timestamps = true;
  options.sample_len = 30;
  // Greedy: without the timestamp rules a sample at T > 0 may draw timestamp tokens (as in the
  // official), which this test of the segment shape does not expect.
  options.temperatures = {0.0};
  options.no_speech_threshold = std::nan("");  // never skip: the test is about the segment shape
  Result<TranscriptionResult> result = Run(options);
  ASSERT_TRUE(result.ok()) << result.status().message();
  ASSERT_EQ(result->segments.size(), 1u);
  const Segment& s = result->segments[0];
  EXPECT_EQ(s.seek, 0);
  EXPECT_EQ(s.start, 0.0);
  EXPECT_EQ(s.end, 5.0);  // segment_size 500 * 160 / 16000
  for (int t : s.tokens) EXPECT_LT(t, tokenizer_->eot());
  EXPECT_LE(s.tokens.size(), 30u);
}

TEST_F(TranscribeTest, OptionErrorsNameTheProblem) {
  TranscribeOptions options;
  options.language = "de";
  Result<TranscriptionResult> r = Run(options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.status().message().find("'de'"), std::string::npos) << r.status().message();

  options = TranscribeOptions();
  options.sample_len = 1000;
  r = Run(options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("sample_len"), std::string::npos) << r.status().message();

  options = TranscribeOptions();
  options.task = "translate";
  EXPECT_FALSE(Run(options).ok());

  options = TranscribeOptions();
  options.suppress_tokens = "-1,banana";
  r = Run(options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("banana"), std::string::npos) << r.status().message();
}

// No audio: no window is decoded, the result is empty (openai-whisper's loop never runs).
TEST_F(TranscribeTest, EmptyAudioGivesAnEmptyResult) {
  LogMelBuilder builder(model_->mel_filters.data.data(), model_->mel_filters.n_mels);
  const LogMelSpectrogram empty = builder.Finish();
  ASSERT_EQ(empty.content_frames(), 0);
  OpContext ctx;
  Result<TranscriptionResult> r = Transcribe(model_->weights, *tokenizer_, ctx, empty, TranscribeOptions());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->segments.empty());
  EXPECT_EQ(r->text, "");
  EXPECT_EQ(r->language, "en");
}

// The default options (fallback tuple, best_of 5): random weights fail the thresholds, so every
// window samples. Equal seeds give equal results whatever the thread count; another seed
// samples differently.
TEST_F(TranscribeTest, SeededSamplingIsDeterministicAcrossThreadCounts) {
  TranscribeOptions options;
  options.sample_len = 24;
  options.seed = 42;
  auto run = [&](int threads) {
    ThreadPool pool(threads);
    OpContext ctx;
    ctx.pool = &pool;
    return Transcribe(model_->weights, *tokenizer_, ctx, *mel_, options);
  };
  Result<TranscriptionResult> one = run(1);
  Result<TranscriptionResult> two = run(2);
  ASSERT_TRUE(one.ok() && two.ok());
  ASSERT_FALSE(one->segments.empty());
  EXPECT_GT(one->segments[0].temperature, 0.0) << "random weights were expected to fall back";
  ASSERT_EQ(one->segments.size(), two->segments.size());
  for (size_t i = 0; i < one->segments.size(); ++i) {
    EXPECT_EQ(one->segments[i].tokens, two->segments[i].tokens);
    EXPECT_EQ(one->segments[i].temperature, two->segments[i].temperature);
    EXPECT_EQ(one->segments[i].avg_logprob, two->segments[i].avg_logprob);
  }
  EXPECT_EQ(one->text, two->text);
  options.seed = 43;
  Result<TranscriptionResult> other = run(1);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->text, one->text);
}

// best_of rows batched (model/decoder_batch) or decoded one after another give the same
// candidates, so the same result: each row samples from its own generator and the batched
// logits equal the single-row ones bit for bit.
TEST_F(TranscribeTest, BestOfBatchedEqualsOneRowAtATime) {
  const HParams& hp = model_->weights.hparams;
  std::vector<float> window(static_cast<size_t>(hp.n_mels) * kWindowFrames);
  mel_->Window(0, mel_->content_frames(), window.data());
  OpContext ctx;
  DecodingOptions options;
  options.temperature = 0.8;
  options.best_of = 4;
  options.sample_len = 20;
  auto decode = [&](std::unique_ptr<DecoderRows> rows) {
    WindowDecoder decoder(model_->weights, *tokenizer_, ctx, std::move(rows));
    decoder.EncodeWindow(window.data());
    std::mt19937_64 rng(5);
    return decoder.Decode(options, &rng);
  };
  Result<DecodingResult> batched = decode(MakeBatchedDecoderRows(model_->weights, ctx));
  Result<DecodingResult> single = decode(MakeSingleRowDecoder(model_->weights, ctx));
  ASSERT_TRUE(batched.ok() && single.ok()) << batched.status().message() << single.status().message();
  EXPECT_EQ(batched->tokens, single->tokens);
  EXPECT_EQ(batched->avg_logprob, single->avg_logprob);
  EXPECT_EQ(batched->no_speech_prob, single->no_speech_prob);
  EXPECT_EQ(batched->temperature, 0.8);
  // The decode-level refusals of DecodingTask._verify_options.
  options.temperature = 0.0;
  Result<DecodingResult> greedy_best_of = decode(nullptr);
  ASSERT_FALSE(greedy_best_of.ok());
  EXPECT_EQ(greedy_best_of.status().message(), "best_of with greedy sampling (T=0) is not compatible");
  options.beam_size = 2;
  EXPECT_EQ(decode(nullptr).status().message(), "beam_size and best_of can't be given together");
}

// The same on a multilingual model with no prompt: the initial tokens are [sot, language, task],
// fed as sot (no_speech_prob is read there) and then two more tokens per row, after the batched
// rows have forked. The batch once took those two as one token per row (rows 0 and 1 got the
// language and the task token, one position each): other logits than one row at a time. Beam
// search (rows that interact, no one-row reference) took the same path and is fixed with it.
TEST(BestOfBatched, MultilingualInitialTokensAfterTheForkEqualOneRowAtATime) {
  const std::string header_path = SharedFile("for-tests-ggml-tiny.bin");
  if (!std::filesystem::exists(header_path)) GTEST_SKIP() << "shared test data not found: " << header_path;
  Result<std::unique_ptr<LoadedModel>> model = LoadRandomModel(header_path, /*seed=*/11, /*n_layers=*/1);
  ASSERT_TRUE(model.ok()) << model.status().message();
  const HParams& hp = (*model)->weights.hparams;
  Result<Tokenizer> tokenizer = Tokenizer::FromGgmlVocab((*model)->vocab, hp.n_vocab);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().message();
  ASSERT_TRUE(tokenizer->multilingual());
  LogMelBuilder builder((*model)->mel_filters.data.data(), (*model)->mel_filters.n_mels);
  const std::vector<float> signal = SyntheticSignal(3.0);
  builder.Push(signal.data(), signal.size());
  const LogMelSpectrogram mel = builder.Finish();
  std::vector<float> window(static_cast<size_t>(hp.n_mels) * kWindowFrames);
  mel.Window(0, mel.content_frames(), window.data());
  OpContext ctx;
  DecodingOptions options;
  options.language = "de";
  options.sample_len = 12;
  options.temperature = 0.8;
  options.best_of = 3;
  auto decode = [&](std::unique_ptr<DecoderRows> rows) {
    WindowDecoder decoder((*model)->weights, *tokenizer, ctx, std::move(rows));
    decoder.EncodeWindow(window.data());
    std::mt19937_64 rng(5);
    return decoder.Decode(options, &rng);
  };
  Result<DecodingResult> batched = decode(MakeBatchedDecoderRows((*model)->weights, ctx));
  Result<DecodingResult> single = decode(MakeSingleRowDecoder((*model)->weights, ctx));
  ASSERT_TRUE(batched.ok() && single.ok()) << batched.status().message() << single.status().message();
  EXPECT_EQ(batched->tokens, single->tokens);
  EXPECT_EQ(batched->avg_logprob, single->avg_logprob);
  EXPECT_EQ(batched->no_speech_prob, single->no_speech_prob);
}

// PlanDecoding on the multilingual vocabulary (header only, no weights needed).
TEST(PlanDecoding, MultilingualLanguagesAndInitialTokens) {
  const std::string header_path = SharedFile("for-tests-ggml-tiny.bin");
  if (!std::filesystem::exists(header_path)) GTEST_SKIP() << "shared test data not found: " << header_path;
  Result<GgmlHeader> header = ReadGgmlHeader(header_path);
  ASSERT_TRUE(header.ok()) << header.status().message();
  const HParams& hp = header->hparams;
  Result<Tokenizer> tokenizer = Tokenizer::FromGgmlVocab(header->vocab, hp.n_vocab);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().message();
  const Tokenizer& tok = tokenizer.value();

  DecodingOptions options;
  options.language = "xx";
  Result<DecodingPlan> plan = PlanDecoding(options, tok, hp);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(plan.status().message().find("'xx'"), std::string::npos) << plan.status().message();

  options.language = "de";
  options.task = "translate";
  options.without_timestamps = true;
  options.prompt = {100, 200};
  plan = PlanDecoding(options, tok, hp);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  // [sot_prev, prompt..., sot, <|de|>, <|translate|>, <|notimestamps|>]
  const std::vector<int> expected = {tok.sot_prev(), 100, 200, tok.sot(), tok.LanguageToken("de"), tok.translate(),
                                     tok.no_timestamps()};
  EXPECT_EQ(plan->initial_tokens, expected);
  EXPECT_EQ(plan->sample_begin, 7);
  EXPECT_EQ(plan->sot_index, 3);
  EXPECT_EQ(plan->sample_len, hp.n_text_ctx / 2);
  // SuppressBlank and SuppressTokens, no timestamp rules.
  EXPECT_EQ(plan->filters.size(), 2u);
}

}  // namespace
}  // namespace wisp
