"""wisp's Python API against the CLI, the openai-whisper golden and itself (file vs NumPy,
threads), plus the refusals of bad input and options."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import wisp

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "real" / "tiny.en.json"
SEGMENT_KEYS = ["id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob",
                "compression_ratio", "no_speech_prob"]
STAT_TOL = 1e-5  # as tests/real_weights_test.cc (kStatTol)


def test_result_shape(model, jfk_path):
    r = model.transcribe(jfk_path)
    assert set(r) == {"text", "segments", "language"}
    assert r["language"] == "en"
    assert len(r["segments"]) >= 1
    for i, s in enumerate(r["segments"]):
        assert list(s) == SEGMENT_KEYS
        assert s["id"] == i
        assert isinstance(s["start"], float) and isinstance(s["end"], float)
        assert all(isinstance(t, int) for t in s["tokens"])
    assert "ask not what your country can do for you" in r["text"]


def test_equals_cli_json(model, real_model_dir, jfk_path, cli, tmp_path):
    subprocess.run([cli, "transcribe", "-m", real_model_dir, jfk_path, "-f", "json", "-o", str(tmp_path), "-q"],
                   check=True, capture_output=True)
    expected = json.loads((tmp_path / "jfk.json").read_text())
    got = json.loads(json.dumps(model.transcribe(jfk_path)))
    assert got == expected


def test_short_audio_equals_cli(model, real_model_dir, jfk_path, cli, tmp_path):
    # jfk (11 s) is encoded on a shortened window; both front ends pass the one option through.
    subprocess.run([cli, "transcribe", "-m", real_model_dir, jfk_path, "--short-audio", "-f", "json", "-o",
                    str(tmp_path), "-q"], check=True, capture_output=True)
    expected = json.loads((tmp_path / "jfk.json").read_text())
    got = json.loads(json.dumps(model.transcribe(jfk_path, short_audio=True)))
    assert got == expected
    assert "ask not what your country can do for you" in got["text"]


def test_equals_openai_whisper_golden(exact_model, jfk_path):
    model = exact_model
    golden = json.loads(GOLDEN.read_text())
    jfk = next(f for f in golden["files"] if f["name"] == "jfk")
    opts = dict(golden["transcribe_options"])
    r = model.transcribe(jfk_path, **opts)
    assert r["text"] == jfk["text"]
    assert len(r["segments"]) == len(jfk["segments"])
    for got, want in zip(r["segments"], jfk["segments"]):
        for key in ("id", "seek", "start", "end", "text", "tokens", "temperature"):
            assert got[key] == want[key], key
        for key in ("avg_logprob", "compression_ratio", "no_speech_prob"):
            assert got[key] == pytest.approx(want[key], abs=STAT_TOL), key


def test_numpy_equals_file(model, jfk_path, jfk_samples):
    assert model.transcribe(jfk_samples) == model.transcribe(jfk_path)


def test_two_threads_same_results(model, jfk_path, jfk_samples):
    expected = model.transcribe(jfk_path)
    results: dict = {}
    errors: list = []

    def run(name, audio):
        try:
            results[name] = model.transcribe(audio)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=("file", jfk_path)),
               threading.Thread(target=run, args=("numpy", jfk_samples))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results["file"] == expected
    assert results["numpy"] == expected


def test_transcribe_segments_yields_the_result(model, jfk_path):
    expected = model.transcribe(jfk_path, temperature=0.0)
    segments, info = model.transcribe_segments(jfk_path, temperature=0.0)
    assert info.language == "en"
    assert info.language_probability == 1.0
    assert info.duration == pytest.approx(11.0)
    assert list(segments) == expected["segments"]


def test_options_temperature_tuple_and_threshold_none(model, jfk_path):
    r = model.transcribe(jfk_path, temperature=(0.0, 0.2), logprob_threshold=None, best_of=2,
                         suppress_tokens=[-1], condition_on_previous_text=False, verbose=False)
    assert r["segments"][0]["temperature"] == 0.0
    assert "country" in r["text"]


@pytest.mark.parametrize("audio, message", [
    (np.zeros(16000, dtype=np.float64), "float32"),
    (np.zeros(16000, dtype=np.int16), "float32"),
    (np.zeros((16000, 2), dtype=np.float32), "1-D"),
    (np.zeros(0, dtype=np.float32), "empty"),
    (np.array([0.0, np.nan, 0.0], dtype=np.float32), "not finite"),
    (np.array([0.0, np.inf], dtype=np.float32), "not finite"),
])
def test_bad_arrays_raise_value_error(model, audio, message):
    with pytest.raises(ValueError, match=message):
        model.transcribe(audio)


def test_bad_audio_type_raises_type_error(model):
    with pytest.raises(TypeError):
        model.transcribe([0.0, 0.1])


def test_missing_audio_file(model, tmp_path):
    with pytest.raises(FileNotFoundError):
        model.transcribe(str(tmp_path / "nope.wav"))


def test_damaged_audio_file_raises(model, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises((ValueError, RuntimeError)):
        model.transcribe(str(bad))


def test_missing_model():
    with pytest.raises(FileNotFoundError):
        wisp.load_model("/nonexistent/model.bin")
    with pytest.raises(FileNotFoundError):
        wisp.load_model("no-such-model-name")


@pytest.mark.parametrize("options, message", [
    ({"task": "summarize"}, "task"),
    ({"temperature": -0.5}, "temperature"),
    ({"best_of": 0}, "best_of"),
    ({"patience": 2.0}, "patience"),
    ({"length_penalty": 1.5}, "length_penalty"),
    ({"temperature": ()}, "temperature"),
])
def test_bad_options_raise_value_error(model, jfk_samples, options, message):
    with pytest.raises(ValueError, match=message):
        model.transcribe(jfk_samples, **options)


def test_unknown_option_raises_type_error(model, jfk_samples):
    with pytest.raises(TypeError, match="no_such_option"):
        model.transcribe(jfk_samples, no_such_option=1)


def test_bad_compute_and_threads(real_model_dir):
    with pytest.raises(ValueError, match="compute"):
        wisp.load_model(real_model_dir, compute="f64")
    with pytest.raises(ValueError, match="threads"):
        wisp.load_model(real_model_dir, threads=0)


def test_python_m_wisp_json_equals_api(model, real_model_dir, jfk_path):
    out = subprocess.run([sys.executable, "-m", "wisp", "-m", real_model_dir, "-t", "2", jfk_path, "-f", "json"],
                         check=True, capture_output=True, text=True).stdout
    assert json.loads(out) == json.loads(json.dumps(model.transcribe(jfk_path)))


def test_python_m_wisp_txt(real_model_dir, jfk_path):
    out = subprocess.run([sys.executable, "-m", "wisp", "-m", real_model_dir, "-t", "2", jfk_path],
                         check=True, capture_output=True, text=True).stdout
    assert "ask not what your country can do for you" in out


# openai-whisper 20250625 on this tiny.en (converted by tools/realweights/ct2_to_openai.py), on
# make_speech.sh's s8.wav: transcribe(temperature=0.0, word_timestamps=True, append_punctuations="")
# gives "," and "." words of their own, with their own times (word, start, end, probability).
S8_WORDS_NO_APPEND = [
    [" Learning", 0.0, 0.46, 0.528102], [" a", 0.46, 0.78, 0.461282], [" new", 0.78, 1.06, 0.942097],
    [" language", 1.06, 1.6, 0.998637], [" takes", 1.6, 2.26, 0.677335], [" patience", 2.26, 3.02, 0.978752],
    [",", 3.02, 3.66, 0.279942], [" practice", 3.66, 3.98, 0.787758], [" and", 3.98, 4.34, 0.623368],
    [" a", 4.34, 4.46, 0.719999], [" good", 4.46, 4.78, 0.970512], [" sense", 4.78, 5.14, 0.845625],
    [" on", 5.14, 5.5, 0.647154], [" humor", 5.5, 6.02, 0.401569], [".", 6.02, 6.66, 0.539751],
    [" It", 6.66, 6.82, 0.952204], [" helps", 6.82, 7.32, 0.979], [" to", 7.32, 7.58, 0.962356],
    [" listen", 7.58, 8.0, 0.994019], [" to", 8.0, 8.36, 0.989713], [" read", 8.36, 8.68, 0.21161],
    [" in", 8.68, 8.92, 0.24831], [" every", 8.92, 9.36, 0.794973], [" day", 9.36, 9.96, 0.947216],
    [".", 9.96, 10.34, 0.857121]]


def test_punctuation_options_as_openai_whisper(exact_model, speech_dir):
    model = exact_model
    s8 = str(speech_dir / "s8.wav")
    r = model.transcribe(s8, temperature=0.0, word_timestamps=True, append_punctuations="")
    words = [w for s in r["segments"] for w in s["words"]]
    assert [[w["word"], w["start"], w["end"]] for w in words] == [w[:3] for w in S8_WORDS_NO_APPEND]
    # Probabilities within 1e-4 (softmax over f32 logits; tests/real_decoding_test.cc allows 1e-3).
    assert [w["probability"] for w in words] == pytest.approx([w[3] for w in S8_WORDS_NO_APPEND], abs=1e-4)
    # The defaults merge them, as the official does; an empty prepend set changes nothing here.
    merged = [" patience,", " humor.", " day."]
    for options in ({}, {"prepend_punctuations": ""}):
        r = model.transcribe(s8, temperature=0.0, word_timestamps=True, **options)
        texts = [w["word"] for s in r["segments"] for w in s["words"]]
        assert [t for t in texts if t.strip() in ("patience,", "humor.", "day.")] == merged
        assert len(texts) == len(S8_WORDS_NO_APPEND) - 3
    with pytest.raises(ValueError, match="append_punctuations"):
        model.transcribe(s8, append_punctuations=None)
