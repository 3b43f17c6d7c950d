"""wisp.corpus (python -m wisp.corpus) on a local Ray cluster this module starts (2 CPUs): 20
short espeak-ng files give byte-identical json with 2 actors x 1 thread and 1 actor x 2 threads,
equal to transcribe() in this process; a rerun after a crash redoes only what the manifest lacks;
a bad file gets an error entry and the others finish. Needs the `corpus` extra (ray[data])."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import _missing

try:
    import ray
except ImportError:  # the extra is not installed
    ray = None

from wisp import corpus

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ray_cluster():
    if ray is None:
        _missing("ray is not installed (pip install .[corpus])")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory) -> Path:
    """tools/corpus/make_corpus.sh: 20 short sentences in us/ and gb/ (outputs mirror them)."""
    root = tmp_path_factory.mktemp("corpus-in")
    r = subprocess.run([str(REPO / "tools" / "corpus" / "make_corpus.sh"), str(root)], capture_output=True, text=True)
    if r.returncode != 0:
        _missing(f"make_corpus.sh failed (espeak-ng and sox needed): {r.stderr.strip()}")
    return root


def _outputs(out: Path) -> dict:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.json"))}


def _manifest(out: Path) -> list:
    return [json.loads(line) for line in (out / corpus.MANIFEST).read_text().splitlines()]


@pytest.fixture(scope="module")
def two_by_one(ray_cluster, audio_dir, real_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("out-2x1")
    summary = corpus.run(str(audio_dir / "**" / "*.wav"), str(out), real_model_dir, workers=2, threads_per_worker=1)
    return out, summary


def test_two_configurations_give_identical_bytes(two_by_one, audio_dir, real_model_dir, model, tmp_path):
    out_a, s_a = two_by_one
    out_b = tmp_path / "out-1x2"
    s_b = corpus.run(str(audio_dir / "**" / "*.wav"), str(out_b), real_model_dir, workers=1, threads_per_worker=2)
    print(f"2x1: {s_a.audio_seconds:.1f} s audio in {s_a.wall_seconds:.1f} s; "
          f"1x2: {s_b.audio_seconds:.1f} s audio in {s_b.wall_seconds:.1f} s")
    assert (s_a.transcribed, s_a.errors, s_a.skipped) == (20, 0, 0)
    assert (s_b.transcribed, s_b.errors, s_b.skipped) == (20, 0, 0)
    a, b = _outputs(out_a), _outputs(out_b)
    assert sorted(a) == sorted(f"{d}/s{i:02d}.json" for i, d in enumerate(["us", "gb"] * 10))
    assert a == b
    # The bytes openai-whisper's CLI writes for transcribe()'s result, here in this process.
    for name in ("us/s00.json", "gb/s07.json", "us/s18.json"):
        expected = json.dumps(model.transcribe(str(audio_dir / name.replace(".json", ".wav"))))
        assert a[name] == expected.encode()
    assert "over the lazy dog" in json.loads(a["us/s00.json"])["text"]
    entries = _manifest(out_a)
    assert sorted(e["output"] for e in entries) == sorted(a)
    assert all(e["status"] == "ok" and 1.0 < e["duration"] < 6.0 and e["seconds"] > 0 for e in entries)


def test_resume_after_a_crash_redoes_only_missing_entries(two_by_one, audio_dir, real_model_dir, tmp_path):
    done, _ = two_by_one
    out = tmp_path / "resumed"
    shutil.copytree(done, out)
    lines = (out / corpus.MANIFEST).read_text().splitlines(keepends=True)
    kept, dropped = lines[:15], [json.loads(line)["output"] for line in lines[15:]]
    # The crash: five entries never written, the last one torn mid-line.
    (out / corpus.MANIFEST).write_text("".join(kept) + lines[15][:25])
    mtimes = {name: (out / name).stat().st_mtime_ns for name in _outputs(out)}
    before = _outputs(out)

    summary = corpus.run(str(audio_dir / "**" / "*.wav"), str(out), real_model_dir, workers=2)
    assert (summary.skipped, summary.transcribed, summary.errors) == (15, 5, 0)
    entries = _manifest(out)  # every line parses: the torn one is gone
    assert len(entries) == 20
    assert sorted(e["output"] for e in entries[15:]) == sorted(dropped)
    for name, mtime in mtimes.items():
        if name not in dropped:
            assert (out / name).stat().st_mtime_ns == mtime, f"{name} was transcribed again"
    assert _outputs(out) == before

    again = corpus.run(str(audio_dir / "**" / "*.wav"), str(out), real_model_dir, workers=2)
    assert (again.skipped, again.transcribed) == (20, 0)


def test_bad_file_gets_an_error_entry_through_the_cli(ray_cluster, audio_dir, real_model_dir, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("s01", "s02", "s03"):
        shutil.copy(audio_dir / ("gb" if int(name[1:]) % 2 else "us") / f"{name}.wav", inputs / f"{name}.wav")
    (inputs / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    out = tmp_path / "out"

    def cli(*extra: str) -> dict:
        # Joins this module's cluster by address, as a driver joins a multi-node cluster.
        r = subprocess.run([sys.executable, "-m", "wisp.corpus", str(inputs / "*.wav"), str(out), "--model",
                            real_model_dir, "--workers", "2", "--address", ray_cluster, *extra],
                           capture_output=True, text=True, timeout=600)
        assert r.stdout.strip(), r.stderr
        return json.loads(r.stdout.strip().splitlines()[-1])

    first = cli()
    assert (first["transcribed"], first["errors"], first["failed"]) == (3, 1, [str(inputs / "bad.wav")])
    entries = {e["output"]: e for e in _manifest(out)}
    assert entries["bad.json"]["status"] == "error"
    assert "bad.wav" in entries["bad.json"]["error"]
    assert not (out / "bad.json").exists()
    assert sorted(_outputs(out)) == ["s01.json", "s02.json", "s03.json"]
    # A bad file fails again: skipped on a rerun unless asked.
    assert (cli()["skipped"], cli("--retry-errors")["errors"]) == (4, 1)
    assert not [p for p in os.listdir(out) if p.startswith(".tmp-")]
