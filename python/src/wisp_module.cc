// wisp._wisp: the nanobind module under the Python package (python/wisp/). Thin over the api layer:
// WhisperEngine (immutable after Load, so any number of Python threads may transcribe on one at
// once), TranscribeFile for paths (flat memory however long the file) and TranscribeSamples for
// arrays (any rate, through a Session), with one TranscribeOptions filled from a dict of
// openai-whisper's option names and checked by its Validate()/ValidateForModel(). The GIL is
// released while decoding; the segment, progress and language callbacks take it back, and a
// CancelFlag stops a transcription from another thread. The Python side (wisp/__init__.py)
// normalises option values and shapes the results.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "api/engine.h"
#include "api/transcribe_memory.h"
#include "ops/compute_type.h"
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

// One entry of the official result["segments"], keys in its order.
nb::dict SegmentDict(const Segment& s) {
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

// A cancel flag the Python side holds for one transcription and sets from any thread (the
// consumer of transcribe_segments that stops early); the engine checks it before every window.
class CancelFlag {
 public:
  void Set() { flag_.store(true, std::memory_order_relaxed); }
  bool is_set() const { return flag_.load(std::memory_order_relaxed); }
  const std::atomic<bool>* get() const { return &flag_; }

 private:
  std::atomic<bool> flag_{false};
};

// The Python callables of one transcription, called on the decoding (GIL-released) thread with
// the GIL taken. The first Python exception one raises is kept, sets the cancel flag so the
// engine stops at the next window, and is re-raised once the decode returns (instead of the
// engine's "cancelled"). Callables are non-owning handles so copies of the options never touch
// reference counts without the GIL; the bound call's arguments keep them alive throughout.
class PyCallbacks {
 public:
  PyCallbacks(nb::handle on_segment, nb::handle on_progress, nb::handle on_language, CancelFlag* cancel)
      : on_segment_(on_segment), on_progress_(on_progress), on_language_(on_language), cancel_(cancel) {
    if (cancel_ == nullptr) cancel_ = &own_cancel_;
  }

  void Install(TranscribeOptions& o) {
    o.cancel = cancel_->get();
    if (!on_segment_.is_none()) {
      o.on_segment = [this](const Segment& s) { Call([&] { on_segment_(SegmentDict(s)); }); };
    }
    if (!on_progress_.is_none()) {
      o.on_progress = [this](double done, double total) { Call([&] { on_progress_(done, total); }); };
    }
    if (!on_language_.is_none()) {
      o.on_language = [this](const std::string& language, const std::vector<std::pair<std::string, double>>& probs) {
        Call([&] {
          nb::list p;
          for (const auto& [code, prob] : probs) p.append(nb::make_tuple(code, prob));
          on_language_(language, p);
        });
      };
    }
  }

  // With the GIL held, after the decode: a callback's exception wins over the result.
  void RethrowCallbackError() {
    if (!error_) return;
    error_->restore();
    throw nb::python_error();
  }

  template <typename F>
  void Call(F&& f) {
    nb::gil_scoped_acquire acquire;
    if (error_) return;
    try {
      f();
    } catch (nb::python_error& e) {
      error_ = std::make_shared<nb::python_error>(std::move(e));
      cancel_->Set();
    }
  }

 private:
  nb::handle on_segment_, on_progress_, on_language_;
  CancelFlag* cancel_;
  CancelFlag own_cancel_;
  std::shared_ptr<nb::python_error> error_;
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

  // WhisperEngine::TranscribeFile: flat memory however long the file (a level scan, then the
  // windows streamed), exactly the official result.
  nb::dict TranscribeFile(const std::string& path, nb::dict options, nb::object on_segment, nb::object on_progress,
                          nb::object on_language, CancelFlag* cancel) const {
    return Run(options, on_segment, on_progress, on_language, cancel,
               [&](const TranscribeOptions& o, const OpContext& ctx) {
                 Result<TranscriptionResult> r = engine_->TranscribeFile(path, o, ctx);
                 // Name the file unless the audio layer already did.
                 if (!r.ok() && r.status().message().find(path) == std::string::npos &&
                     r.status().kind() != ErrorKind::kCancelled) {
                   return Result<TranscriptionResult>(Status(r.status().kind(), path + ": " + r.status().message()));
                 }
                 return r;
               });
  }

  // samples: mono float32 at sample_rate, already checked by the Python side (1-D, finite, not
  // empty); TranscribeSamples resamples and streams them through a Session.
  nb::dict TranscribeSamples(nb::ndarray<const float, nb::ndim<1>, nb::c_contig, nb::device::cpu> samples,
                             double sample_rate, nb::dict options, nb::object on_segment, nb::object on_progress,
                             nb::object on_language, CancelFlag* cancel) const {
    const std::span<const float> view(samples.data(), samples.shape(0));
    return Run(options, on_segment, on_progress, on_language, cancel,
               [&](const TranscribeOptions& o, const OpContext& ctx) {
                 return wisp::TranscribeSamples(*engine_, view, sample_rate, o, ctx);
               });
  }

 private:
  // The options checked with the GIL held (a ValueError before any audio is read), the decode
  // with it released on a pool of threads_ owned by this call, then the result as a dict.
  template <typename Decode>
  nb::dict Run(nb::dict options, nb::object on_segment, nb::object on_progress, nb::object on_language,
               CancelFlag* cancel, Decode&& decode) const {
    TranscribeOptions o = OptionsFromDict(options);
    if (const Status st = o.Validate(); !st.ok()) Raise(st);
    if (const Status st = o.ValidateForModel(engine_->tokenizer()); !st.ok()) Raise(st);
    PyCallbacks callbacks(on_segment, on_progress, on_language, cancel);
    callbacks.Install(o);
    Result<TranscriptionResult> result = [&] {
      nb::gil_scoped_release release;
      ThreadPool pool(threads_);
      OpContext ctx;
      ctx.pool = &pool;
      return decode(o, ctx);
    }();
    callbacks.RethrowCallbackError();
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
        else if (key == "prepend_punctuations") o.prepend_punctuations = nb::cast<std::string>(v);
        else if (key == "append_punctuations") o.append_punctuations = nb::cast<std::string>(v);
        else if (key == "hallucination_silence_threshold") o.hallucination_silence_threshold = opt_double(v);
        else if (key == "compression_ratio_threshold") o.compression_ratio_threshold = threshold(v);
        else if (key == "logprob_threshold") o.logprob_threshold = threshold(v);
        else if (key == "no_speech_threshold") o.no_speech_threshold = threshold(v);
        else if (key == "seed") o.seed = nb::cast<uint64_t>(v);
        else if (key == "short_audio") o.short_audio = nb::cast<bool>(v);
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
  using wisp::CancelFlag;
  using wisp::PyEngine;
  m.doc() = "wisp's C++ engine (use the wisp package, not this module, directly)";
  m.attr("SAMPLE_RATE") = 16000;

  nb::class_<CancelFlag>(m, "CancelFlag", "Set from any thread to stop a transcription before its next window.")
      .def(nb::init<>())
      .def("set", &CancelFlag::Set)
      .def_prop_ro("is_set", &CancelFlag::is_set);

  // Callbacks run on the decoding thread with the GIL: on_segment(dict), on_progress(done_s,
  // total_s), on_language(code, [(code, probability), ...]) once before the first window.
  nb::class_<PyEngine>(m, "Engine", "One loaded model; immutable, shared by any number of threads.")
      .def(nb::init<const std::string&, const std::string&, int, const std::string&>(), "path"_a,
           "tokenizer_file"_a = "", "threads"_a = 1, "compute"_a = "auto")
      .def_prop_ro("multilingual", &PyEngine::multilingual)
      .def_prop_ro("threads", &PyEngine::threads)
      .def_prop_ro("compute", &PyEngine::compute)
      .def_prop_ro("compute_note", &PyEngine::compute_note)
      .def_prop_ro("tokenizer_source", &PyEngine::tokenizer_source)
      .def("transcribe_file", &PyEngine::TranscribeFile, "path"_a, "options"_a, "on_segment"_a = nb::none(),
           "on_progress"_a = nb::none(), "on_language"_a = nb::none(), "cancel"_a.none() = nb::none())
      .def("transcribe_samples", &PyEngine::TranscribeSamples, "samples"_a, "sample_rate"_a, "options"_a,
           "on_segment"_a = nb::none(), "on_progress"_a = nb::none(), "on_language"_a = nb::none(),
           "cancel"_a.none() = nb::none());
}
