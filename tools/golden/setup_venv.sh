#!/usr/bin/env bash
# Creates the Python environment for the golden-data scripts (run by hand, never by CI).
# Debian's python3-torch (CPU, OpenBLAS) is used from the system site-packages so that pip
# never pulls PyPI's multi-gigabyte torch/triton wheels: openai-whisper is installed without
# its dependencies, then only the light ones it needs at run time.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$repo/.venv"
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "Debian's python3-torch is required: apt-get install python3-torch" >&2
  exit 1
fi
/usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/pip" install --no-deps openai-whisper
"$venv/bin/pip" install tiktoken more-itertools tqdm numba
"$venv/bin/python" -c 'import whisper, torch; print("openai-whisper", whisper.__version__, "torch", torch.__version__)'
