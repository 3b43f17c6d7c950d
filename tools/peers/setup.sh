#!/usr/bin/env bash
# Creates .venv-peers: the Python side of the peer benchmark (tools/peers/, docs/PEERS.md).
# Run by hand, never by CI. Debian's python3-torch (1.13, CPU, OpenBLAS) comes from the system
# site-packages so pip never pulls PyPI's multi-gigabyte torch; numpy is pinned below 2 because
# Debian's torch is built against numpy 1.x. Each peer is installed on its own so that one that
# does not install leaves the others usable; what happened is written to .venv-peers/peers-status.txt.
set -uo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$repo/.venv-peers"
status="$venv/peers-status.txt"
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "Debian's python3-torch is required: apt-get install python3-torch" >&2
  exit 1
fi
# Debian's torch links libblas.so.3/libopenblas.so.0 through update-alternatives; the pthreads
# flavour keeps its own thread pool that ignores OMP_NUM_THREADS, so the OpenMP one is wanted.
if ! dpkg -s libopenblas0-openmp >/dev/null 2>&1; then
  apt-get install -y libopenblas0-openmp
fi
for alt in libblas.so.3-x86_64-linux-gnu libopenblas.so.0-x86_64-linux-gnu liblapack.so.3-x86_64-linux-gnu; do
  target=$(update-alternatives --list "$alt" 2>/dev/null | grep openblas-openmp | head -1)
  [ -n "$target" ] && update-alternatives --set "$alt" "$target" >/dev/null
done

/usr/bin/python3 -m venv --system-site-packages "$venv"
pip=("$venv/bin/pip" install --disable-pip-version-check -q -c "$repo/tools/peers/constraints.txt")
: > "$status"
try() {  # try NAME pip-args...: installs, records ok/failed with the last error line
  local name=$1; shift
  if out=$("${pip[@]}" "$@" 2>&1); then
    echo "$name: ok" >> "$status"
  else
    echo "$name: FAILED: $(echo "$out" | grep -iE 'error|requires' | tail -2 | tr '\n' ' ')" >> "$status"
  fi
}
try openai-whisper --no-deps openai-whisper
try whisper-deps tiktoken more-itertools tqdm numba
try onnx onnx
try onnxruntime onnxruntime
try ctranslate2 ctranslate2
try transformers transformers
try pywhispercpp pywhispercpp
# ExecuTorch needs its own torch 2.x: see docs/PEERS.md for why it is not installed here.
try psutil psutil
cat "$status"
"$venv/bin/python" - <<'PY'
import importlib
for m in ["torch", "whisper", "onnx", "onnxruntime", "ctranslate2", "transformers", "pywhispercpp", "numpy"]:
    try:
        mod = importlib.import_module(m)
        print(f"{m} {getattr(mod, '__version__', '?')}")
    except Exception as e:  # report, do not stop: the bench skips what is missing
        print(f"{m} NOT AVAILABLE: {e}")
PY
