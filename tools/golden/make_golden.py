"""Writes tests/golden/: what openai-whisper (PyPI, fp32 torch) computes for random-weight ggml
models written by wisp's own make_random_model. tests/equivalence_test.cc regenerates the same
models (same seed, same bytes) and checks that wisp computes the same numbers and tokens.

Run by hand after tools/golden/setup_venv.sh, from the repo root:
  OPENBLAS_NUM_THREADS=1 .venv/bin/python tools/golden/make_golden.py \
      --make-random-model build/tools/make_random_model
Models are written to --model-dir (default /tmp/wisp-golden-models) and reused when present.

Golden files are JSON (a tiny reader in tests/golden_reader.cc parses them): index.json lists the
models and cases; mel__<audio>.json holds the log-mel check of one input; <model>__<audio>.json
holds encoder, logits, single-window decodes and the full transcribe of one model on one input.
Large tensors are represented by a fixed pseudo-random sample of entries plus exact summaries
(per-row sums, max abs), which keeps the directory small while still locating any wrong row.
"""

import argparse
import json
import os
import subprocess
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # deterministic BLAS sums, and a fair share of the CPU

import numpy as np
import torch

torch.set_num_threads(1)

import whisper  # noqa: E402
import whisper.decoding  # noqa: E402
from whisper.audio import N_FRAMES, N_SAMPLES  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ggml_reader import build_whisper, read_ggml, use_file_mel_filters  # noqa: E402
from test_audio import AUDIO_NAMES, REPO, SHARED_DIR, load_audio  # noqa: E402

GOLDEN_DIR = os.path.join(REPO, "tests", "golden")

# (name, header file in ../shared/data, seed, tensor type). Seeds differ per model so that no two
# cases share weights by accident.
MODELS = [
    ("tiny.en-f32", "for-tests-ggml-tiny.en.bin", 13, "f32"),
    ("tiny-f32", "for-tests-ggml-tiny.bin", 2, "f32"),
    ("base-f32", "for-tests-ggml-base.bin", 3, "f32"),
    ("tiny.en-f16", "for-tests-ggml-tiny.en.bin", 4, "f16"),
    ("tiny.en-q8_0", "for-tests-ggml-tiny.en.bin", 5, "q8_0"),
]
# Which inputs each model is checked on. The >2-minute input runs only on tiny.en (CI time); the
# other models get one real recording and one synthetic input each.
CASES = {
    "tiny.en-f32": AUDIO_NAMES,
    "tiny-f32": ["jfk", "speech1", "silence"],
    "base-f32": ["jfk", "speech2"],
    "tiny.en-f16": ["jfk", "speech1"],
    "tiny.en-q8_0": ["jfk", "noise"],
}
LOGITS_TEXT = " And so my fellow Americans, ask not"
N_MEL_SAMPLES, N_ENC_SAMPLES, N_LOGIT_SAMPLES = 2000, 1024, 1024
# Smallest top-1/top-2 logit gap accepted in a golden decode: twice the C++ test's logit
# tolerance (1.5e-4, itself ~10x the measured torch-vs-wisp difference). While every logit is
# within that tolerance, the two sides cannot pick different tokens at such a step.
MIN_SAFE_MARGIN = 3e-4


def f32(values):
    """float32 values as JSON numbers with 9 significant digits: exact round trip to float32."""
    return [float(f"{v:.9g}") for v in np.asarray(values, dtype=np.float32).reshape(-1)]


def f64(v):
    return float(f"{float(v):.12g}")


def model_checksum(path):
    """sum_i (i + 1) * word_i mod 2^64 over the file as little-endian u64 words (zero-padded).
    The C++ test computes the same over the model it regenerates: a mismatch means the random-model
    writer changed since these goldens were made (regenerate them), not that wisp computes wrongly."""
    with open(path, "rb") as f:
        data = f.read()
    data += b"\0" * (-len(data) % 8)
    words = np.frombuffer(data, dtype="<u8")
    with np.errstate(over="ignore"):
        return int((words * np.arange(1, len(words) + 1, dtype=np.uint64)).sum(dtype=np.uint64))


def sample_indices(n, k, seed):
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=min(k, n), replace=False))


# --- greedy margins ---------------------------------------------------------------------------
# The smallest gap between the best and second-best filtered logit over a decode. Token-for-token
# equality is only a meaningful requirement when this gap is well above the float32 error of the
# logits; the generator reports it so a too-small gap is noticed here, not as a flaky test.
MARGINS = []
LAST_STEP = {"completed": False}  # whether the latest greedy step picked eot (vs. running out of context)
_greedy_update = whisper.decoding.GreedyDecoder.update


def _recording_update(self, tokens, logits, sum_logprobs):
    top = torch.topk(logits.float(), 2, dim=-1).values
    MARGINS.append(float((top[:, 0] - top[:, 1]).min()))
    tokens, completed = _greedy_update(self, tokens, logits, sum_logprobs)
    LAST_STEP["completed"] = bool(completed)
    return tokens, completed


def window_info(tokenizer, tokens, seek=None):
    """What one decoded window exercises in transcribe()'s segmentation: its length, whether it
    stopped at eot, how many timestamps it holds, and how it ends ('pair': two timestamps, so the
    next window seeks to the last one; 'single': text then one timestamp, transcribe()'s
    single_timestamp_ending, so the next window starts a full window later; 'lone': the window is a
    single timestamp and nothing else; 'text': no closing timestamp)."""
    is_ts = [t >= tokenizer.timestamp_begin for t in tokens]
    ending = ("pair" if is_ts[-2:] == [True, True] else "single" if is_ts[-2:] == [False, True]
              else "lone" if is_ts == [True] else "text")
    return {"seek": seek, "n_tokens": len(tokens), "eot": LAST_STEP["completed"], "timestamps": sum(is_ts),
            "pairs": sum(a and b for a, b in zip(is_ts, is_ts[1:])), "ending": ending}


def recording_decode(model, tokenizer, windows):
    """model.decode wrapped to append window_info of every window transcribe() decodes; the seek is
    read from transcribe()'s frame (diagnostics only; nothing of it goes into the golden files)."""
    def decode(segment, options):
        result = whisper.decoding.decode(model, segment, options)
        frame, seek = sys._getframe(1), None
        while frame is not None and seek is None:
            if frame.f_code.co_name == "transcribe" and "seek" in frame.f_locals:
                seek = frame.f_locals["seek"]
            frame = frame.f_back
        windows.append(window_info(tokenizer, list(result.tokens), seek))
        return result
    return decode


whisper.decoding.GreedyDecoder.update = _recording_update


def text_fields(tokenizer, tokens):
    """Segment text as python shows it, and the raw bytes (wisp's Decode returns bytes; they differ
    only where tokens split a UTF-8 sequence)."""
    text_tokens = [t for t in tokens if t < tokenizer.eot]
    return {"text": tokenizer.decode(text_tokens), "text_hex": tokenizer.encoding.decode_bytes(text_tokens).hex()}


def mel_golden(audio):
    mel = whisper.log_mel_spectrogram(torch.from_numpy(audio), 80, padding=N_SAMPLES).numpy()
    total = mel.shape[1]
    content = total - N_FRAMES
    # Three quarters of the samples inside the audio, the rest in the 30 s of padding.
    inside = sample_indices(80 * content, N_MEL_SAMPLES * 3 // 4, 11)
    pad = sample_indices(80 * N_FRAMES, N_MEL_SAMPLES // 4, 12)
    mels = np.concatenate([inside // content, pad // N_FRAMES])
    frames = np.concatenate([inside % content, content + pad % N_FRAMES])
    return mel, {
        "n_samples": len(audio),
        "total_frames": total,
        "content_frames": content,
        "max": f64(mel.max()), "min": f64(mel.min()),
        "mean": f64(mel.astype(np.float64).mean()), "std": f64(mel.astype(np.float64).std()),
        "mel": mels.tolist(), "frame": frames.tolist(), "values": f32(mel[mels, frames]),
    }


def first_window(mel):
    """What transcribe() feeds the model at seek 0: mel[:, :min(N_FRAMES, content)], zero-padded."""
    content = mel.shape[1] - N_FRAMES
    frames = min(N_FRAMES, content)
    return whisper.pad_or_trim(torch.from_numpy(mel[:, :frames]), N_FRAMES), frames


def model_case(model, tokenizer, audio, mel):
    window, frames = first_window(mel)
    out = {"window_frames": frames}
    with torch.no_grad():
        enc = model.embed_audio(window[None])[0].numpy()  # (1500, d)
        idx = sample_indices(enc.size, N_ENC_SAMPLES, 21)
        out["encoder"] = {
            "rows": (idx // enc.shape[1]).tolist(), "cols": (idx % enc.shape[1]).tolist(),
            "values": f32(enc.reshape(-1)[idx]),
            "row_sums": [f64(s) for s in enc.astype(np.float64).sum(axis=1)],
            "max_abs": f64(np.abs(enc).max()),
        }
        prefix = list(tokenizer.sot_sequence_including_notimestamps) + tokenizer.encode(LOGITS_TEXT)
        logits = model.logits(torch.tensor([prefix]), torch.from_numpy(enc)[None])[0].numpy()
        last = logits[-1]
        lidx = sample_indices(last.size, N_LOGIT_SAMPLES, 31)
        top = np.argsort(-last, kind="stable")[:5]
        out["logits"] = {
            "prefix": prefix, "argmax": logits.argmax(axis=1).tolist(),
            "index": lidx.tolist(), "values": f32(last[lidx]),
            "top5": top.tolist(), "top5_values": f32(last[top]), "max_abs": f64(np.abs(last).max()),
        }
    out["decode"] = []
    for without_timestamps in (True, False):
        MARGINS.clear()
        r = whisper.decode(model, window, whisper.DecodingOptions(
            temperature=0.0, language="en", without_timestamps=without_timestamps, fp16=False))
        out["decode"].append({
            "without_timestamps": without_timestamps, "tokens": list(r.tokens),
            "text": r.text, "text_hex": text_fields(tokenizer, r.tokens)["text_hex"],
            "avg_logprob": f64(r.avg_logprob), "no_speech_prob": f64(r.no_speech_prob),
            "min_margin": f64(min(MARGINS)),
        })
        if not without_timestamps:
            decode_window = window_info(tokenizer, list(r.tokens))
    MARGINS.clear()
    windows = []
    model.decode = recording_decode(model, tokenizer, windows)
    try:
        res = whisper.transcribe(model, audio, temperature=0.0, fp16=False, language="en",
                                 condition_on_previous_text=True, verbose=None)
    finally:
        del model.decode
    out["transcribe"] = {
        "text": res["text"], "min_margin": f64(min(MARGINS)) if MARGINS else None,
        "segments": [{
            "id": s["id"], "seek": s["seek"], "start": float(s["start"]), "end": float(s["end"]),  # exact doubles
            "tokens": list(s["tokens"]), **text_fields(tokenizer, s["tokens"]),
            "avg_logprob": f64(s["avg_logprob"]), "compression_ratio": f64(s["compression_ratio"]),
            "no_speech_prob": f64(s["no_speech_prob"]), "temperature": f64(s["temperature"]),
        } for s in res["segments"]],
    }
    return out, {"decode": decode_window, "windows": windows}


def summarize(name, audio_name, case, info, tokenizer):
    """One line per case on what it exercises (copied into tools/golden/README.md): the single-window
    decode with timestamps, then transcribe(): windows, their seeks (* = not a multiple of 3000,
    i.e. reached by seeking to a timestamp), segments, windows holding several segments, window
    endings, windows stopped by eot, tokens per window, distinct tokens and timestamps."""
    d, dw = case["decode"][1]["tokens"], info["decode"]
    segs, windows = case["transcribe"]["segments"], info["windows"]
    margins = [x["min_margin"] for x in case["decode"]] + [case["transcribe"]["min_margin"]]
    margin = min(m for m in margins if m is not None)
    per_window = {}
    for s in segs:
        per_window[s["seek"]] = per_window.get(s["seek"], 0) + 1
    endings = {e: sum(w["ending"] == e for w in windows) for e in ("pair", "single", "lone", "text")}
    all_tokens = [t for s in segs for t in s["tokens"]]
    lengths = [w["n_tokens"] for w in windows]
    seeks = " ".join(f"{w['seek']}{'' if w['seek'] % 3000 == 0 else '*'}" for w in windows)
    print(f"{name:12s} {audio_name:7s} | decode: {len(d)} tok, {len(set(d))} distinct, {dw['timestamps']} ts, "
          f"{'eot' if dw['eot'] else 'no eot'}, ends {dw['ending']} | transcribe: {len(windows)} windows "
          f"(seeks {seeks}), {len(segs)} segments, {sum(n > 1 for n in per_window.values())} multi-segment windows, "
          f"endings pair/single/lone/text {endings['pair']}/{endings['single']}/{endings['lone']}/{endings['text']}, "
          f"eot in {sum(w['eot'] for w in windows)}/{len(windows)}, "
          f"{min(lengths, default=0)}-{max(lengths, default=0)} tok/window, {len(set(all_tokens))} distinct, "
          f"{sum(t >= tokenizer.timestamp_begin for t in all_tokens)} ts | min margin {margin:.3g}", flush=True)
    if margin < MIN_SAFE_MARGIN:
        print(f"WARNING: {name}/{audio_name} has a near-tie in greedy decoding: token equality would depend "
              "on float32 rounding; choose another seed", flush=True)


def write_json(name, obj):
    with open(os.path.join(GOLDEN_DIR, name), "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--make-random-model", default=os.path.join(REPO, "build", "tools", "make_random_model"))
    parser.add_argument("--model-dir", default="/tmp/wisp-golden-models")
    parser.add_argument("--only", help="comma-separated model names (others keep their golden files)")
    parser.add_argument("--index-only", action="store_true", help="rewrite index.json only")
    args = parser.parse_args()
    os.makedirs(GOLDEN_DIR, exist_ok=True)
    os.makedirs(args.model_dir, exist_ok=True)

    audio = {n: load_audio(n) for n in AUDIO_NAMES}
    mels, filters, paths = {}, None, {}
    for name, header, seed, ttype in MODELS:
        path = paths[name] = os.path.join(args.model_dir, f"{name}-s{seed}.bin")
        if not os.path.exists(path):
            subprocess.run([args.make_random_model, "--header", os.path.join(SHARED_DIR, header), "--out", path,
                            "--seed", str(seed), "--type", ttype], check=True)
        if args.index_only:
            continue
        ggml = read_ggml(path)
        # Every model here is 80-mel with the same filterbank, so one mel golden per input serves all.
        if filters is None:
            filters = ggml.filters
            use_file_mel_filters(filters)
            for a in AUDIO_NAMES:
                mels[a], golden = mel_golden(audio[a])
                write_json(f"mel__{a}.json", {"audio": a, **golden})
        elif not np.array_equal(filters, ggml.filters):
            raise SystemExit(f"{name}: mel filters differ from the first model's")
        if args.only and name not in args.only.split(","):
            continue
        model = build_whisper(ggml)
        tokenizer = whisper.tokenizer.get_tokenizer(model.is_multilingual, num_languages=model.num_languages,
                                                    language="en", task="transcribe")
        for a in CASES[name]:
            case, info = model_case(model, tokenizer, audio[a], mels[a])
            write_json(f"{name}__{a}.json", {"model": name, "audio": a, **case})
            summarize(name, a, case, info, tokenizer)

    write_json("index.json", {
        "generator": f"openai-whisper {whisper.__version__}, torch {torch.__version__}, fp32",
        "logits_text": LOGITS_TEXT,
        "models": [{"name": n, "header": h, "seed": s, "type": t, "checksum": str(model_checksum(paths[n]))}
                   for n, h, s, t in MODELS],
        "mel": [{"audio": a, "file": f"mel__{a}.json"} for a in AUDIO_NAMES],
        "cases": [{"model": n, "audio": a, "file": f"{n}__{a}.json"} for n, _, _, _ in MODELS for a in CASES[n]],
    })


if __name__ == "__main__":
    main()
