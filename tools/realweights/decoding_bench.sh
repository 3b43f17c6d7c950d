#!/bin/bash
# Beam 5 and word timestamps against greedy on the real tiny.en, whole process, 1 thread, one pass,
# three rounds alternating the runs (docs/PERFORMANCE.md). A: the audio (default: the 170-s long.wav
# that tools/realweights/make_speech.sh writes, as real_weights_test leaves it in build/).
cd "$(dirname "$0")/../.."
W=${W:-build/bin/wisp}; M=$(scripts/fetch-real-model.sh); A=${A:-build/real_weights_speech/long.wav}
t() { local s=$(date +%s.%N); "$W" transcribe -m "$M" "$A" -t 1 --no-fallback "$@" >/dev/null 2>&1; echo "$(date +%s.%N) - $s" | bc; }
for r in 1 2 3; do
  g=$(t); b=$(t --beam_size 5); w=$(t --word_timestamps True)
  echo "round $r greedy $g beam5 $b words $w beam/greedy $(echo "$b/$g" | bc -l | cut -c1-5) words/greedy $(echo "$w/$g" | bc -l | cut -c1-5)"
done
cat /proc/loadavg
