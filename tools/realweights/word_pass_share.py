#!/usr/bin/env python3
"""The word-timestamp pass's share of a transcription's CPU time, from call stacks.

Word timestamps move each window's seek to the last word's end, so a run with them decodes other
windows than one without, and the whole-process difference mixes that in. This measures the pass
itself: samples whose stack holds AddWordTimestamps, over all samples, and what inside it costs.

  perf record -F 2000 --call-graph dwarf,16384 -o words.data \\
      build/bin/wisp transcribe -m MODEL build/real_weights_speech/long.wav -t 1 --no-fallback --word_timestamps True
  tools/realweights/word_pass_share.py words.data [FUNCTION]
"""
import collections
import subprocess
import sys


def main():
    data = sys.argv[1]
    key = sys.argv[2] if len(sys.argv) > 2 else "AddWordTimestamps"
    script = subprocess.run(["perf", "script", "-i", data], capture_output=True, text=True, check=True).stdout
    total = inside = 0
    children = collections.Counter()
    for block in script.split("\n\n"):
        frames = [line.strip() for line in block.strip().split("\n")[1:] if line.strip()]
        if not frames:
            continue
        # "addr symbol+0xoff (dso)" -> symbol
        symbols = [f.split(" ", 1)[-1].rsplit(" (", 1)[0].split("+0x")[0] for f in frames]
        total += 1
        at = next((i for i, s in enumerate(symbols) if key in s), None)
        if at is not None:
            inside += 1
            children[symbols[at - 1] if at > 0 else "(self)"] += 1
    print(f"{key}: {inside} of {total} samples, {100.0 * inside / max(total, 1):.2f} %")
    for name, n in children.most_common(8):
        print(f"  {100.0 * n / total:5.2f} %  {name[:100]}")


if __name__ == "__main__":
    main()
