"""python -m wisp.corpus: transcribe a corpus of audio files on a Ray cluster (Ray Data).

    python -m wisp.corpus 'talks/**/*.mp3' out/ --model tiny.en-pypi --workers 4 --threads-per-worker 2

Every input becomes OUTPUT_DIR/<its path under the inputs' common directory, extension
replaced>.json: openai-whisper's result dict, the bytes its CLI writes (`json.dump(result, f)`).
OUTPUT_DIR/manifest.jsonl gets one line per finished file: file, output, duration (s of audio),
seconds (taken by the worker), status ("ok" or "error") and error (the engine's message).

How it runs: the list of files is a Ray Dataset of one block per file, mapped with map_batches
over a pool of `--workers` actors, each reserving `--threads-per-worker` CPUs; an actor loads the
model once and transcribes one file per call. Ray Data (rather than bare actors) brings the
streaming executor's backpressure, load balancing across actors as each finishes a file, and
results streamed back as they complete, with no scheduler of ours. Results stream back to this driver, which alone writes the json
files and the manifest, so only the inputs and the model must be reachable from every node.

Crash safety: each json is written to a temporary file and renamed into place, and only then is
its manifest line appended (one write of a whole line, fsync'ed). A rerun reads the manifest,
skips every file with an "ok" line whose json exists, and redoes the rest; a line torn by a crash
(the only way one can be incomplete) is dropped, and the manifest rewritten clean (temp + rename)
before any new line is appended. Files that failed are retried only with --retry-errors (a bad
file fails again). Rewriting the whole manifest per file would be atomic too, but quadratic in
the corpus size; appending whole lines is not.

Ray is an optional dependency: `pip install .[corpus]`; `import wisp` never imports it.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional

MANIFEST = "manifest.jsonl"


@dataclass
class Job:
    """One input: its path and where its json goes (relative to the output directory)."""

    file: str
    output: str


@dataclass
class Summary:
    """What a run did: counts, audio seconds and wall time (the throughput figure)."""

    total: int = 0
    skipped: int = 0
    transcribed: int = 0
    errors: int = 0
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    failed: List[str] = field(default_factory=list)


def find_inputs(pattern: str) -> List[str]:
    """The glob's regular files (recursive `**`), sorted, as absolute paths; "@list.txt" reads one
    path per line instead."""
    if pattern.startswith("@"):
        with open(pattern[1:], encoding="utf-8") as f:
            paths = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    else:
        paths = glob.glob(pattern, recursive=True)
    return sorted({os.path.abspath(p) for p in paths if os.path.isfile(p)})


def plan_jobs(files: List[str]) -> List[Job]:
    """Output names as openai-whisper's (<name without extension>.json), under the directories
    the inputs have below their common one, so equal names in different folders do not clash.
    Two inputs that would share an output (a.wav and a.mp3 side by side) are refused."""
    if not files:
        return []
    base = os.path.commonpath([os.path.dirname(f) for f in files])
    jobs, seen = [], {}
    for f in files:
        rel = os.path.splitext(os.path.relpath(f, base))[0] + ".json"
        if rel in seen:
            raise ValueError(f"{seen[rel]} and {f} would both be written to {rel}; rename one or transcribe them apart")
        seen[rel] = f
        jobs.append(Job(f, rel))
    return jobs


def write_atomic(path: str, data: bytes) -> None:
    """path appears complete or not at all: a temporary file beside it, fsync'ed, renamed."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_manifest(output_dir: str) -> Dict[str, dict]:
    """The last entry of every input file (a rerun may add a newer line for a file), keyed by its
    absolute path: the output names depend on the inputs' common folder, which another glob over
    the same files may change.
    A line that does not parse is a crash's torn write: dropped, and the manifest is rewritten
    without it so the next append starts on a line of its own."""
    path = os.path.join(output_dir, MANIFEST)
    if not os.path.exists(path):
        return {}
    entries: Dict[str, dict] = {}
    good: List[bytes] = []
    torn = False
    with open(path, "rb") as f:
        for line in f:
            try:
                entry = json.loads(line)
                entries[entry["file"]] = entry
                good.append(line if line.endswith(b"\n") else line + b"\n")
            except (ValueError, KeyError, TypeError):
                torn = True
    if torn:
        write_atomic(path, b"".join(good))
    return entries


class Manifest:
    """Appends one whole line per finished file (a single write on an O_APPEND descriptor, then
    fsync), after its json is in place."""

    def __init__(self, output_dir: str):
        self._fd = os.open(os.path.join(output_dir, MANIFEST), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, entry: dict) -> None:
        os.write(self._fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


class Transcriber:
    """The actor class of the pool: loads the model once (in the actor's process), then
    transcribes the batch's files (one per call with batch_size=1). A file that fails becomes an
    error row with the engine's message, never an exception: the others carry on."""

    def __init__(self, model: str, threads: int, options: Optional[dict] = None):
        import wisp  # in the actor's process

        self._model = wisp.load_model(model, threads=threads)
        self._options = dict(options or {})

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, list]:
        out: Dict[str, list] = {"file": [], "output": [], "json": [], "duration": [], "seconds": [],
                                "status": [], "error": []}
        for file, output in zip(batch["file"], batch["output"]):
            start = time.perf_counter()
            total = [0.0]

            def on_progress(done: float, seconds: float) -> None:
                total[0] = seconds  # the audio's length, known before the first window

            try:
                result = self._model.transcribe(str(file), on_progress=on_progress, **self._options)
                text, status, error = json.dumps(result), "ok", ""
            except Exception as e:  # noqa: BLE001 - reported in the manifest, per file
                text, status, error = "", "error", f"{type(e).__name__}: {e}"
            out["file"].append(str(file))
            out["output"].append(str(output))
            out["json"].append(text)
            out["duration"].append(float(total[0]))
            out["seconds"].append(time.perf_counter() - start)
            out["status"].append(status)
            out["error"].append(error)
        return out


def _progress_printer(stream, interval: float) -> Callable[[Summary, int, bool], None]:
    state = {"last": 0.0, "start": time.monotonic()}

    def report(s: Summary, todo: int, final: bool) -> None:
        now = time.monotonic()
        if not final and now - state["last"] < interval:
            return
        state["last"] = now
        done = s.transcribed + s.errors
        elapsed = now - state["start"]
        rate = s.audio_seconds / elapsed if elapsed > 0 else 0.0
        eta = f", ETA {elapsed / done * (todo - done):.0f} s" if done and done < todo else ""
        print(f"corpus: {done}/{todo} files ({s.errors} errors, {s.skipped} skipped as done), "
              f"{s.audio_seconds:.1f} s audio in {elapsed:.1f} s ({rate:.2f}x real time){eta}",
              file=stream, flush=True)

    return report


def run(pattern_or_files: Any, output_dir: str, model: str, workers: int = 1, threads_per_worker: int = 1,
        options: Optional[dict] = None, retry_errors: bool = False,
        progress: Optional[Callable[[Summary, int, bool], None]] = None) -> Summary:
    """Transcribes every input not already done into output_dir; Ray must be initialised (main
    does it). pattern_or_files: a glob / "@list" string or a list of paths. Returns the Summary."""
    import ray  # optional dependency, imported only here

    if workers < 1 or threads_per_worker < 1:
        raise ValueError("workers and threads-per-worker must be at least 1")
    files = find_inputs(pattern_or_files) if isinstance(pattern_or_files, str) else sorted(
        os.path.abspath(p) for p in pattern_or_files)
    jobs = plan_jobs(files)
    os.makedirs(output_dir, exist_ok=True)
    done = read_manifest(output_dir)
    summary = Summary(total=len(jobs))
    todo: List[Job] = []
    for job in jobs:
        entry = done.get(job.file)
        finished = entry is not None and (
            (entry.get("status") == "ok" and os.path.exists(os.path.join(output_dir, entry.get("output", ""))))
            or (entry.get("status") == "error" and not retry_errors))
        if finished:
            summary.skipped += 1
        else:
            todo.append(job)
    start = time.monotonic()
    if todo:
        _transcribe_on_ray(ray, todo, output_dir, model, workers, threads_per_worker, options, summary, progress)
    summary.wall_seconds = time.monotonic() - start
    if progress:
        progress(summary, len(todo), True)
    return summary


def _transcribe_on_ray(ray, todo: List[Job], output_dir: str, model: str, workers: int, threads: int,
                       options: Optional[dict], summary: Summary,
                       progress: Optional[Callable[[Summary, int, bool], None]]) -> None:
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # this driver reports progress itself, one line at a time
    # One block per file (up to 10,000): an idle actor takes the next file, so a long file
    # never holds back a block of short ones behind it.
    ds = ray.data.from_items([{"file": j.file, "output": j.output} for j in todo],
                             override_num_blocks=min(len(todo), 10_000))
    ds = ds.map_batches(Transcriber, batch_size=1, compute=ray.data.ActorPoolStrategy(size=workers),
                        num_cpus=threads,
                        fn_constructor_kwargs={"model": model, "threads": threads, "options": options or {}})
    manifest = Manifest(output_dir)
    try:
        for row in ds.iter_rows():
            entry = {"file": row["file"], "output": row["output"], "duration": round(float(row["duration"]), 3),
                     "seconds": round(float(row["seconds"]), 3), "status": row["status"]}
            if row["status"] == "ok":
                write_atomic(os.path.join(output_dir, row["output"]), row["json"].encode("utf-8"))
                summary.transcribed += 1
                summary.audio_seconds += float(row["duration"])
            else:
                entry["error"] = row["error"]
                summary.errors += 1
                summary.failed.append(row["file"])
            manifest.append(entry)
            if progress:
                progress(summary, len(todo), False)
    finally:
        manifest.close()


def main(argv: Optional[Iterable[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m wisp.corpus", description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", metavar="INPUT_GLOB", help="quoted glob ('data/**/*.wav') or @FILE listing paths")
    ap.add_argument("output_dir", metavar="OUTPUT_DIR")
    ap.add_argument("--model", "-m", required=True,
                    help="model path (must exist on every node) or a name cached on every node (tiny.en-pypi)")
    ap.add_argument("--workers", type=int, default=1, help="actors, each with its own copy of the model")
    ap.add_argument("--threads-per-worker", type=int, default=1, help="decoding threads (and Ray CPUs) per actor")
    ap.add_argument("--options", default="{}",
                    help='transcribe() keywords as JSON, e.g. \'{"beam_size": 5, "word_timestamps": true}\'')
    ap.add_argument("--address", default=None,
                    help="Ray cluster to join ('auto', or HOST:PORT of `ray start --head`); default: "
                         "$RAY_ADDRESS, else a local cluster on this machine")
    ap.add_argument("--retry-errors", action="store_true", help="transcribe again files whose last entry is an error")
    ap.add_argument("--progress-interval", type=float, default=5.0, help="seconds between progress lines (stderr)")
    args = ap.parse_args(argv)
    try:
        options = json.loads(args.options)
        if not isinstance(options, dict):
            raise ValueError("not a JSON object")
    except ValueError as e:
        ap.error(f"--options: {e}")
    try:
        import ray
    except ImportError:
        print("wisp.corpus needs Ray: pip install 'wisp[corpus]' (or pip install 'ray[data]')", file=sys.stderr)
        return 2
    from . import resolve_model_path

    try:
        # The driver checks the model too: a typo fails here, not in every actor.
        resolve_model_path(args.model)
    except FileNotFoundError as e:
        print(f"wisp.corpus: {e}", file=sys.stderr)
        return 2
    ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
    try:
        s = run(args.inputs, args.output_dir, args.model, args.workers, args.threads_per_worker, options,
                args.retry_errors, _progress_printer(sys.stderr, args.progress_interval))
    finally:
        ray.shutdown()
    print(json.dumps({"files": s.total, "skipped": s.skipped, "transcribed": s.transcribed, "errors": s.errors,
                      "audio_seconds": round(s.audio_seconds, 3), "wall_seconds": round(s.wall_seconds, 3),
                      "failed": s.failed}))
    return 1 if s.errors else 0


if __name__ == "__main__":
    sys.exit(main())
