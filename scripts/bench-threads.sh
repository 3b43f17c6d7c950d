#!/usr/bin/env bash
# Thread-oversubscription benchmark (issue 11): wall time of one real transcription (jfk.wav,
# tiny.en) at several --threads, then 4 concurrent transcriptions against the same 4 run one at
# a time, then one transcription while another process keeps a core busy. Several binaries
# (e.g. before/after a change) are run interleaved in one pass, so that the load the machine
# carries at the time affects them alike; each figure is the median of REPS runs.
#
#   scripts/bench-threads.sh [-r REPS] [-m MODEL_DIR] [-a AUDIO] [-t "1 2 4 16 64"] WISP_BIN...
#
# Prints a markdown table per section; ratios are against the first binary (or the best setting).
set -euo pipefail
cd "$(dirname "$0")/.."
reps=3
model=""
audio="../shared/data/jfk.wav"
thread_counts="1 2 4 16 64"
while getopts "r:m:a:t:" opt; do
  case "$opt" in
    r) reps="$OPTARG" ;;
    m) model="$OPTARG" ;;
    a) audio="$OPTARG" ;;
    t) thread_counts="$OPTARG" ;;
    *) echo "usage: $0 [-r REPS] [-m MODEL_DIR] [-a AUDIO] [-t THREAD_COUNTS] WISP_BIN..." >&2; exit 1 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "$0: name at least one wisp binary" >&2; exit 1; }
bins=("$@")
[ -n "$model" ] || model=$(scripts/fetch-real-model.sh)
[ -f "$audio" ] || { echo "$0: no audio file $audio" >&2; exit 1; }

now() { date +%s.%N; }
# Seconds one command takes (stdout discarded; a failure aborts the benchmark).
timed() {
  local t0 t1
  t0=$(now)
  "$@" >/dev/null
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
fmt() { printf '%.2f' "$1"; }
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
run1() { "$1" transcribe -m "$model" "$audio" -t "$2" -q; }
# Four transcriptions of N (default 2) threads each at once; the time until the last one ends.
run4() {
  local bin=$1 n=${2:-2} pids=() p
  for _ in 1 2 3 4; do run1 "$bin" "$n" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
}
run4_serial() { local bin=$1; for _ in 1 2 3 4; do run1 "$bin" 2; done; }

echo "# $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) online cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# model $model, audio $audio, median of $reps"

# Rounds outermost, so that a change of load during the run falls on every setting alike.
declare -A t
for r in $(seq "$reps"); do
  for n in $thread_counts; do
    for i in "${!bins[@]}"; do t[$i,$n]+=" $(timed run1 "${bins[$i]}" "$n")"; done
  done
done
echo
printf '| threads |'; for b in "${bins[@]}"; do printf ' %s (s) |' "$b"; done
for b in "${bins[@]:1}"; do printf ' %s / %s |' "$b" "${bins[0]}"; done
echo; printf '|---|'; for _ in "${bins[@]}"; do printf -- '---|'; done
for _ in "${bins[@]:1}"; do printf -- '---|'; done; echo
declare -A best
for n in $thread_counts; do
  printf '| %s |' "$n"
  for i in "${!bins[@]}"; do
    m=$(median ${t[$i,$n]})
    t[$i,$n]=$m
    if [ -z "${best[$i]:-}" ] || (( $(echo "$m < ${best[$i]}" | bc -l) )); then best[$i]=$m; fi
    printf ' %s |' "$(fmt "$m")"
  done
  for i in "${!bins[@]}"; do [ "$i" -gt 0 ] && printf ' %s |' "$(ratio "${t[$i,$n]}" "${t[0,$n]}")"; done
  echo
done
printf '| worst / best |'
for i in "${!bins[@]}"; do
  worst=0
  for n in $thread_counts; do (( $(echo "${t[$i,$n]} > $worst" | bc -l) )) && worst=${t[$i,$n]}; done
  printf ' %s |' "$(ratio "$worst" "${best[$i]}")"
done
echo

declare -A c c1 s b1 b2
for r in $(seq "$reps"); do
  for i in "${!bins[@]}"; do
    c[$i]+=" $(timed run4 "${bins[$i]}")"
    # The same four at 1 thread each: what running four processes at once costs without any pool.
    c1[$i]+=" $(timed run4 "${bins[$i]}" 1)"
    s[$i]+=" $(timed run4_serial "${bins[$i]}")"
    # One transcription at 2 threads while another process spins on a core.
    (while :; do :; done) & hog=$!
    b2[$i]+=" $(timed run1 "${bins[$i]}" 2)"
    b1[$i]+=" $(timed run1 "${bins[$i]}" 1)"
    kill "$hog"; wait "$hog" 2>/dev/null || true
  done
done
echo
echo '| binary | 4 x (-t 2) at once (s) | 4 x (-t 2) one at a time (s) | at once / one at a time | 4 x (-t 1) at once (s) | -t 2, one core busy (s) | -t 1, one core busy (s) | -t 2 / -t 1 busy |'
echo '|---|---|---|---|---|---|---|---|'
for i in "${!bins[@]}"; do
  cm=$(median ${c[$i]}); c1m=$(median ${c1[$i]}); sm=$(median ${s[$i]}); m2=$(median ${b2[$i]}); m1=$(median ${b1[$i]})
  echo "| ${bins[$i]} | $(fmt "$cm") | $(fmt "$sm") | $(ratio "$cm" "$sm") | $(fmt "$c1m") | $(fmt "$m2") | $(fmt "$m1") | $(ratio "$m2" "$m1") |"
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
