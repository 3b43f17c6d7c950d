#!/usr/bin/env python3
"""Writes tests/golden/language.json: openai-whisper's language detection and translation on
random-weight MULTILINGUAL models at real shapes (tiny and base, written by wisp's own
make_random_model with seeds of their own), so wisp's language identification, --language auto
and --task translate can be checked for equivalence like the rest of tests/golden/.

Run by hand after tools/golden/setup_venv.sh, from the repo root:
  cmake -S . -B build-lang -DCMAKE_BUILD_TYPE=Release -DWISP_BUILD_BENCH=OFF
  cmake --build build-lang --target make_random_model -j2
  OPENBLAS_NUM_THREADS=1 .venv/bin/python tools/golden/make_language_golden.py \
      --make-random-model build-lang/tools/make_random_model
Models go to --model-dir (default /tmp/wisp-golden-models) and are reused when present.

Per model and input (jfk, speech1, silence):
  detect               whisper.detect_language(model, pad_or_trim(mel, 3000)) on the log-mel of the
                       audio plus 30 s of zeros (what transcribe() detects on: frames past the audio
                       are the log-mel of the zero padding, not zeros): the probability of EVERY
                       language (code -> float, full repr), the language logits (same order), the
                       argmax and the gap between the two best language logits;
  detect_first_window  the same on the first window exactly as transcribe() decodes it
                       (mel[:, :min(3000, content)] zero-padded: what decode(language=None) detects on);
  restricted           the argmax among a candidate set ({"en","de","fr"}), from the detect dict;
  translate            whisper.decode(model, first window, DecodingOptions(task="translate",
                       language=<detect argmax>, temperature=0, fp16=False)): tokens, text,
                       avg_logprob, no_speech_prob, min_margin (smallest top-1/top-2 filtered logit gap);
  transcribe_auto      whisper.transcribe(model, audio, language=None, temperature=0.0, fp16=False):
                       the detected language and every segment (id, seek, start, end, tokens, text,
                       avg_logprob, compression_ratio, no_speech_prob), min_margin.
The mel filters are the model file's (ggml_reader.use_file_mel_filters), as in make_golden.py.

large-v3: ../shared/data holds no large-v3 header, so "large-v3-shape" is the tiny header with
large-v3's distinguishing front end and vocabulary (make_random_model --n-mels 128 --n-vocab 51866:
librosa's 128-band filterbank, 100 languages with <|yue|>, every special token one id later) on
tiny's widths and depth; a full-size large-v3 (1.5 G parameters) would take minutes per case on
both sides and prove nothing more about detection. Its cases are written compactly (no language
logits, first-window detection or texts: the test reads none of them) to keep the file small, on two inputs.
--models NAME,... recomputes only those models and keeps the other models' cases from --out.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# make_golden sets the BLAS/torch thread count (1) and installs its greedy-margin hook (MARGINS).
from make_golden import GOLDEN_DIR, MARGINS, MIN_SAFE_MARGIN, first_window, model_checksum, text_fields  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import whisper  # noqa: E402
from whisper.audio import N_SAMPLES  # noqa: E402

from ggml_reader import build_whisper, read_ggml, use_file_mel_filters  # noqa: E402
from test_audio import REPO, SHARED_DIR, load_audio  # noqa: E402

# (name, header file in ../shared/data, seed, type). Seeds not used by make_golden.py's models.
MODELS = [
    ("tiny-f32", "for-tests-ggml-tiny.bin", 41, "f32"),
    ("base-f32", "for-tests-ggml-base.bin", 43, "f32"),
    ("large-v3-shape", "for-tests-ggml-tiny.bin", 47, "f32"),
]
# make_random_model overrides per model (also recorded in the golden, for the test to pass on).
OVERRIDES = {"large-v3-shape": {"n_mels": 128, "n_vocab": 51866}}
COMPACT = {"large-v3-shape"}
INPUTS_OF = {"large-v3-shape": ["jfk", "speech1"]}
INPUTS = ["jfk", "speech1", "silence"]
CANDIDATES = ["en", "de", "fr"]


def detection(model, tokenizer, mel_window):
    """detect_language's output plus the raw language logits (computed the same way: the logits of
    the single token <|startoftranscript|>, restricted to the language tokens)."""
    with torch.no_grad():
        lang_token, probs = whisper.detect_language(model, mel_window, tokenizer)
        enc = model.embed_audio(mel_window[None])
        logits = model.logits(torch.tensor([[tokenizer.sot]]), enc)[0, 0]
    codes = list(tokenizer.all_language_codes)
    lang_logits = logits[list(tokenizer.all_language_tokens)].numpy()
    order = np.argsort(-lang_logits, kind="stable")
    argmax = max(probs, key=probs.get)
    assert argmax == codes[order[0]] and int(lang_token) == tokenizer.all_language_tokens[order[0]]
    restricted = max(CANDIDATES, key=lambda c: probs[c])
    cand_logits = sorted((float(lang_logits[codes.index(c)]) for c in CANDIDATES), reverse=True)
    return {
        "argmax": argmax, "argmax_token": int(lang_token),
        "top_gap": float(lang_logits[order[0]] - lang_logits[order[1]]),
        "top5": [codes[i] for i in order[:5]],
        "probs": {c: float(probs[c]) for c in codes},
        "logits": [float(v) for v in lang_logits],
        "restricted": {"candidates": CANDIDATES, "argmax": restricted,
                       "gap": cand_logits[0] - cand_logits[1]},
    }


def language_case(model, audio):
    tokenizer = whisper.tokenizer.get_tokenizer(True, num_languages=model.num_languages)
    mel = whisper.log_mel_spectrogram(torch.from_numpy(audio), model.dims.n_mels, padding=N_SAMPLES)
    detect = detection(model, tokenizer, whisper.pad_or_trim(mel, 3000))
    window, frames = first_window(mel.numpy())
    detect_window = detection(model, tokenizer, window)
    MARGINS.clear()
    r = whisper.decode(model, window, whisper.DecodingOptions(task="translate", language=detect["argmax"],
                                                             temperature=0.0, fp16=False))
    translate = {"language": detect["argmax"], "window_frames": frames, "tokens": list(r.tokens), "text": r.text,
                 "text_hex": text_fields(tokenizer, r.tokens)["text_hex"],
                 "avg_logprob": float(r.avg_logprob), "no_speech_prob": float(r.no_speech_prob),
                 "min_margin": min(MARGINS) if MARGINS else None}
    MARGINS.clear()
    res = whisper.transcribe(model, audio, language=None, temperature=0.0, fp16=False, verbose=None)
    auto = {"language": res["language"], "text": res["text"], "min_margin": min(MARGINS) if MARGINS else None,
            "segments": [{
                "id": s["id"], "seek": s["seek"], "start": float(s["start"]), "end": float(s["end"]),
                "tokens": list(s["tokens"]), "text": s["text"],
                "text_hex": text_fields(tokenizer, s["tokens"])["text_hex"],
                "avg_logprob": float(s["avg_logprob"]), "compression_ratio": float(s["compression_ratio"]),
                "no_speech_prob": float(s["no_speech_prob"]),
            } for s in res["segments"]]}
    return {"detect": detect, "detect_first_window": detect_window, "translate": translate, "transcribe_auto": auto}


def compact(case):
    """Drops what the test does not read: language logits, the first-window detection's details,
    texts (the tokens are compared)."""
    case["detect"].pop("logits")
    case["detect_first_window"] = {k: case["detect_first_window"][k] for k in ("argmax", "top_gap")}
    for part in [case["translate"]] + case["transcribe_auto"]["segments"]:
        part.pop("text")
        part.pop("text_hex")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--make-random-model", default=os.path.join(REPO, "build", "tools", "make_random_model"))
    parser.add_argument("--model-dir", default="/tmp/wisp-golden-models")
    parser.add_argument("--out", default=os.path.join(GOLDEN_DIR, "language.json"))
    parser.add_argument("--models", help="comma-separated subset of " + ",".join(m[0] for m in MODELS))
    args = parser.parse_args()
    os.makedirs(args.model_dir, exist_ok=True)
    audio = {n: load_audio(n) for n in INPUTS}
    wanted = args.models.split(",") if args.models else [m[0] for m in MODELS]
    kept = {"models": [], "cases": []}
    if args.models and os.path.exists(args.out):
        with open(args.out, encoding="utf-8") as f:
            kept = json.load(f)
    models = [m for m in kept["models"] if m["name"] not in wanted]
    cases = [c for c in kept["cases"] if c["model"] not in wanted]
    for name, header, seed, ttype in MODELS:
        if name not in wanted:
            continue
        overrides = OVERRIDES.get(name, {})
        path = os.path.join(args.model_dir, f"{name}-s{seed}.bin")
        if not os.path.exists(path):
            extra = [a for k, v in overrides.items() for a in ("--" + k.replace("_", "-"), str(v))]
            subprocess.run([args.make_random_model, "--header", os.path.join(SHARED_DIR, header), "--out", path,
                            "--seed", str(seed), "--type", ttype] + extra, check=True)
        ggml = read_ggml(path)
        use_file_mel_filters(ggml.filters)
        model = build_whisper(ggml)
        models.append({"name": name, "header": header, "seed": seed, "type": ttype, "overrides": overrides,
                       "checksum": str(model_checksum(path)), "n_vocab": model.dims.n_vocab,
                       "num_languages": model.num_languages, "n_mels": model.dims.n_mels})
        for a in INPUTS_OF.get(name, INPUTS):
            case = language_case(model, audio[a])
            cases.append({"model": name, "audio": a, **case})
            if name in COMPACT:
                compact(cases[-1])
            d, dw, t, auto = case["detect"], case["detect_first_window"], case["translate"], case["transcribe_auto"]
            margins = [m for m in (t["min_margin"], auto["min_margin"]) if m is not None]
            print(f"{name:9s} {a:8s} detect {d['argmax']} (p={d['probs'][d['argmax']]:.3f}, gap {d['top_gap']:.3g}, "
                  f"top5 {' '.join(d['top5'])}), first window {dw['argmax']} (gap {dw['top_gap']:.3g}), "
                  f"en/de/fr -> {d['restricted']['argmax']} (gap {d['restricted']['gap']:.3g}) | translate "
                  f"{len(t['tokens'])} tok | transcribe_auto {auto['language']}, {len(auto['segments'])} segments, "
                  f"{sum(len(s['tokens']) for s in auto['segments'])} tok | min margin {min(margins):.3g}", flush=True)
            if min(margins + [d["top_gap"], dw["top_gap"]]) < MIN_SAFE_MARGIN:
                print(f"WARNING: {name}/{a} has a near-tie (< {MIN_SAFE_MARGIN}); choose another seed", flush=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"generator": f"tools/golden/make_language_golden.py: openai-whisper {whisper.__version__}, "
                                f"torch {torch.__version__}, fp32",
                   "large_v3": "large-v3-shape: the tiny header with make_random_model --n-mels 128 --n-vocab 51866 "
                               "(large-v3's filterbank and 100-language vocabulary on tiny's widths); no large-v3 "
                               "header file is in ../shared/data",
                   "inputs": INPUTS, "candidates": CANDIDATES, "models": models, "cases": cases},
                  f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
