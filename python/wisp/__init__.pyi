import os
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Sequence, Tuple, Union

import numpy as np

SAMPLE_RATE: int

def resolve_model_path(path_or_name: Union[str, os.PathLike]) -> str: ...

@dataclass
class TranscriptionInfo:
    language: str
    language_probability: float
    duration: float
    all_language_probs: Optional[list[tuple[str, float]]] = ...

Audio = Union[str, os.PathLike, np.ndarray]

class Model:
    path: str
    def __init__(self, path: str, threads: Optional[int] = ..., compute: str = ...,
                 tokenizer_file: Optional[str] = ...) -> None: ...
    @property
    def is_multilingual(self) -> bool: ...
    @property
    def threads(self) -> int: ...
    @property
    def compute(self) -> str: ...
    def transcribe(
        self,
        audio: Audio,
        *,
        sample_rate: Optional[float] = ...,
        on_progress: Optional[Callable[[float, float], Any]] = ...,
        language: Optional[str] = ...,
        task: str = ...,
        temperature: Union[float, Sequence[float]] = ...,
        best_of: Optional[int] = ...,
        beam_size: Optional[int] = ...,
        patience: Optional[float] = ...,
        length_penalty: Optional[float] = ...,
        initial_prompt: Optional[str] = ...,
        carry_initial_prompt: bool = ...,
        condition_on_previous_text: bool = ...,
        compression_ratio_threshold: Optional[float] = ...,
        logprob_threshold: Optional[float] = ...,
        no_speech_threshold: Optional[float] = ...,
        word_timestamps: bool = ...,
        prepend_punctuations: str = ...,
        append_punctuations: str = ...,
        suppress_tokens: Union[str, int, Sequence[int], None] = ...,
        suppress_blank: bool = ...,
        without_timestamps: bool = ...,
        max_initial_timestamp: Optional[float] = ...,
        sample_len: Optional[int] = ...,
        clip_timestamps: Union[str, Sequence[float]] = ...,
        hallucination_silence_threshold: Optional[float] = ...,
        seed: int = ...,
        language_candidates: Optional[Sequence[str]] = ...,
        short_audio: bool = ...,
        **ignored: Any,
    ) -> dict[str, Any]: ...
    def transcribe_segments(self, audio: Audio, *, sample_rate: Optional[float] = ...,
                            on_progress: Optional[Callable[[float, float], Any]] = ...,
                            **options: Any) -> Tuple[SegmentStream, TranscriptionInfo]: ...

class SegmentStream(Iterator[dict[str, Any]]):
    def __iter__(self) -> SegmentStream: ...
    def __next__(self) -> dict[str, Any]: ...
    def close(self) -> None: ...
    def __enter__(self) -> SegmentStream: ...
    def __exit__(self, *exc: Any) -> None: ...

def load_model(path_or_name: Union[str, os.PathLike], threads: Optional[int] = ..., compute: str = ...,
               tokenizer_file: Optional[str] = ...) -> Model: ...
