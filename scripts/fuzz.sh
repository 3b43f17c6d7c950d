#!/usr/bin/env bash
# Builds every libFuzzer target with clang and runs each for SECONDS (default 30) on a copy of
# its committed corpus; new inputs go to build-fuzz/corpus/<name>/ (WISP_FUZZ_BUILD_DIR sets the
# build directory) and the repo is untouched.
#
#   scripts/fuzz.sh [SECONDS]                  CI: a short run of every target
#   scripts/fuzz.sh 600                        nightly-style: 10 minutes per target
#   scripts/fuzz.sh --merge 600                ... then merge new coverage into fuzz/corpus/<name>/
#   scripts/fuzz.sh --only wav --merge 3600    one target
#
# --merge keeps the committed corpora small: libFuzzer's -merge=1 adds only inputs that reach
# new coverage, each cut to WISP_FUZZ_MERGE_MAX_LEN bytes (default 4096; existing seeds are kept
# whatever their size), and when a corpus would grow past WISP_FUZZ_CORPUS_MAX_KB (default 256)
# or WISP_FUZZ_CORPUS_MAX_FILES (default 200) the largest new files are dropped until it fits.
# Review and commit the new files by hand (git status fuzz/corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=30
merge=0
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --merge) merge=1 ;;
    --only) only="$2"; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *[!0-9]*) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 1 ;;
    *) secs="$1" ;;
  esac
  shift
done
max_len="${WISP_FUZZ_MERGE_MAX_LEN:-4096}"
max_kb="${WISP_FUZZ_CORPUS_MAX_KB:-256}"
max_files="${WISP_FUZZ_CORPUS_MAX_FILES:-200}"

build="${WISP_FUZZ_BUILD_DIR:-build-fuzz}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWISP_FUZZ=ON -DWISP_BUILD_TESTS=OFF \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
if [ -n "$only" ]; then cmake --build "$build" --target "${only}_fuzz" -j"$(nproc)"
else cmake --build "$build" -j"$(nproc)"; fi

# Bytes in the files (not disk blocks: most inputs are far below a block), in KB.
corpus_kb() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print int((s + 1023) / 1024)}'; }

# Drops the largest of the files the merge added (those not listed in $2) until the corpus
# fits the caps.
cap_corpus() {
  local dir=$1 old_list=$2 f kb files
  while :; do
    kb=$(corpus_kb "$dir")
    files=$(find "$dir" -type f | wc -l)
    [ "$kb" -le "$max_kb" ] && [ "$files" -le "$max_files" ] && return 0
    f=$(find "$dir" -type f -printf '%s %p\n' | sort -rn | awk '{print $2}' | grep -vxFf "$old_list" | head -n 1 || true)
    if [ -z "$f" ]; then
      echo "   $dir: ${kb} KB / $files files is over the cap before the merge added anything" >&2
      return 0
    fi
    rm -f "$f"
  done
}

# One target: its run (and merge). Output goes to $build/corpus/<name>.log, printed by the caller.
fuzz_target() {
  local bin=$1 name work old_list before after
  name=$(basename "$bin" _fuzz)
  work="$build/corpus/$name"
  mkdir -p "$work" "fuzz/corpus/$name"
  echo "-- fuzzing $name for ${secs}s"
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work" "fuzz/corpus/$name" \
    2>&1 | tail -n 12
  if [ "$merge" = 1 ]; then
    old_list="$work.before-merge"
    find "fuzz/corpus/$name" -type f > "$old_list"
    before=$(wc -l < "$old_list")
    "$bin" -merge=1 -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 "fuzz/corpus/$name" "$work" >/dev/null 2>&1
    cap_corpus "fuzz/corpus/$name" "$old_list"
    after=$(find "fuzz/corpus/$name" -type f | wc -l)
    echo "   merged: fuzz/corpus/$name has $after files (+$((after - before))), $(corpus_kb "fuzz/corpus/$name") KB"
  fi
}

# Targets run WISP_FUZZ_JOBS at a time (default: the cores; each fuzzer is one process on one
# core), each for the same SECONDS, so a CI run takes ceil(targets / jobs) x SECONDS instead of
# targets x SECONDS. Logs are printed in target order once each finishes.
fuzz_jobs="${WISP_FUZZ_JOBS:-$(nproc)}"
shopt -s nullglob
bins=()
for bin in "$build"/fuzz/*_fuzz; do
  [ -n "$only" ] && [ "$(basename "$bin" _fuzz)" != "$only" ] && continue
  bins+=("$bin")
done
mkdir -p "$build/corpus"
pids=()
failed=0
log_of() { echo "$build/corpus/$(basename "$1" _fuzz).log"; }
# finish J: waits for target J, prints its log, notes a failure.
finish() {
  wait "${pids[$1]}" || { echo "fuzz.sh: $(basename "${bins[$1]}") failed" >&2; failed=1; }
  cat "$(log_of "${bins[$1]}")"
}
for i in "${!bins[@]}"; do
  # Before starting one more, wait for the oldest of the running ones when all slots are taken.
  [ "$i" -ge "$fuzz_jobs" ] && finish $((i - fuzz_jobs))
  fuzz_target "${bins[$i]}" > "$(log_of "${bins[$i]}")" 2>&1 &
  pids+=($!)
done
first_left=$(( ${#bins[@]} > fuzz_jobs ? ${#bins[@]} - fuzz_jobs : 0 ))
for ((j = first_left; j < ${#bins[@]}; ++j)); do finish "$j"; done
exit "$failed"
