#!/usr/bin/env bash
# Creates .venv-peers-et: ExecuTorch (PyPI `executorch`, XNNPACK backend) for tools/peers/.
# Run by hand, never by CI. ExecuTorch needs torch 2.x (Debian's is 1.13), so this venv has no
# system site-packages. PyPI's Linux torch is the CUDA build whose declared nvidia-* dependencies
# come to ~3 GB; it is installed with --no-deps instead, and the CUDA libraries its shared objects
# link against are taken from this machine's CUDA 13 toolkit (cpp-kernels machines ship it),
# plus the ones it lacks or has too old (cuSPARSELt, NVSHMEM, cuFile, NCCL 2.30) from PyPI. Nothing
# runs on a GPU: the libraries only have to load. Download: ~0.9 GB.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$repo/.venv-peers-et"
torch_version="${TORCH_VERSION:-2.14.1}"
executorch_version="${EXECUTORCH_VERSION:-1.5.1}"
/usr/bin/python3 -m venv "$venv"
pip=("$venv/bin/pip" install --disable-pip-version-check -q)
"${pip[@]}" --no-deps "torch==$torch_version"
"${pip[@]}" filelock typing-extensions "setuptools>=77.0.3" sympy networkx jinja2 fsspec
# The versions torch 2.14.1 declares; cuFile comes with the toolkit metapackage upstream.
"${pip[@]}" --no-deps nvidia-cusparselt-cu13==0.8.1 nvidia-nvshmem-cu13==3.4.5 nvidia-nccl-cu13==2.30.7 nvidia-cufile
"${pip[@]}" "executorch==$executorch_version" psutil
"$repo/tools/peers/et_env.sh" "$venv/bin/python" -c \
  'import torch, importlib.metadata as md; from executorch.extension.pybindings import portable_lib; print("torch", torch.__version__, "executorch", md.version("executorch"))'
