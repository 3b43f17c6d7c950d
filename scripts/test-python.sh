#!/usr/bin/env bash
# The Python package's tests: a fresh venv, `pip install . pytest numpy` (scikit-build-core and
# nanobind from PyPI build the module), then pytest on python/tests/. The CLI comparison uses
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
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check . pytest numpy openai
echo "test-python: pip install . took $(( $(date +%s) - start )) s"
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
