// wisp._wisp: the nanobind module under the Python package (python/wisp/). Thin over the api layer:
// WhisperEngine (immutable after Load, so any number of Python threads may transcribe on one at
// once), the log-mel from a file or from float32 samples, language detection, and Transcribe with
// one TranscribeOptions filled from a dict of openai-whisper's option names and checked by its
// Validate()/ValidateForModel(). The GIL is released for every piece of model or audio work; the
// Python side (wisp/__init__.py) normalises option values and shapes the results.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/engine.h"
#include "api/transcribe_memory.h"
#include "audio/audio_loader.h"
#include "audio/mel.h"
#include "audio/mel_filters.h"
#include "ops/compute_type.h"
#include "pipeline/decoding.h"
#include "pipeline/languages.h"
#include "pipeline/text_metrics.h"
#include "pipeline/transcribe.h"
#include "util/thread_pool.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace wisp {
namespace {

// Status -> the Python exception a user expects: ValueError for bad options or input,
// FileNotFoundError for a missing file or model, RuntimeError otherwise. Call with the GIL held.
[[noreturn]] void Raise(const Status& st) {
  switch (st.kind()) {
    case ErrorKind::kInvalidArgument:
    case ErrorKind::kBadInput:
      throw nb::value_error(st.message().c_str());
    case ErrorKind::kNotFound:
      PyErr_SetString(PyExc_FileNotFoundError, st.message().c_str());
      throw nb::python_error();
    default:
      throw std::runtime_error(st.message());
  }
}

template <typename T>
T Unwrap(Result<T> r) {
  if (!r.ok()) Raise(r.status());
  return std::move(*r);
}

class PyMel {
 public:
  explicit PyMel(LogMelSpectrogram mel) : mel_(std::move(mel)) {}
  const LogMelSpectrogram& mel() const { return mel_; }
  // Seconds of audio (content frames at 100 per second).
  double duration() const { return static_cast<double>(mel_.content_frames()) / 100.0; }

 private:
  LogMelSpectrogram mel_;
};

class PyEngine {
 public:
  PyEngine(const std::string& path, const std::string& tokenizer_file, int threads, const std::string& compute) {
    std::optional<ComputeType> c = ParseComputeType(compute.c_str());
    if (!c) throw nb::value_error(("compute: expected auto, f32, bf16 or int8, got '" + compute + "'").c_str());
    if (threads < 1 || threads > 1024) throw nb::value_error("threads: expected 1..1024");
    threads_ = threads;
    Result<std::unique_ptr<WhisperEngine>> engine = [&] {
      nb::gil_scoped_release release;
      return WhisperEngine::Load(path, tokenizer_file, LoadOptions{.keep_f32_matrices = false, .compute = *c});
    }();
    engine_ = Unwrap(std::move(engine));
  }

  bool multilingual() const { return engine_->hparams().multilingual(); }
  int threads() const { return threads_; }
  std::string compute() const { return ComputeTypeName(engine_->model().weights.compute); }
  const std::string& compute_note() const { return engine_->model().compute_note; }
  const std::string& tokenizer_source() const { return engine_->tokenizer_source(); }

  PyMel MelFromFile(const std::string& path) const {
    Result<LogMelSpectrogram> mel = [&] {
      nb::gil_scoped_release release;
      const MelFilters& filters = engine_->model().mel_filters;
      const int n_mels = engine_->hparams().n_mels;
      const float* f = filters.n_mels == n_mels && !filters.data.empty() ? filters.data.data() : nullptr;
      return ComputeLogMelFromFile(path, f, n_mels);
    }();
    if (!mel.ok() && mel.status().message().find(path) == std::string::npos) {
      Raise(Status(mel.status().kind(), path + ": " + mel.status().message()));
    }
    return PyMel(Unwrap(std::move(mel)));
  }

  // samples: 16-kHz mono float32, already checked by the Python side (1-D, finite, not empty).
  PyMel MelFromSamples(nb::ndarray<const float, nb::ndim<1>, nb::c_contig, nb::device::cpu> samples) const {
    nb::gil_scoped_release release;
    const MelFilters& filters = engine_->model().mel_filters;
    const int n_mels = engine_->hparams().n_mels;
    // A model without an embedded filterbank (or one of another size) gets librosa's, as
    // ComputeLogMelFromFile computes it (LogMelBuilder itself needs one).
    std::vector<float> computed;
    const float* f = filters.data.data();
    if (filters.n_mels != n_mels || filters.data.empty()) {
      computed = SlaneyMelFilterbank(kSampleRate, kNFft, n_mels);
      f = computed.data();
    }
    LogMelBuilder builder(f, n_mels);
    builder.Push(samples.data(), samples.shape(0));
    return PyMel(builder.Finish());
  }

  // openai-whisper's detect_language on the first 30 s: (code, [(code, probability), ...]).
  std::pair<std::string, std::vector<std::pair<std::string, double>>> DetectLanguage(
      const PyMel& mel, const std::vector<std::string>& candidates) const {
    if (!multilingual()) return {"en", {{"en", 1.0}}};
    Result<LanguageDetection> detected = [&] {
      nb::gil_scoped_release release;
      ThreadPool pool(threads_);
      OpContext ctx;
      ctx.pool = &pool;
      WindowDecoder decoder(engine_->model().weights, engine_->tokenizer(), ctx);
      std::vector<float> window(static_cast<size_t>(mel.mel().n_mels()) * kWindowFrames);
      mel.mel().Window(0, std::min<int64_t>(kWindowFrames, mel.mel().total_frames()), window.data());
      decoder.EncodeWindow(window.data());
      std::vector<std::string> codes;
      for (const std::string& c : candidates) codes.push_back(NormalizeLanguage(c));
      return decoder.DetectLanguage(codes);
    }();
    LanguageDetection d = Unwrap(std::move(detected));
    return {d.language, d.probs};
  }

  nb::dict Transcribe(const PyMel& mel, nb::dict options, nb::object on_segment) const {
    TranscribeOptions o = OptionsFromDict(options);
    // Called on the decoding (GIL-released) thread: take the GIL for the Python callable. A Python
    // exception in it is kept and re-raised once the decode returns. The callable is held as a
    // non-owning handle so copies of the options never touch reference counts without the GIL
    // (the caller's frame keeps it alive for the whole call).
    std::shared_ptr<nb::python_error> callback_error;
    if (!on_segment.is_none()) {
      nb::handle callback = on_segment;
      o.on_segment = [callback, &callback_error](const Segment& s) {
        nb::gil_scoped_acquire acquire;
        if (callback_error) return;
        try {
          callback(SegmentDict(s));
        } catch (nb::python_error& e) {
          callback_error = std::make_shared<nb::python_error>(std::move(e));
        }
      };
    }
    if (const Status st = o.Validate(); !st.ok()) Raise(st);
    if (const Status st = o.ValidateForModel(engine_->tokenizer()); !st.ok()) Raise(st);
    Result<TranscriptionResult> result = [&] {
      nb::gil_scoped_release release;
      ThreadPool pool(threads_);
      OpContext ctx;
      ctx.pool = &pool;
      return TranscribeMel(*engine_, mel.mel(), o, ctx);
    }();
    if (callback_error) {
      callback_error->restore();
      throw nb::python_error();
    }
    TranscriptionResult r = Unwrap(std::move(result));
    nb::list segments;
    for (const Segment& s : r.segments) segments.append(SegmentDict(s));
    nb::list probs;
    for (const auto& [code, p] : r.language_probs) probs.append(nb::make_tuple(code, p));
    nb::dict out;
    out["text"] = ReplaceInvalidUtf8(r.text);
    out["segments"] = segments;
    out["language"] = r.language;
    out["language_probs"] = probs;
    return out;
  }

 private:
  static nb::dict SegmentDict(const Segment& s) {
    nb::dict d;
    d["id"] = s.id;
    d["seek"] = s.seek;
    d["start"] = s.start;
    d["end"] = s.end;
    d["text"] = ReplaceInvalidUtf8(s.text);
    d["tokens"] = s.tokens;
    d["temperature"] = s.temperature;
    d["avg_logprob"] = s.avg_logprob;
    d["compression_ratio"] = s.compression_ratio;
    d["no_speech_prob"] = s.no_speech_prob;
    if (!s.words.empty()) {
      nb::list words;
      for (const Word& w : s.words) {
        nb::dict wd;
        wd["word"] = ReplaceInvalidUtf8(w.word);
        wd["start"] = w.start;
        wd["end"] = w.end;
        wd["probability"] = w.probability;
        words.append(wd);
      }
      d["words"] = words;
    }
    return d;
  }

  // The dict's keys are TranscribeOptions' fields (the Python side has already turned
  // openai-whisper's spellings into them); an unknown key is a ValueError, never ignored.
  static TranscribeOptions OptionsFromDict(nb::dict options) {
    TranscribeOptions o;
    auto opt_double = [](nb::handle v) -> std::optional<double> {
      if (v.is_none()) return std::nullopt;
      return nb::cast<double>(v);
    };
    auto opt_int = [](nb::handle v) -> std::optional<int> {
      if (v.is_none()) return std::nullopt;
      return nb::cast<int>(v);
    };
    auto threshold = [](nb::handle v) {
      return v.is_none() ? std::numeric_limits<double>::quiet_NaN() : nb::cast<double>(v);
    };
    for (auto [k, v] : options) {
      const std::string key = nb::cast<std::string>(k);
      try {
        if (key == "language") o.language = v.is_none() ? "" : nb::cast<std::string>(v);
        else if (key == "language_candidates") o.language_candidates = nb::cast<std::vector<std::string>>(v);
        else if (key == "task") o.task = nb::cast<std::string>(v);
        else if (key == "temperatures") o.temperatures = nb::cast<std::vector<double>>(v);
        else if (key == "best_of") o.best_of = opt_int(v);
        else if (key == "beam_size") o.beam_size = opt_int(v);
        else if (key == "patience") o.patience = opt_double(v);
        else if (key == "length_penalty") o.length_penalty = opt_double(v);
        else if (key == "without_timestamps") o.without_timestamps = nb::cast<bool>(v);
        else if (key == "condition_on_previous_text") o.condition_on_previous_text = nb::cast<bool>(v);
        else if (key == "suppress_blank") o.suppress_blank = nb::cast<bool>(v);
        else if (key == "suppress_tokens") o.suppress_tokens = nb::cast<std::string>(v);
        else if (key == "max_initial_timestamp") o.max_initial_timestamp = v.is_none() ? 0.0 : nb::cast<double>(v);
        else if (key == "sample_len") o.sample_len = v.is_none() ? 0 : nb::cast<int>(v);
        else if (key == "initial_prompt") o.initial_prompt = v.is_none() ? "" : nb::cast<std::string>(v);
        else if (key == "carry_initial_prompt") o.carry_initial_prompt = nb::cast<bool>(v);
        else if (key == "clip_timestamps") o.clip_timestamps = nb::cast<std::vector<double>>(v);
        else if (key == "word_timestamps") o.word_timestamps = nb::cast<bool>(v);
        else if (key == "hallucination_silence_threshold") o.hallucination_silence_threshold = opt_double(v);
        else if (key == "compression_ratio_threshold") o.compression_ratio_threshold = threshold(v);
        else if (key == "logprob_threshold") o.logprob_threshold = threshold(v);
        else if (key == "no_speech_threshold") o.no_speech_threshold = threshold(v);
        else if (key == "seed") o.seed = nb::cast<uint64_t>(v);
        else throw nb::value_error(("unknown transcribe option '" + key + "'").c_str());
      } catch (const nb::cast_error&) {
        throw nb::value_error(("transcribe option '" + key + "': wrong type (" +
                               nb::cast<std::string>(nb::str(v.type())) + ")").c_str());
      }
    }
    return o;
  }

  std::unique_ptr<WhisperEngine> engine_;
  int threads_ = 1;
};

}  // namespace
}  // namespace wisp

NB_MODULE(_wisp, m) {
  using wisp::PyEngine;
  using wisp::PyMel;
  m.doc() = "wisp's C++ engine (use the wisp package, not this module, directly)";
  m.attr("SAMPLE_RATE") = 16000;

  nb::class_<PyMel>(m, "Mel", "A log-mel spectrogram of one input (30 s of padding included).")
      .def_prop_ro("duration", &PyMel::duration, "Seconds of audio.");

  nb::class_<PyEngine>(m, "Engine", "One loaded model; immutable, shared by any number of threads.")
      .def(nb::init<const std::string&, const std::string&, int, const std::string&>(), "path"_a,
           "tokenizer_file"_a = "", "threads"_a = 1, "compute"_a = "auto")
      .def_prop_ro("multilingual", &PyEngine::multilingual)
      .def_prop_ro("threads", &PyEngine::threads)
      .def_prop_ro("compute", &PyEngine::compute)
      .def_prop_ro("compute_note", &PyEngine::compute_note)
      .def_prop_ro("tokenizer_source", &PyEngine::tokenizer_source)
      .def("mel_from_file", &PyEngine::MelFromFile, "path"_a)
      .def("mel_from_samples", &PyEngine::MelFromSamples, "samples"_a)
      .def("detect_language", &PyEngine::DetectLanguage, "mel"_a, "candidates"_a = std::vector<std::string>{})
      .def("transcribe", &PyEngine::Transcribe, "mel"_a, "options"_a, "on_segment"_a = nb::none());
}
