#!/usr/bin/env bash
# Twenty short spoken sentences (2-4 s each, 16-kHz mono 16-bit WAV) in two folders, OUTDIR/us/
# (en-us voice) and OUTDIR/gb/ (en-gb), for wisp.corpus's tests (python/tests/test_corpus.py) and
# its throughput figures (docs/PERFORMANCE.md). espeak-ng + sox only; sox runs with -R -D (fixed
# seeds, no dither) so a rerun with the same tool versions gives the same bytes.
#
#   tools/corpus/make_corpus.sh OUTDIR
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "make_corpus.sh: $tool is required (apt-get install espeak-ng sox)" >&2; exit 2; }
done
out=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wisp-corpus.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C
mkdir -p "$out/us" "$out/gb"
i=0
while IFS= read -r sentence; do
  if [ $((i % 2)) -eq 0 ]; then voice=en-us dir=us; else voice=en-gb dir=gb; fi
  espeak-ng -v "$voice" -s 165 -w "$tmp/raw.wav" "$sentence"
  sox -R -D -V1 "$tmp/raw.wav" -r 16000 -c 1 -b 16 "$out/$dir/$(printf 's%02d' "$i").wav" vol 0.7
  i=$((i + 1))
done <<'SENTENCES'
The quick brown fox jumps over the lazy dog.
Please call Stella and ask her to bring these things.
A large rainbow appeared after the storm.
We will meet at the station at noon.
The museum opens its doors on Monday morning.
Coffee tastes better when it is fresh.
Seven ships sailed across the quiet ocean.
The library has thousands of old books.
She planted tomatoes in the garden last spring.
Our train was late because of the snow.
The children played football in the park.
Turn left at the bakery and walk two blocks.
He forgot his umbrella at the restaurant.
The mountain road was narrow and steep.
Music filled the hall during the concert.
Bring a warm jacket for the evening walk.
The doctor said the results look good.
Birds were singing outside my window.
The river flows slowly through the valley.
Dinner will be ready in ten minutes.
SENTENCES
