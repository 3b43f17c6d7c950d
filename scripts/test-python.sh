#!/usr/bin/env bash
# The Python package's tests: a fresh venv, `pip install .[corpus] pytest numpy` (scikit-build-core
# and nanobind from PyPI build the module; the corpus extra adds ray[data] for wisp.corpus, ~25-45 s
# of the install), then pytest on python/tests/ (test_corpus.py starts a local 2-CPU Ray cluster). The CLI comparison uses
# build/bin/wisp (scripts/build.sh first; WISP_CLI overrides), the real tiny.en comes from
# scripts/fetch-real-model.sh; under CI=true either missing is a failure, not a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${WISP_PYTHON_VENV:-build-python-venv}"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
start=$(date +%s)
CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check ".[corpus]" pytest numpy openai
echo "test-python: pip install .[corpus] took $(( $(date +%s) - start )) s"
# From outside the tree, so `import wisp` is the installed package, not python/wisp.
cd /tmp
set +e
"$OLDPWD/$venv/bin/python" -m pytest -ra "$OLDPWD/python/tests"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test-python: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
