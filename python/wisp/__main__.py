"""python -m wisp: `wisp transcribe`'s core from Python: a model, audio files, a format on stdout.

    python -m wisp -m tiny.en-pypi jfk.wav -f json
"""
from __future__ import annotations

import argparse
import json
import sys

from . import load_model


def _timestamp(seconds: float, always_hours: bool, marker: str) -> str:
    ms = round(seconds * 1000.0)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    hours = f"{h:02d}:" if always_hours or h > 0 else ""
    return f"{hours}{m:02d}:{s:02d}{marker}{ms:03d}"


def _render(result: dict, fmt: str) -> str:
    segs = result["segments"]
    if fmt == "json":
        return json.dumps(result)
    if fmt == "txt":
        return "".join(s["text"].strip() + "\n" for s in segs)
    if fmt == "tsv":
        return "start\tend\ttext\n" + "".join(
            f"{round(1000 * s['start'])}\t{round(1000 * s['end'])}\t{s['text'].strip().replace(chr(9), ' ')}\n"
            for s in segs)
    if fmt == "vtt":
        return "WEBVTT\n\n" + "".join(
            f"{_timestamp(s['start'], False, '.')} --> {_timestamp(s['end'], False, '.')}\n"
            f"{s['text'].strip().replace('-->', '->')}\n\n" for s in segs)
    if fmt == "srt":
        return "".join(
            f"{i}\n{_timestamp(s['start'], True, ',')} --> {_timestamp(s['end'], True, ',')}\n"
            f"{s['text'].strip().replace('-->', '->')}\n\n" for i, s in enumerate(segs, start=1))
    raise ValueError(fmt)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m wisp", description="Transcribe audio files with wisp.")
    p.add_argument("audio", nargs="+", help="audio files (any format wisp reads)")
    p.add_argument("-m", "--model", required=True, help="model path or cached name (tiny.en-pypi, ...)")
    p.add_argument("-f", "--output-format", default="txt", choices=["txt", "vtt", "srt", "tsv", "json"],
                   help="what to print on stdout (default txt)")
    p.add_argument("-l", "--language", default=None)
    p.add_argument("--task", default="transcribe", choices=["transcribe", "translate"])
    p.add_argument("-t", "--threads", type=int, default=None)
    p.add_argument("--compute", default="auto", choices=["auto", "f32", "bf16", "int8"])
    p.add_argument("--temperature", type=float, default=None,
                   help="a single temperature (default: the fallback tuple 0, 0.2, ..., 1)")
    p.add_argument("--beam_size", "--beam-size", type=int, default=None)
    p.add_argument("--best_of", "--best-of", type=int, default=None)
    p.add_argument("--initial_prompt", "--initial-prompt", default=None)
    p.add_argument("--word_timestamps", "--word-timestamps", action="store_true")
    a = p.parse_args(argv)
    try:
        model = load_model(a.model, threads=a.threads, compute=a.compute)
    except (OSError, ValueError, RuntimeError) as e:
        print(f"python -m wisp: {e}", file=sys.stderr)
        return 2
    opts: dict = {"language": a.language, "task": a.task}
    if a.temperature is not None:
        opts["temperature"] = a.temperature
    for key in ("beam_size", "best_of", "initial_prompt"):
        if getattr(a, key) is not None:
            opts[key] = getattr(a, key)
    if a.word_timestamps:
        opts["word_timestamps"] = True
    code = 0
    for audio in a.audio:
        try:
            result = model.transcribe(audio, **opts)
        except (OSError, ValueError, RuntimeError) as e:
            print(f"python -m wisp: {e}", file=sys.stderr)
            code = 2
            continue
        sys.stdout.write(_render(result, a.output_format))
        if a.output_format == "json":
            sys.stdout.write("\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
