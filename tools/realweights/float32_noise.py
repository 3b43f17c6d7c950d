#!/usr/bin/env python3
"""How far openai-whisper's own float32 statistics are from the same computation in float64, on the
real tiny.en: the floor under any bound on wisp's avg_logprob / no_speech_prob against the official.

For the first window of each file, exactly as transcribe() decodes it (log_mel_spectrogram with 30 s
of padding, mel[:, :min(3000, content)] zero-padded, greedy at temperature 0, language "en"):
  f32  whisper.decode() as the goldens run it (fp16=False: float32 weights from the f16 checkpoint);
  f64  the same model and mel in float64 (LayerNorm too, which whisper computes in float32 otherwise).
The f32 - f64 difference is the rounding of torch's float32 GEMMs and reductions: a port that is
not bit-identical to torch's kernels (blocking, summation order, vectorised exp) differs from the
official by about as much, whatever its own precision. Prints one line per file; writes nothing.

Run by hand, from the repo root:
  OMP_NUM_THREADS=1 .venv/bin/python tools/realweights/float32_noise.py [--speech-dir DIR]
"""

import argparse
import copy
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_real_golden as real  # noqa: E402  (sets thread defaults)
from make_real_golden import SHARED_DIR, SPEECH_NAMES  # noqa: E402

import torch  # noqa: E402
import whisper  # noqa: E402
import whisper.decoding  # noqa: E402
import whisper.model  # noqa: E402
from whisper.audio import N_FRAMES, N_SAMPLES  # noqa: E402

from test_audio import read_wav  # noqa: E402


def first_window(audio):
    mel = whisper.log_mel_spectrogram(torch.from_numpy(audio), 80, padding=N_SAMPLES)
    content = mel.shape[-1] - N_FRAMES
    return whisper.pad_or_trim(mel[:, :min(N_FRAMES, content)], N_FRAMES)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-dir", help="CTranslate2 directory (default: scripts/fetch-real-model.sh)")
    ap.add_argument("--speech-dir", help="output of make_speech.sh (default: made into a temp dir)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    tmp = tempfile.TemporaryDirectory(prefix="wisp-f32-noise.")
    m32 = real.load_official_model(args.model_dir, tmp.name)[1]
    m64 = copy.deepcopy(m32).double()
    speech_dir = args.speech_dir
    if not speech_dir:
        speech_dir = os.path.join(tmp.name, "speech")
        subprocess.run([os.path.join(os.path.dirname(real.__file__), "make_speech.sh"), speech_dir], check=True)

    # whisper's LayerNorm computes in float32 and casts back; in the f64 run it keeps float64.
    layer_norm32 = whisper.model.LayerNorm.forward

    def layer_norm(self, x):
        if x.dtype != torch.float64:
            return layer_norm32(self, x)
        return torch.nn.functional.layer_norm(x, self.normalized_shape, self.weight.double(), self.bias.double(),
                                              self.eps)
    whisper.model.LayerNorm.forward = layer_norm
    # DecodingTask insists on float32 audio features when fp16=False; the f64 run skips that check.
    features32 = whisper.decoding.DecodingTask._get_audio_features

    def features(self, mel):
        if self.model is m64:
            return m64.encoder(mel.double())
        return features32(self, mel)
    whisper.decoding.DecodingTask._get_audio_features = features

    options = whisper.DecodingOptions(temperature=0.0, language="en", fp16=False)
    worst = {"avg_logprob": 0.0, "no_speech_prob": 0.0}
    for name in ["jfk"] + SPEECH_NAMES:
        wav = os.path.join(SHARED_DIR, "jfk.wav") if name == "jfk" else os.path.join(speech_dir, name + ".wav")
        window = first_window(read_wav(wav))
        r32 = whisper.decoding.decode(m32, window, options)
        r64 = whisper.decoding.decode(m64, window, options)
        line = [f"{name:5s} tokens {'same' if r32.tokens == r64.tokens else 'DIFFER'}"]
        for key in worst:
            a, b = getattr(r32, key), getattr(r64, key)
            worst[key] = max(worst[key], abs(a - b))
            line.append(f"{key} f32 {a:.9f} f64 {b:.9f} diff {a - b:+.2e}")
        print("  ".join(line), flush=True)
    print("max |f32 - f64|: " + ", ".join(f"{k} {v:.2e}" for k, v in worst.items()))


if __name__ == "__main__":
    main()
