"""The (storage, compute) table: what each compute type does to real transcripts, and what it costs.

For every model file given and every compute type, transcribes the real-speech set (the golden's
files: jfk + make_speech.sh's, plus --extra DIR: make_drift_set.sh's) with `wisp transcribe`
(greedy, one pass, timestamps, conditioned on the previous text, as the golden) and reports per
(storage, compute):
- files token-identical to the same storage at compute f32 (exact products on the stored values);
- files token-identical to the f32 model: the --reference storage (the shipped f16 file) at
  compute f32, which is openai-whisper's transcript (real_weights_test);
- pooled WER against the spoken text (rough normaliser: lower case, words), and its difference to
  the same storage at compute f32, in points;
- CPU seconds (user + sys) of the whole set, and the ratio to f32.
The budget (docs/PERFORMANCE.md): compute C is eligible as `auto`'s choice for storage S when
(1) the files token-identical to the f32 model are no fewer than S at compute f32 has, minus 10 %
of the files, and (2) the pooled WER is at most 0.3 points above S at compute f32. For a float
storage S at f32 *is* the f32 model, so (1) is the issue's ">= 90 % token-identical to f32"; for a
quantized one it asks the compute type to lose no more than 10 % of the files the stored values
kept (q8_0's exact products alone keep only 4 of the golden's 10).

  python3 tools/realweights/compute_drift.py --wisp build/bin/wisp --speech build/real_weights_speech \
      --golden tests/golden/real/tiny.en.json [--computes f32,bf16,int8] [--threads 2] \
      ctranslate2-f16=DIR ggml-q8_0=FILE ...
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

from word_errors import word_errors


def words(text):
    return re.findall(r"[a-z0-9']+", text.lower())


def transcribe(args, model, compute, audio, outdir):
    cmd = [args.wisp, "transcribe", "-m", model, "-t", str(args.threads), "--no-fallback", "-l", "en",
           "--compute", compute, "-q", "--no-progress", "-f", "json", "-o", outdir] + audio
    with tempfile.NamedTemporaryFile("r") as tf:
        p = subprocess.run(["/usr/bin/time", "-o", tf.name, "-f", "%U %S"] + cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-1500:]}")
        user, sys_ = tf.read().split()[-2:]
    notes = [l for l in p.stderr.splitlines() if "compute" in l]
    out = {}
    for a in audio:
        name = os.path.splitext(os.path.basename(a))[0]
        j = json.load(open(os.path.join(outdir, name + ".json")))
        out[name] = ([t for s in j["segments"] for t in s["tokens"]], j["text"])
    return out, float(user) + float(sys_), notes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wisp", default="build/bin/wisp")
    ap.add_argument("--speech", default="build/real_weights_speech")
    ap.add_argument("--golden", default="tests/golden/real/tiny.en.json")
    ap.add_argument("--jfk", default="../shared/data/jfk.wav")
    ap.add_argument("--computes", default="f32,bf16,int8")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default="", help="also write the per-file results here")
    ap.add_argument("--extra", default="", help="directory of make_drift_set.sh (sentences.tsv + WAVs)")
    ap.add_argument("--reference", default="", help="NAME of the f32 model (default: the first)")
    ap.add_argument("models", nargs="+", help="NAME=PATH")
    args = ap.parse_args()
    golden = json.load(open(args.golden))
    refs = {f["name"]: words(f["reference_normalized"]) for f in golden["files"]}
    audio = [args.jfk if n == "jfk" else os.path.join(args.speech, n + ".wav") for n in refs]
    if args.extra:
        for line in open(os.path.join(args.extra, "sentences.tsv")):
            name, text = line.rstrip("\n").split("\t", 1)
            refs[name] = words(text)
            audio.append(os.path.join(args.extra, name + ".wav"))
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"# {cpu}; load {open('/proc/loadavg').read().split()[:3]}; {len(audio)} files; -t {args.threads}")
    print("| storage | compute | token-identical to this storage at f32 | token-identical to the f32 model | "
          "pooled WER | vs f32 (points) | CPU s | CPU / f32 | within budget |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    dump = {}
    reference = None
    specs = args.models
    if args.reference:  # the reference first: every other row is compared with it
        specs = sorted(specs, key=lambda m: m.split("=", 1)[0] != args.reference)
    for spec in specs:
        name, path = spec.split("=", 1)
        runs = {}
        for c in args.computes.split(","):
            with tempfile.TemporaryDirectory() as d:
                out, cpu_s, notes = transcribe(args, path, c, audio, d)
            runs[c] = (out, cpu_s, notes)
            dump[f"{name} {c}"] = {k: v[0] for k, v in out.items()}
        base, base_cpu, _ = runs["f32"]
        if reference is None:
            reference = base
        base_kept = sum(base[k][0] == reference[k][0] for k in refs)
        base_wer = sum(word_errors(refs[k], words(base[k][1])) for k in refs) / sum(len(r) for r in refs.values())
        for c, (out, cpu_s, notes) in runs.items():
            same = sum(out[k][0] == base[k][0] for k in refs)
            kept = sum(out[k][0] == reference[k][0] for k in refs)
            errors = sum(word_errors(refs[k], words(out[k][1])) for k in refs)
            wer = errors / sum(len(r) for r in refs.values())
            ok = kept >= base_kept - 0.1 * len(refs) and (wer - base_wer) * 100 <= 0.3
            differ = ",".join(k for k in refs if out[k][0] != base[k][0])
            print(f"| {name} | {c}{' (' + notes[0].strip() + ')' if notes else ''} | {same}/{len(refs)}"
                  f"{' (' + differ + ')' if differ else ''} | {kept}/{len(refs)} | {wer:.4f} | {(wer - base_wer) * 100:+.2f} | "
                  f"{cpu_s:.2f} | {cpu_s / base_cpu:.2f} | {'yes' if ok else 'no'} |", flush=True)
    if args.json:
        json.dump(dump, open(args.json, "w"))


if __name__ == "__main__":
    main()
