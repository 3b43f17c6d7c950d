#!/usr/bin/env bash
# How far `wisp transcribe --short-audio` drifts from the full 30-s window on real speech
# (docs/PERFORMANCE.md, "Short-audio encoder"): transcribes every input once without and once per
# rule with --short-audio --short-audio-rule RULE, and prints per file whether the tokens are
# identical, the text when they are not, and the word errors against the source text.
#
#   short_audio_drift.sh [RULE ...]        (RULE: MARGIN,GRANULARITY,MIN_CTX,TAIL; default 200,64,256,128)
#
# Environment: W the wisp binary (default build/bin/wisp), MODEL the model directory (default:
# scripts/fetch-real-model.sh), T threads (default 2), OUT a directory to keep the inputs and JSONs.
# Inputs: make_sentences.sh's c01..c12 (2-6 s), z01 (silence), z02 (pink noise), tests/data/
# noise.wav (Gaussian noise), make_speech.sh's s1..s8 (4-10 s), and long.wav / gaps.wav, whose
# last window is the only one --short-audio changes. Options: the defaults, --language en.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
W=${W:-$root/build/bin/wisp}
MODEL=${MODEL:-$("$root/scripts/fetch-real-model.sh")}
T=${T:-2}
rules=("$@")
[ ${#rules[@]} -gt 0 ] || rules=(200,64,256,128)
out=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/wisp-drift.XXXXXX")}
mkdir -p "$out/audio"
"$root/tools/realweights/make_sentences.sh" "$out/audio" >/dev/null
"$root/tools/realweights/make_speech.sh" "$out/speech" >/dev/null
cp "$out/speech"/s?.wav "$out/speech/long.wav" "$out/speech/gaps.wav" "$out/audio/"
cp "$root/tests/data/noise.wav" "$out/audio/gauss.wav"
cat "$out/audio/sentences.tsv" "$out/speech/sentences.tsv" > "$out/references.tsv"
inputs=()
for n in c01 c02 c03 c04 c05 c06 c07 c08 c09 c10 c11 c12 z01 z02 gauss s1 s2 s3 s4 s5 s6 s7 s8 long gaps; do
  inputs+=("$out/audio/$n.wav")
done
common=(-m "$MODEL" --language en -t "$T" --no-progress -f json)
"$W" transcribe "${common[@]}" -o "$out/full" "${inputs[@]}" >/dev/null
for r in "${rules[@]}"; do
  "$W" transcribe "${common[@]}" --short-audio --short-audio-rule "$r" -o "$out/rule_$r" "${inputs[@]}" >/dev/null
done
python3 - "$out" "${rules[@]}" <<'PY'
import json, os, re, sys
out, rules = sys.argv[1], sys.argv[2:]
refs = dict(line.rstrip("\n").split("\t", 1) for line in open(os.path.join(out, "references.tsv")) if "\t" in line)
def words(text):
    return re.sub(r"[^a-z0-9' ]", " ", text.lower()).split()
def errors(hyp, ref):  # word-level edit distance
    d = list(range(len(ref) + 1))
    for i, h in enumerate(hyp, 1):
        prev, d[0] = d[0], i
        for j, r in enumerate(ref, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (h != r))
    return d[len(ref)]
def load(d, name):
    j = json.load(open(os.path.join(out, d, name + ".json")))
    return [t for s in j["segments"] for t in s["tokens"]], j["text"].strip()
names = sorted(f[:-5] for f in os.listdir(os.path.join(out, "full")) if f.endswith(".json"))
for r in rules:
    same = 0
    print(f"\n### rule {r}\n| file | tokens | full text | short text | word errors full / short |\n|---|---|---|---|---|")
    for n in names:
        ft, ftext = load("full", n)
        st, stext = load("rule_" + r, n)
        ref = words(refs.get(n, ""))
        e = f"{errors(words(ftext), ref)} / {errors(words(stext), ref)}" if ref else f"{len(words(ftext))} / {len(words(stext))} words (none spoken)"
        same += ft == st
        print(f"| {n} | {'identical' if ft == st else 'DIFFER'} | {ftext if ft != st or len(ftext) < 60 else ftext[:57] + '...'} | {'' if ft == st else stext} | {e} |")
    print(f"\n{same}/{len(names)} files token-identical under {r}")
PY
