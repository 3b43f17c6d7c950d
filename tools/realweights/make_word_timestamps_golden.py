#!/usr/bin/env python3
"""Writes tests/golden/real/word_timestamps.json: every add_word_timestamps call that the official
openai-whisper makes while transcribing, with word_timestamps=True, jfk.wav and the make_speech.sh
inputs with the real trained tiny.en (the model of make_real_golden.py), so that
src/pipeline/word_timestamps_model_test.cc can repeat each call on the same window and compare.

Run by hand (never in CI), from the repo root, after tools/golden/setup_venv.sh:
  OMP_NUM_THREADS=2 .venv/bin/python tools/realweights/make_word_timestamps_golden.py
Options: --model-dir, --speech-dir, --out, --files jfk,s1 (a subset).

The model's alignment heads come from the CTranslate2 directory's config.json, set through
Whisper.set_alignment_heads (whisper.load_model on a file path would use the default heads).
transcribe(fp16=False, language="en", temperature=0.0, word_timestamps=True); one temperature,
so no fallback. Per call (whisper.transcribe.add_word_timestamps wrapped, the official code runs
unchanged): the window's seek (the mel slice starts there) and num_frames, last_speech_timestamp,
the segments as passed in (seek, start, end, tokens), find_alignment's result (words with their
tokens, unrounded start/end, probability), and the segments after (start, end, words).
"""

import argparse
import base64
import copy
import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_real_golden as real  # noqa: E402  (sets thread defaults, paths, the converter)
from make_real_golden import REPO, SHARED_DIR, SPEECH_NAMES, sha256_file  # noqa: E402

import torch  # noqa: E402
import whisper  # noqa: E402
import whisper.timing  # noqa: E402
import whisper.transcribe  # noqa: E402

from test_audio import read_wav  # noqa: E402

CALLS = []


def recording_find_alignment(original):
    def find_alignment(*args, **kwargs):
        result = original(*args, **kwargs)
        CALLS[-1]["alignment"] = [{"word": w.word, "tokens": [int(t) for t in w.tokens], "start": float(w.start),
                                   "end": float(w.end), "probability": float(w.probability)} for w in result]
        return result
    return find_alignment


def recording_add_word_timestamps(original):
    def add_word_timestamps(*, segments, model, tokenizer, mel, num_frames, last_speech_timestamp, **kwargs):
        CALLS.append({
            "seek": None, "num_frames": int(num_frames), "last_speech_timestamp": float(last_speech_timestamp),
            "segments_in": [{"seek": int(s["seek"]), "start": float(s["start"]), "end": float(s["end"]),
                             "tokens": [int(t) for t in s["tokens"]]} for s in segments],
            "alignment": []})
        original(segments=segments, model=model, tokenizer=tokenizer, mel=mel, num_frames=num_frames,
                 last_speech_timestamp=last_speech_timestamp, **kwargs)
        # The window starts at the segments' seek (new_segment stores transcribe()'s seek of the window).
        CALLS[-1]["seek"] = int(segments[0]["seek"]) if segments else None
        CALLS[-1]["segments_out"] = [
            {"start": float(s["start"]), "end": float(s["end"]),
             "words": [{"word": w["word"], "start": float(w["start"]), "end": float(w["end"]),
                        "probability": float(w["probability"]), "start_is_int": isinstance(w["start"], int)}
                       for w in s["words"]]} for s in segments]
    return add_word_timestamps


def set_heads_from_config(model, model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        pairs = json.load(f)["alignment_heads"]
    mask = np.zeros((model.dims.n_text_layer, model.dims.n_text_head), dtype=bool)
    for layer, head in pairs:
        mask[layer, head] = True
    model.set_alignment_heads(base64.b85encode(gzip.compress(mask.tobytes())))
    return [[int(a), int(b)] for a, b in model.alignment_heads.indices().T.tolist()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-dir")
    ap.add_argument("--speech-dir")
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "golden", "real", "word_timestamps.json"))
    ap.add_argument("--files", help="comma-separated subset of jfk," + ",".join(SPEECH_NAMES))
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="wisp-words-golden.")
    model_dir, model = real.load_official_model(args.model_dir, tmp.name)
    heads = set_heads_from_config(model, model_dir)

    names = args.files.split(",") if args.files else ["jfk"] + SPEECH_NAMES
    speech_dir = args.speech_dir
    if any(n != "jfk" for n in names) and not speech_dir:
        speech_dir = os.path.join(tmp.name, "speech")
        subprocess.run([os.path.join(os.path.dirname(real.__file__), "make_speech.sh"), speech_dir], check=True)

    whisper.timing.find_alignment = recording_find_alignment(whisper.timing.find_alignment)
    transcribe_module = sys.modules["whisper.transcribe"]  # whisper.transcribe is the function
    transcribe_module.add_word_timestamps = recording_add_word_timestamps(transcribe_module.add_word_timestamps)
    files = []
    for name in names:
        path = os.path.join(SHARED_DIR, "jfk.wav") if name == "jfk" else os.path.join(speech_dir, name + ".wav")
        audio = torch.from_numpy(read_wav(path))
        CALLS.clear()
        result = whisper.transcribe(model, audio, fp16=False, language="en", temperature=0.0, verbose=None,
                                    word_timestamps=True)
        files.append({"name": name, "wav_sha256": sha256_file(path), "text": result["text"],
                      "calls": copy.deepcopy(CALLS)})
        print(name, len(CALLS), "windows,", sum(len(s["words"]) for s in result["segments"]), "words", flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"model": real.MODEL_SOURCE, "model_bin_sha256": sha256_file(os.path.join(model_dir, "model.bin")),
                   "openai_whisper": whisper.__version__, "torch": torch.__version__, "alignment_heads": heads,
                   "files": files}, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
