#!/usr/bin/env python3
"""Writes tests/golden/real/decoding.json: what the official openai-whisper transcribes with the real
trained tiny.en (the model and the 10 inputs of make_real_golden.py) under decoding options other
than the single greedy pass of tests/golden/real/tiny.en.json: the official temperature fallback,
beam search (with patience, with a length penalty), word timestamps (greedy and beam), no
timestamps, and an initial prompt without conditioning on previous text.

Run by hand (never in CI), from the repo root, after tools/golden/setup_venv.sh:
  OMP_NUM_THREADS=2 .venv/bin/python tools/realweights/make_decoding_golden.py
Options: --model-dir, --speech-dir, --out, --threads as make_real_golden.py; --configs a,b recomputes
only those configurations and keeps the others from an existing --out file. The file is rewritten
after every configuration. On a loaded machine use --threads 1: OpenMP threads that lose their
core spin at barriers, and beam search ran ~50x slower with 2 threads at load 10 than idle.

Per configuration and file: whisper.transcribe(model, audio, fp16=False, language="en", **options)
with every segment's id, seek, start, end, tokens, text, temperature, avg_logprob,
compression_ratio, no_speech_prob (floats as Python's repr: full double precision), and for word
timestamp configurations every word as [word, start, end, probability]; the full text and its WER
against the source text; every window transcribe() decoded (seek, the prompt length it passed,
the temperature finally used, the final result's avg_logprob / compression_ratio /
no_speech_prob, whether the window was skipped as no speech, and for temperature-0 passes the
smallest top-1/top-2 gap of the filtered logits over its greedy steps). In the two fallback
configurations ("default", "fallback_lp05": a temperature tuple) a window
that fell back also holds every attempt (temperature, token count, the three statistics) and the
temperature-0 attempt in full (tokens, statistics, min margin), so a port without sampling can
still check the decision to fall back.

Windows are seen by wrapping model.decode (what transcribe()'s decode_with_fallback calls); the
seek is read from transcribe()'s frame. openai-whisper itself is not modified. The model's
alignment heads (used by word timestamps) are set from the CTranslate2 directory's config.json
through Whisper.set_alignment_heads, because whisper.load_model only sets them for the published
checkpoints (a file path gets the default: all heads of the last half of the decoder layers).
"""

import argparse
import base64
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Importing make_real_golden sets OMP/OPENBLAS thread defaults and installs its greedy-margin hook
# (GreedyDecoder.update appends the top-1/top-2 gap of every greedy step to MARGINS).
import make_real_golden as real  # noqa: E402
from make_real_golden import (JFK_TEXT, MARGINS, MODEL_SOURCE, REPO, SHARED_DIR, SPEECH_NAMES,  # noqa: E402
                              convert, sha256_file, tool_version, word_errors)

import torch  # noqa: E402
import whisper  # noqa: E402
import whisper.decoding  # noqa: E402
from whisper.normalizers import EnglishTextNormalizer  # noqa: E402

from test_audio import SAMPLE_RATE, read_wav  # noqa: E402

SEED = 0
THRESHOLDS = {"compression_ratio_threshold": 2.4, "logprob_threshold": -1.0, "no_speech_threshold": 0.6}
PROMPT = "Here is a recording of several speakers reading sentences aloud."
# name -> (what it proves, the options passed to transcribe() besides fp16=False, language="en").
CONFIGS = {
    "default": ("the official defaults: temperature fallback 0.0..1.0 with best_of=5 samples, thresholds "
                "2.4/-1.0/0.6, conditioned on previous text; the decision to fall back (from the T=0 attempt) "
                "is checkable, the sampled windows are not reproducible outside torch",
                {"temperature": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0), "best_of": 5, "condition_on_previous_text": True}),
    "fallback_lp05": ("the defaults with logprob_threshold -0.5 instead of -1.0, so that windows fall back (none "
                      "does under the defaults): single-window files s3/s4/s5/s8 fall back; a port checks the "
                      "T=0 attempt and the decision, the sampled result is torch's",
                      {"temperature": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0), "best_of": 5, "condition_on_previous_text": True,
                       "logprob_threshold": -0.5}),
    "beam5": ("beam search, 5 beams, patience 1, length normalisation by token count",
              {"temperature": 0.0, "beam_size": 5}),
    "beam5_patience2": ("beam search with patience 2.0: up to 10 finished candidates collected per window",
                        {"temperature": 0.0, "beam_size": 5, "patience": 2.0}),
    "beam5_lp": ("beam search ranked with the Google NMT length penalty ((5 + n) / 6) ** 0.6",
                 {"temperature": 0.0, "beam_size": 5, "length_penalty": 0.6}),
    "words_greedy": ("word timestamps (cross-attention DTW on the alignment heads) on greedy decodes; seeks "
                     "move to the last word's end",
                     {"temperature": 0.0, "word_timestamps": True}),
    "words_beam5": ("word timestamps on beam-search decodes",
                    {"temperature": 0.0, "beam_size": 5, "word_timestamps": True}),
    "words_hallucination": ("hallucination_silence_threshold=2.0 (needs word timestamps): segments of improbable, too "
                            "short or too long words between silences are dropped and seek skips the silence; on "
                            "gaps (where tiny.en invents a run of improbable, overlong words after a silence and "
                            "the window is re-decoded from the words' start), long (pauses, 33 s of silence, "
                            "noise) and jfk",
                            {"temperature": 0.0, "word_timestamps": True, "hallucination_silence_threshold": 2.0}),
    "no_timestamps": ("without_timestamps=True: <|notimestamps|> in the prompt, one segment per window, "
                      "every window advances by a whole 30 s",
                      {"temperature": 0.0, "without_timestamps": True}),
    "prompt_nocond": ("initial_prompt (a <|startofprev|> prompt on the first window only) and "
                      "condition_on_previous_text=False (later windows get no prompt)",
                      {"temperature": 0.0, "initial_prompt": PROMPT, "condition_on_previous_text": False}),
}
# The files a configuration runs on when not every file of make_real_golden.py (jfk and
# SPEECH_NAMES); EXTRA_SPEECH are make_speech.sh files made for such configurations only.
CONFIG_FILES = {"words_hallucination": ["jfk", "long", "gaps"]}
EXTRA_SPEECH = ["gaps"]


def transcribe_seek():
    """The seek of the transcribe() frame that called model.decode."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_name != "transcribe":
        frame = frame.f_back
    return frame.f_locals.get("seek") if frame is not None else None


def recording_decode(model, attempts):
    """model.decode wrapped to note every decode() that transcribe() runs (one per temperature tried)."""
    def decode(segment, options):
        first = len(MARGINS)
        result = whisper.decoding.decode(model, segment, options)
        greedy_t0 = options.temperature == 0 and options.beam_size is None
        attempts.append({"seek": transcribe_seek(), "options": options, "result": result,
                         "min_margin": min(MARGINS[first:]) if greedy_t0 and len(MARGINS) > first else None})
        return result
    return decode


def stats(result):
    return {"avg_logprob": float(result.avg_logprob), "compression_ratio": float(result.compression_ratio),
            "no_speech_prob": float(result.no_speech_prob)}


def group_windows(attempts, thresholds, record_fallback):
    """One entry per window: consecutive attempts form a window, a new one starts at the first
    temperature of the list (transcribe() tries the temperatures in order for each window)."""
    windows = []
    for a in attempts:
        if a["options"].temperature == 0 or not windows:
            windows.append([a])
        else:
            windows[-1].append(a)
    out = []
    for group in windows:
        final = group[-1]
        r = final["result"]
        skipped = (r.no_speech_prob > thresholds["no_speech_threshold"]
                   and not r.avg_logprob > thresholds["logprob_threshold"])
        w = {"seek": group[0]["seek"], "prompt_len": len(group[0]["options"].prompt or []),
             "temperature": float(final["options"].temperature), "n_tokens": len(r.tokens), **stats(r),
             "skipped_no_speech": bool(skipped)}
        if skipped:
            w["tokens"] = list(r.tokens)
        if group[0]["min_margin"] is not None:
            w["min_margin"] = group[0]["min_margin"]
        if record_fallback and len(group) > 1:
            t0 = group[0]
            w["t0"] = {"tokens": list(t0["result"].tokens), **stats(t0["result"]), "min_margin": t0["min_margin"]}
            w["attempts"] = [{"temperature": float(a["options"].temperature), "n_tokens": len(a["result"].tokens),
                              **stats(a["result"])} for a in group]
        out.append(w)
    return out


def run_file(model, normalizer, config, options, case):
    audio = read_wav(case["path"])
    options = {**THRESHOLDS, **options}
    attempts = []
    model.decode = recording_decode(model, attempts)
    torch.manual_seed(SEED)
    t0 = time.time()
    try:
        res = whisper.transcribe(model, audio, fp16=False, language="en", verbose=None, **options)
    finally:
        del model.decode
    seconds = time.time() - t0
    hyp = normalizer(res["text"]).split()
    errors = word_errors(case["reference_normalized"].split(), hyp)
    windows = group_windows(attempts, options, record_fallback=isinstance(options["temperature"], tuple))
    segments = []
    for s in res["segments"]:
        seg = {"id": s["id"], "seek": s["seek"], "start": float(s["start"]), "end": float(s["end"]),
               "tokens": list(s["tokens"]), "text": s["text"], "temperature": float(s["temperature"]),
               "avg_logprob": float(s["avg_logprob"]), "compression_ratio": float(s["compression_ratio"]),
               "no_speech_prob": float(s["no_speech_prob"])}
        if "words" in s:
            seg["words"] = [[w["word"], float(w["start"]), float(w["end"]), float(w["probability"])]
                            for w in s["words"]]
        segments.append(seg)
    margins = [w["min_margin"] for w in windows if w.get("min_margin") is not None]
    margins += [w["t0"]["min_margin"] for w in windows if "t0" in w and w["t0"]["min_margin"] is not None]
    out = {"name": case["name"], "text": res["text"], "text_normalized": " ".join(hyp), "word_errors": errors,
           "wer": errors / case["reference_words"], "n_windows": len(windows),
           "min_margin": min(margins) if margins else None, "windows": windows, "segments": segments}
    fell = [f"{w['seek']}:T={w['temperature']}" for w in windows if w["temperature"] > 0]
    margin = "-" if out["min_margin"] is None else f"{out['min_margin']:.3g}"
    print(f"  {config:16s} {case['name']:5s} {len(windows)} windows, {len(segments):2d} segments, "
          f"WER {errors}/{case['reference_words']}, min margin {margin}"
          f"{', fell back ' + ' '.join(fell) if fell else ''}, {seconds:.1f} s", flush=True)
    return out


def alignment_heads_from_config(model, model_dir):
    """Sets the model's alignment heads from the CTranslate2 config.json's [layer, head] pairs, through
    the official set_alignment_heads (which takes a base85 gzip dump of a dense boolean mask)."""
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        pairs = json.load(f)["alignment_heads"]
    mask = np.zeros((model.dims.n_text_layer, model.dims.n_text_head), dtype=bool)
    for layer, head in pairs:
        mask[layer, head] = True
    model.set_alignment_heads(base64.b85encode(gzip.compress(mask.tobytes())))
    used = model.alignment_heads.indices().T.tolist()
    published = np.frombuffer(gzip.decompress(base64.b85decode(whisper._ALIGNMENT_HEADS["tiny.en"])), dtype=bool)
    return {"source": "config.json alignment_heads (CTranslate2 directory), set with Whisper.set_alignment_heads",
            "heads": used, "same_as_openai_published_tiny.en":
            bool(np.array_equal(published.reshape(mask.shape), mask))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", help="CTranslate2 directory (default: scripts/fetch-real-model.sh)")
    ap.add_argument("--speech-dir", help="output of make_speech.sh (default: made into a temp dir)")
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "golden", "real", "decoding.json"))
    ap.add_argument("--threads", type=int, default=int(os.environ["OMP_NUM_THREADS"]))
    ap.add_argument("--configs", help="comma-separated subset of " + ",".join(CONFIGS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    configs = args.configs.split(",") if args.configs else list(CONFIGS)
    for c in configs:
        if c not in CONFIGS:
            raise SystemExit(f"unknown configuration {c}")

    model_dir = args.model_dir or subprocess.run(
        [os.path.join(REPO, "scripts", "fetch-real-model.sh")], capture_output=True, text=True,
        check=True).stdout.strip()
    tmp = tempfile.TemporaryDirectory(prefix="wisp-decoding-golden.")
    ckpt_path = os.path.join(tmp.name, "tiny.en.pt")
    ckpt = convert(model_dir)
    torch.save(ckpt, ckpt_path)
    model = whisper.load_model(ckpt_path, device="cpu")
    heads = alignment_heads_from_config(model, model_dir)
    normalizer = EnglishTextNormalizer()

    speech_dir = args.speech_dir
    if not speech_dir:
        speech_dir = os.path.join(tmp.name, "speech")
        subprocess.run([os.path.join(os.path.dirname(real.__file__), "make_speech.sh"), speech_dir], check=True)
    sources = {}
    with open(os.path.join(speech_dir, "sentences.tsv"), encoding="utf-8") as f:
        for line in f:
            name, text = line.rstrip("\n").split("\t")
            sources[name] = text
    cases = [("jfk", os.path.join(SHARED_DIR, "jfk.wav"), JFK_TEXT)]
    cases += [(n, os.path.join(speech_dir, n + ".wav"), sources[n]) for n in SPEECH_NAMES + EXTRA_SPEECH]
    files = []
    for name, path, reference in cases:
        ref = normalizer(reference).split()
        samples = len(read_wav(path))
        files.append({"name": name, "path": path, "wav_sha256": sha256_file(path), "samples": samples,
                      "duration": samples / SAMPLE_RATE, "reference": reference,
                      "reference_normalized": " ".join(ref), "reference_words": len(ref)})

    out_configs = {}
    if args.configs and os.path.exists(args.out):
        with open(args.out, encoding="utf-8") as f:
            out_configs = json.load(f).get("configs", {})
    for config in configs:
        purpose, options = CONFIGS[config]
        print(config, options, flush=True)
        names = CONFIG_FILES.get(config, ["jfk"] + SPEECH_NAMES)
        results = [run_file(model, normalizer, config, options, case) for case in files if case["name"] in names]
        errors = sum(r["word_errors"] for r in results)
        words = sum(c["reference_words"] for c in files if c["name"] in names)
        fallbacks = [{"file": r["name"], "seek": w["seek"], "temperature": w["temperature"]}
                     for r in results for w in r["windows"] if w["temperature"] > 0]
        opts = {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()}
        out_configs[config] = {
            "purpose": purpose,
            "options": {"fp16": False, "language": "en", "task": "transcribe", **THRESHOLDS, **opts},
            "torch_seed": SEED if isinstance(options["temperature"], tuple) else None,
            "pooled": {"word_errors": errors, "reference_words": words, "wer": errors / words},
            "fallbacks": fallbacks,
            "files": results,
        }
        print(f"  {config}: pooled WER {errors}/{words} = {errors / words:.4f}; "
              f"{len(fallbacks)} windows fell back", flush=True)
        write_golden(args, ckpt, model_dir, heads, files, out_configs)


def write_golden(args, ckpt, model_dir, heads, files, out_configs):
    golden = {
        "generator": "tools/realweights/make_decoding_golden.py",
        "openai_whisper": whisper.__version__,
        "torch": torch.__version__,
        "threads": args.threads,
        "speech_tools": {"espeak-ng": tool_version(["espeak-ng", "--version"]),
                         "sox": tool_version(["sox", "--version"])},
        "model": {"name": "tiny.en", "source": MODEL_SOURCE,
                  "model_bin_sha256": sha256_file(os.path.join(model_dir, "model.bin")),
                  "dims": ckpt["dims"], "alignment_heads": heads},
        "seed_note": ("torch.manual_seed(torch_seed) before each file's transcribe(); only the configurations with a "
                      "temperature tuple sample (temperatures > 0, best_of=5), and its sampled windows are reproducible only with the "
                      "same torch build and thread count"),
        "wer_normalizer": "whisper.normalizers.EnglishTextNormalizer",
        "word_fields": ["word", "start", "end", "probability"],
        "files": [{k: v for k, v in c.items() if k != "path"} for c in files],
        "configs": {c: out_configs[c] for c in CONFIGS if c in out_configs},
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
