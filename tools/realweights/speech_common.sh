# Sourced by make_speech.sh, make_sentences.sh and make_drift_set.sh (`source speech_common.sh "$@"`): checks the one
# OUTDIR argument and the tools, and sets what both scripts make their WAVs with: $out (created),
# $tmp (a private directory, removed on exit), LC_ALL=C and $SOX, sox with -R (fixed seeds, for
# the noise) and -D (no dither, which would be random), so that every run gives the same bytes.
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
for tool in espeak-ng sox; do
  if ! command -v "$tool" >/dev/null; then
    echo "$(basename "$0"): $tool is required (apt-get install espeak-ng sox)" >&2
    exit 2
  fi
done
out=$1
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wisp-$(basename "$0" .sh).XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C
SOX=(sox -R -D -V1)
