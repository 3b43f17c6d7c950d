#!/usr/bin/env bash
# Runs a command with the library path that .venv-peers-et's CUDA-build torch needs to load
# (see setup_executorch.sh): the venv's nvidia/*/lib folders, then the system CUDA toolkit.
repo="$(cd "$(dirname "$0")/../.." && pwd)"
site="$repo/.venv-peers-et/lib/python3.11/site-packages"
extra=$(ls -d "$site"/nvidia/*/lib "$site"/nvidia/*/*/lib 2>/dev/null | tr '\n' ':')
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
  [ -d "$d" ] && extra="$extra$d:"
done
export LD_LIBRARY_PATH="${extra}${LD_LIBRARY_PATH:-}"
exec "$@"
