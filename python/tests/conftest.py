"""Fixtures: the real tiny.en (scripts/fetch-real-model.sh), the CLI binary, the shared jfk.wav,
make_speech.sh's generated speech.

Under CI=true a missing real model, CLI or jfk.wav is a failure, never a skip."""
from __future__ import annotations

import os
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

import wisp

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("WISP_SHARED_DATA_DIR", REPO.parent / "shared" / "data"))
JFK = SHARED / "jfk.wav"
IN_CI = os.environ.get("CI") == "true"


def _missing(what: str):
    if IN_CI:
        pytest.fail(f"{what} (required under CI=true)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def real_model_dir() -> str:
    path = os.environ.get("WISP_REAL_MODEL")
    if not path:
        r = subprocess.run([str(REPO / "scripts" / "fetch-real-model.sh")], capture_output=True, text=True)
        path = r.stdout.strip() if r.returncode == 0 else ""
    if not path or not os.path.exists(os.path.join(path, "model.bin")):
        _missing("the real tiny.en model is not available (scripts/fetch-real-model.sh)")
    return path


@pytest.fixture(scope="session")
def jfk_path() -> str:
    if not JFK.exists():
        _missing(f"{JFK} is absent")
    return str(JFK)


@pytest.fixture(scope="session")
def jfk_samples(jfk_path) -> np.ndarray:
    with wave.open(jfk_path) as w:
        assert w.getframerate() == 16000
    return read_wav_f32(jfk_path)


@pytest.fixture(scope="session")
def model(real_model_dir) -> wisp.Model:
    return wisp.load_model(real_model_dir, threads=2)


@pytest.fixture(scope="session")
def exact_model(real_model_dir) -> wisp.Model:
    """compute f32: openai-whisper's tokens bit for bit (the default, auto, may take bf16 within its drift budget)."""
    return wisp.load_model(real_model_dir, threads=2, compute="f32")


@pytest.fixture(scope="session")
def cli() -> str:
    path = Path(os.environ.get("WISP_CLI", REPO / "build" / "bin" / "wisp"))
    if not path.exists():
        _missing(f"the wisp CLI is not built ({path}; scripts/build.sh)")
    return str(path)


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory) -> Path:
    """tools/realweights/make_speech.sh's files (s1..s8, long.wav: ~3 min, 7 windows); ~0.5 s."""
    out = tmp_path_factory.mktemp("speech")
    script = REPO / "tools" / "realweights" / "make_speech.sh"
    r = subprocess.run([str(script), str(out)], capture_output=True, text=True)
    if r.returncode != 0:
        _missing(f"make_speech.sh failed (espeak-ng and sox needed): {r.stderr.strip()}")
    return out


def read_wav_f32(path) -> np.ndarray:
    """16-bit mono WAV -> float32 / 32768, as openai-whisper's goldens read it."""
    with wave.open(str(path)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return (pcm.astype(np.float32) / np.float32(32768.0)).astype(np.float32)
