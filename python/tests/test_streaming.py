"""transcribe() / transcribe_segments() on the streaming engine: arrays go through a Session (any
rate) and equal the file, progress, and transcribe_segments stopping the engine when its consumer
stops early (close, break, a dropped iterator): cancel, join, nothing left running or printed."""
from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import time

import pytest
from conftest import read_wav_f32


def worker_threads() -> list:
    return [t for t in threading.enumerate() if t.name == "wisp-transcribe" and t.is_alive()]


@pytest.fixture(scope="module")
def long_wav(speech_dir) -> str:
    return str(speech_dir / "long.wav")


@pytest.fixture(scope="module")
def long_run(model, long_wav):
    """long.wav transcribed once, with every progress call recorded."""
    calls: list = []
    result = model.transcribe(long_wav, on_progress=lambda done, total: calls.append((done, total)))
    return result, calls


def test_long_array_equals_file(model, long_wav, long_run):
    result, _ = long_run
    assert len({s["seek"] for s in result["segments"]}) >= 5  # several windows streamed
    assert model.transcribe(read_wav_f32(long_wav)) == result


def test_progress_before_every_window_and_at_the_end(long_wav, long_run):
    result, calls = long_run
    total = calls[0][1]
    assert total == (len(read_wav_f32(long_wav)) // 160) / 100  # content frames, known at once
    assert calls[0] == (0.0, total)
    assert calls[-1] == (total, total)
    assert all(t == total for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    # Every window that produced a segment started with a progress call at its seek (10 ms frames).
    starts = {round(d * 100) for d, _ in calls[:-1]}
    assert {s["seek"] for s in result["segments"]} <= starts


def test_resampled_array_equals_resampled_file(model, jfk_path, tmp_path):
    wav44 = tmp_path / "jfk44.wav"
    subprocess.run(["sox", "-D", jfk_path, "-r", "44100", "-b", "16", str(wav44)], check=True)
    samples = read_wav_f32(wav44)
    from_array = model.transcribe(samples, sample_rate=44100)
    assert from_array == model.transcribe(str(wav44))
    assert "ask not what your country can do for you" in from_array["text"]


def test_sample_rate_errors(model, jfk_path, jfk_samples):
    with pytest.raises(ValueError, match="sample rate"):
        model.transcribe(jfk_samples, sample_rate=100)
    with pytest.raises(ValueError, match="sample_rate"):
        model.transcribe(jfk_path, sample_rate=16000)


def test_segments_info_and_all_segments(model, long_wav, long_run):
    result, calls = long_run
    segments, info = model.transcribe_segments(long_wav)
    assert (info.language, info.language_probability, info.all_language_probs) == ("en", 1.0, None)
    assert info.duration == calls[0][1]
    assert list(segments) == result["segments"]
    assert not worker_threads()


def test_close_after_the_first_segment_stops_the_engine(model, long_wav, long_run, capfd):
    result, all_calls = long_run
    calls: list = []
    segments, _ = model.transcribe_segments(long_wav, on_progress=lambda d, t: calls.append(d))
    assert next(segments) == result["segments"][0]
    segments.close()
    assert not worker_threads()
    stopped_at = len(calls)
    assert stopped_at < len(all_calls)  # windows were left undecoded
    time.sleep(0.2)
    assert len(calls) == stopped_at  # nothing runs after close()
    assert list(segments) == []
    assert capfd.readouterr().err == ""


def test_break_then_drop_and_never_iterated(model, long_wav, capfd):
    segments, _ = model.transcribe_segments(long_wav)
    for _ in segments:
        break
    del segments  # the last reference: __del__ cancels and joins
    assert not worker_threads()
    segments, _ = model.transcribe_segments(long_wav)  # never iterated
    del segments
    gc.collect()
    assert not worker_threads()
    with model.transcribe_segments(long_wav)[0] as segments:
        next(segments)
    assert not worker_threads()
    assert capfd.readouterr().err == ""


def test_stream_left_open_at_exit(real_model_dir, long_wav, long_run):
    # Still referenced when the interpreter exits mid-transcription: the atexit hook stops the
    # worker, which would otherwise be killed inside the engine (the process used to abort).
    code = (f"import wisp; m = wisp.load_model({real_model_dir!r}, threads=2); "
            f"s, _ = m.transcribe_segments({long_wav!r}); print(next(s)['text']); KEEP = s")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == long_run[0]["segments"][0]["text"] + "\n"


def test_progress_callback_error_stops_and_is_raised(model, jfk_path, long_wav):
    calls: list = []

    def progress(done, total):
        calls.append(done)
        raise KeyError("stop here")

    with pytest.raises(KeyError, match="stop here"):
        model.transcribe(long_wav, on_progress=progress)
    assert len(calls) == 1  # the engine stopped before the next window
    segments, _ = model.transcribe_segments(jfk_path, on_progress=progress)
    with pytest.raises(KeyError, match="stop here"):
        list(segments)
    assert not worker_threads()


def test_segments_errors_come_from_the_call(model, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises((ValueError, RuntimeError), match="bad.wav"):
        model.transcribe_segments(str(bad))
    assert not worker_threads()


def test_import_wisp_does_not_import_ray():
    code = "import sys, wisp; print('ray' in sys.modules, 'wisp.corpus' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["False", "False"]


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_hour_long_file_keeps_memory_flat(model, tmp_path):
    # A sparse 1-hour WAV of silence (no disk used). Held whole, its spectrogram alone would be
    # 115 MB (the samples 230 MB more); streamed, RSS grows by one transcription's working set
    # (decoder state, scratch, thread pool: ~75 MB, as tests/session_test.cc measures in C++)
    # and then stays flat from window to window.
    path = tmp_path / "hour.wav"
    data = 3600 * 16000 * 2
    with open(path, "wb") as f:
        f.write(b"RIFF" + (36 + data).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little") +
                (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (16000).to_bytes(4, "little") +
                (32000).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little") +
                b"data" + data.to_bytes(4, "little"))
        f.truncate(44 + data)
    gc.collect()
    before = _rss_mb()
    peak: list = [before]
    calls: list = []

    def progress(done, total):
        calls.append((done, total))
        peak.append(_rss_mb())

    segments, info = model.transcribe_segments(str(path), on_progress=progress)
    assert info.duration == 3600.0
    while len(calls) < 7:  # six windows decoded (silence: no segments to wait for)
        time.sleep(0.05)
    segments.close()
    assert not worker_threads()
    assert max(peak) - before < 100, f"RSS grew from {before:.0f} MB to {max(peak):.0f} MB"
    assert max(peak[3:]) - peak[3] < 5, f"RSS per window (MB): {[round(p) for p in peak]}"
