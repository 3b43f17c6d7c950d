#!/bin/bash
# Beam 5 and word timestamps against greedy on the real tiny.en, whole process, 1 thread, one pass,
# R rounds (default 3) alternating the runs (docs/PERFORMANCE.md). A: the audio (default: the 170-s
# long.wav that tools/realweights/make_speech.sh writes, as real_weights_test leaves it in build/).
# Each run prints wall and CPU (user + sys) seconds: on a shared machine the wall ratios swing with
# other jobs, the CPU ratios much less. W: the binary.
cd "$(dirname "$0")/../.."
W=${W:-build/bin/wisp}; M=$(scripts/fetch-real-model.sh); A=${A:-build/real_weights_speech/long.wav}
TIMEFORMAT='%R %U %S'
t() {  # prints "wall cpu"
  local r
  r=$({ time "$W" transcribe -m "$M" "$A" -t 1 --no-fallback "$@" >/dev/null 2>&1; } 2>&1)
  set -- $r
  echo "$1 $(echo "$2 + $3" | bc)"
}
ratio() { echo "$1/$2" | bc -l | cut -c1-5; }
for r in $(seq 1 "${R:-3}"); do
  set -- $(t) $(t --beam_size 5) $(t --word_timestamps True)
  echo "round $r wall: greedy $1 beam5 $3 words $5 beam/greedy $(ratio $3 $1) words/greedy $(ratio $5 $1)" \
       "| cpu: greedy $2 beam5 $4 words $6 beam/greedy $(ratio $4 $2) words/greedy $(ratio $6 $2)"
done
cat /proc/loadavg
