#!/usr/bin/env bash
# The main job on a fresh Debian machine: install dependencies, build, fetch the tiny.en model
# into the cache (~/.cache/wisp), and transcribe AUDIO (default: a sentence spoken by espeak-ng).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
model="${WISP_MODEL:-tiny.en}"
audio="${1:-}"
if [ -z "$audio" ]; then
  audio="build/sample.wav"
  espeak-ng -w "$audio" "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
fi
build/bin/wisp models download "$model"
exec build/bin/wisp transcribe -m "$model" "$audio"
