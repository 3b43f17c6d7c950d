#!/usr/bin/env bash
# Builds every libFuzzer target with clang and runs each for N seconds (default 30) on a copy
# of its committed corpus (new inputs go to build-fuzz/corpus, the repo is not modified).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWISP_FUZZ=ON -DWISP_BUILD_TESTS=OFF \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-fuzz -j"$(nproc)"
shopt -s nullglob
for bin in build-fuzz/fuzz/*_fuzz; do
  name=$(basename "$bin" _fuzz)
  work="build-fuzz/corpus/$name"
  mkdir -p "$work"
  echo "-- fuzzing $name for ${secs}s"
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work" "fuzz/corpus/$name" \
    2>&1 | tail -n 12
done
