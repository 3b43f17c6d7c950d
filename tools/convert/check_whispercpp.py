#!/usr/bin/env python3
"""whisper.cpp compatibility check for `wisp convert` (run by hand, not in CI).

Converts a checkpoint with wisp to ggml files of several types, loads each with whisper.cpp (through
pywhispercpp, which bundles it) and transcribes an audio file, printing per type whether it loaded
and the text. With --reference, also loads a ggml file made by whisper.cpp's own tools and
compares the texts.

    python3 -m venv /tmp/wcpp && /tmp/wcpp/bin/pip install pywhispercpp
    /tmp/wcpp/bin/python tools/convert/check_whispercpp.py \
        --wisp build/bin/wisp --input "$(scripts/fetch-real-model.sh)" \
        --audio ../shared/data/jfk.wav --types f16 q8_0 q5_0

Each transcription runs in a child process, because whisper.cpp aborts the process on a file it
cannot run (GGML_ASSERT) rather than raising. Known: whisper.cpp's CPU backend cannot run f32 conv
kernels (ggml_conv_1d builds an f16 im2col and asserts an f16 kernel; whisper.cpp issue #2557), so
an f32 file, wisp's or whisper.cpp's own converter's, loads but aborts in the encoder.

Exit status: 0 when every file loads and transcribes to non-empty text, 1 otherwise.
"""
import argparse
import os
import subprocess
import sys
import tempfile


def transcribe(model_path, audio, threads):
    # Imported here so that --help works without pywhispercpp installed.
    from pywhispercpp.model import Model
    model = Model(model_path, n_threads=threads, print_progress=False, print_realtime=False,
                  redirect_whispercpp_logs_to=None)
    segments = model.transcribe(audio, language="en")
    # pywhispercpp strips each segment's text; whisper.cpp's own output joins them with a space.
    return " ".join(s.text.strip() for s in segments).strip()


def transcribe_in_child(model_path, audio, threads):
    """(text, None) or (None, what went wrong) from a child running transcribe()."""
    r = subprocess.run([sys.executable, __file__, "--transcribe-one", model_path, audio, str(threads)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        lines = [l for l in r.stderr.splitlines() if "GGML_ASSERT" in l or "Error" in l]
        return None, f"exit {r.returncode}: " + (lines[0] if lines else r.stderr.strip()[-300:])
    return r.stdout.strip(), None


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--transcribe-one":
        print(transcribe(sys.argv[2], sys.argv[3], int(sys.argv[4])))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wisp", default="build/bin/wisp", help="the wisp binary")
    p.add_argument("--input", required=True, help="checkpoint to convert (ggml file, CTranslate2/HF dir, .pt)")
    p.add_argument("--audio", default="../shared/data/jfk.wav")
    p.add_argument("--types", nargs="+", default=["f16", "q8_0", "q5_0"])
    p.add_argument("--out-dir", default=None, help="where the converted files go (default: a temp dir)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reference", default=None, help="a whisper.cpp-made ggml file to compare against")
    args = p.parse_args()

    out_dir = args.out_dir or tempfile.mkdtemp(prefix="wisp-convert-check-")
    ok = True
    texts = {}
    for t in args.types:
        out = os.path.join(out_dir, f"model-{t}.bin")
        r = subprocess.run([args.wisp, "convert", args.input, out, "--type", t], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"{t}: wisp convert failed ({r.returncode}): {r.stderr.strip()}")
            ok = False
            continue
        size = os.path.getsize(out)
        text, error = transcribe_in_child(out, args.audio, args.threads)
        if error is not None:
            print(f"{t}: {size} bytes, whisper.cpp could NOT transcribe it: {error}")
            ok = False
            continue
        texts[t] = text
        print(f"{t}: {size} bytes, loads in whisper.cpp; text: {text}")
        ok = ok and bool(text)
    if args.reference:
        ref, error = transcribe_in_child(args.reference, args.audio, args.threads)
        if error is not None:
            print(f"reference {args.reference}: whisper.cpp could NOT transcribe it: {error}")
            return 1
        print(f"reference {args.reference}: {ref}")
        for t, text in texts.items():
            print(f"  {t} {'equals' if text == ref else 'DIFFERS from'} the reference")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
