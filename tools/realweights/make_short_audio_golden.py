#!/usr/bin/env python3
"""Writes tests/golden/real/short_audio.json for tests/real_short_audio_test.cc.

For every clip of make_sentences.sh (c01..c12, z01, z02) it runs `wisp transcribe` with the
defaults, --language en and --compute f32, once on the full 30-s window and once with --short-audio (the
default rule, ShortAudioRule in src/pipeline/transcribe_options.h), and records the full window's
tokens (all segments, in order), its text, the WAV's SHA-256 and whether --short-audio gave the
same tokens. The full window is wisp's, which real_weights_test.cc holds to openai-whisper's.

  tools/realweights/make_short_audio_golden.py [--wisp build/bin/wisp] [--model DIR] [--out PATH]
"""
import argparse
import hashlib
import json
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAMES = [f"c{i:02d}" for i in range(1, 13)] + ["z01", "z02"]
RULE = {"margin_frames": 200, "granularity": 64, "min_ctx": 256, "tail_ctx": 128,
        "fallback_prob": 0.3}  # ShortAudioRule's defaults


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def transcribe(wisp, model, wavs, out, extra):
    # --compute f32: the exact products (openai-whisper's tokens), as the test's engine computes.
    subprocess.run([wisp, "transcribe", "-m", model, "--language", "en", "-t", "2", "--no-progress", "-f", "json",
                    "--compute", "f32", "-o", out] + extra + wavs, check=True, stdout=subprocess.DEVNULL)
    result = {}
    for wav in wavs:
        name = os.path.basename(wav)[:-4]
        with open(os.path.join(out, name + ".json")) as f:
            j = json.load(f)
        result[name] = ([t for s in j["segments"] for t in s["tokens"]], j["text"])
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wisp", default=os.path.join(ROOT, "build/bin/wisp"))
    ap.add_argument("--model")
    ap.add_argument("--out", default=os.path.join(ROOT, "tests/golden/real/short_audio.json"))
    a = ap.parse_args()
    model = a.model or subprocess.run([os.path.join(ROOT, "scripts/fetch-real-model.sh")], check=True,
                                      capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        clips = os.path.join(tmp, "clips")
        subprocess.run(["bash", os.path.join(ROOT, "tools/realweights/make_sentences.sh"), clips], check=True)
        wavs = [os.path.join(clips, n + ".wav") for n in NAMES]
        full = transcribe(a.wisp, model, wavs, os.path.join(tmp, "full"), [])
        short = transcribe(a.wisp, model, wavs, os.path.join(tmp, "short"), ["--short-audio"])
        refs = dict(l.rstrip("\n").split("\t", 1) for l in open(os.path.join(clips, "sentences.tsv")))
        files = [{"name": n, "wav_sha256": sha256(os.path.join(clips, n + ".wav")), "reference": refs[n],
                  "text": full[n][1], "tokens": full[n][0], "short_identical": full[n][0] == short[n][0],
                  "short_text": short[n][1]} for n in NAMES]
    espeak = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout.split()[3]
    sox = subprocess.run(["sox", "--version"], capture_output=True, text=True).stdout.strip().split()[-1].lstrip("v")
    golden = {
        "about": "wisp's full-window tokens on make_sentences.sh's clips, and whether --short-audio keeps them",
        "model_bin_sha256": sha256(os.path.join(model, "model.bin")),
        "speech_tools": f"espeak-ng {espeak}, SoX {sox}",
        "options": "transcribe() defaults, language en, compute f32, 2 threads",
        "rule": RULE,
        "files": files,
    }
    with open(a.out, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print(f"{a.out}: {sum(f['short_identical'] for f in files)} of {len(files)} clips token-identical")


if __name__ == "__main__":
    main()
