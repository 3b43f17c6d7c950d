#!/usr/bin/env bash
# Encoder time of a full 30-s window against --short-audio's context for clips of 2, 4, 6, 10 and
# 20 s (docs/PERFORMANCE.md, "Short-audio encoder"): `wisp bench --only encoder --audio-seconds S`
# on the real tiny.en, the settings alternated within each round so that load changes hit all of
# them alike. Prints every round's medians and a table of the medians over rounds.
#
#   short_audio_bench.sh            environment: W (default build/bin/wisp), MODEL (default:
#                                   scripts/fetch-real-model.sh), T threads (2), R rounds (3),
#                                   K repetitions per bench (5), CLIPS ("30 2 4 6 10 20": seconds)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
W=${W:-$root/build/bin/wisp}
MODEL=${MODEL:-$("$root/scripts/fetch-real-model.sh")}
T=${T:-2}
R=${R:-3}
K=${K:-5}
CLIPS=${CLIPS:-30 2 4 6 10 20}
echo "load before: $(cat /proc/loadavg)"
declare -A all ctx
for round in $(seq "$R"); do
  for s in $CLIPS; do
    line=$("$W" bench -m "$MODEL" --only encoder -t "$T" -r "$K" --audio-seconds "$s" | grep '^| encoder,')
    ms=$(echo "$line" | awk -F'|' '{gsub(/ /, "", $3); print $3}')
    what=$(echo "$line" | awk -F'|' '{sub(/^ encoder, /, "", $2); sub(/ +$/, "", $2); print $2}')
    echo "round $round: $s s ($what): $ms ms"
    all[$s]="${all[$s]:-} $ms"
    ctx[$s]=$what
  done
done
echo "load after: $(cat /proc/loadavg)"
full=$(echo ${all[30]} | tr ' ' '\n' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
echo
echo "| clip | encoder context | median ms (rounds) | full / short |"
echo "|---|---|---:|---:|"
for s in $CLIPS; do
  med=$(echo ${all[$s]} | tr ' ' '\n' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  echo "| $s s | ${ctx[$s]} | $med (${all[$s]# }) | $(awk -v f="$full" -v m="$med" 'BEGIN {printf "%.2f", f / m}') |"
done
