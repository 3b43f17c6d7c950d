#!/usr/bin/env python3
"""Writes mel_expected.inc: committed expectations for src/audio/mel_test.cc.

numpy only (no torch here): a float64 re-implementation of openai-whisper's
log_mel_spectrogram(audio, n_mels, padding=N_SAMPLES) as transcribe() calls it:
  torch.stft(n_fft=400, hop=160, window=hann_window(400) (periodic), center=True, reflect pad)
  magnitudes = |stft[..., :-1]| ** 2            (the last frame is dropped)
  log_spec = log10(clamp(filters @ magnitudes, min=1e-10))
  log_spec = maximum(log_spec, log_spec.max() - 8.0); (log_spec + 4) / 4
and of librosa.filters.mel (Slaney scale and norm), checked here against mel_filters.npz.

Usage: /usr/bin/python3 make_mel_expected.py /work/shared/data > mel_expected.inc
"""
import sys
import wave

import numpy as np

N_FFT, HOP, N_SAMPLES, SR = 400, 160, 480000, 16000
SYNTH_SAMPLES = 48000


def synthetic_signal():
    """Same formula as SyntheticSignal() in mel_test.cc: a 100->4000 Hz chirp, two tones and
    LCG noise, computed in float64 and stored as float32."""
    i = np.arange(SYNTH_SAMPLES, dtype=np.float64)
    t = i / SR
    duration = SYNTH_SAMPLES / SR
    chirp = 0.3 * np.sin(2 * np.pi * (100.0 * t + (4000.0 - 100.0) * t * t / (2 * duration)))
    tones = 0.2 * np.sin(2 * np.pi * 440.0 * t) + 0.1 * np.sin(2 * np.pi * 1000.0 * t + 0.5)
    noise = np.empty(SYNTH_SAMPLES)
    state = 12345
    for k in range(SYNTH_SAMPLES):
        state = (state * 1103515245 + 12345) % (1 << 31)
        noise[k] = (state / float(1 << 31) - 0.5) * 0.02
    x = chirp + tones + noise
    x[16000:20000] = 0.0  # a stretch of digital silence (exercises the 1e-10 clamp)
    return x.astype(np.float32)


def hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-300) / min_log_hz) / logstep, mels)


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def librosa_mel(n_mels):
    fftfreqs = np.fft.rfftfreq(n=N_FFT, d=1.0 / SR)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(SR / 2.0), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((n_mels, N_FFT // 2 + 1), dtype=np.float32)
    for i in range(n_mels):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, np.newaxis]
    return weights


def log_mel(audio, filters):
    x = np.concatenate([audio.astype(np.float64), np.zeros(N_SAMPLES)])
    padded = np.pad(x, N_FFT // 2, mode="reflect")
    n_frames = 1 + len(x) // HOP
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n_frames)[:, None]
    power = np.abs(np.fft.rfft(padded[idx] * window, axis=1)) ** 2
    mel = power[:-1] @ filters.astype(np.float64).T  # (frames, n_mels)
    log = np.log10(np.maximum(mel, 1e-10))
    final = (np.maximum(log, log.max() - 8.0) + 4.0) / 4.0
    return log.max(), final.T  # final: (n_mels, frames)


def lcg_picks(count, n_mels, n_frames, seed):
    state, out = seed, []
    for _ in range(count):
        state = (state * 1103515245 + 12345) % (1 << 31)
        m = state % n_mels
        state = (state * 1103515245 + 12345) % (1 << 31)
        out.append((m, state % n_frames))
    return out


def emit_case(name, audio, filters, n_samples, seed):
    log_max, final = log_mel(audio, filters)
    n_mels, total = final.shape
    content = total - 3000
    region = final[:, :max(content, 1)]
    # Sampled frames span the content and the first 100 padding frames (the boundary).
    picks = lcg_picks(n_samples, n_mels, min(total, content + 100), seed)
    print(f"inline constexpr MelSample k{name}Samples[] = {{")
    for m, f in picks:
        print(f"    {{{m}, {f}, {final[m, f]:.9g}}},")
    print("};")
    print(f"inline constexpr MelCase k{name} = {{{n_mels}, {total}, {content}, {log_max:.9g}, "
          f"{region.min():.9g}, {region.max():.9g}, {region.mean():.12g}, {final.mean():.12g}, "
          f"k{name}Samples, {len(picks)}}};")


def emit_filterbank(name, weights, n_samples):
    rows, cols = np.nonzero(weights)
    w64 = weights.astype(np.float64)
    index = np.arange(w64.size, dtype=np.float64).reshape(w64.shape) + 1
    step = max(1, len(rows) // n_samples)
    print(f"inline constexpr FilterEntry k{name}Entries[] = {{")
    for r, c in list(zip(rows, cols))[::step]:
        print(f"    {{{r}, {c}, {weights[r, c]:.9g}}},")
    print("};")
    print(f"inline constexpr FilterbankCase k{name} = {{{weights.shape[0]}, {len(rows)}, {w64.sum():.17g}, "
          f"{(w64 * w64).sum():.17g}, {(w64 * index).sum():.17g}, k{name}Entries, "
          f"{len(rows[::step])}}};")


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data"
    npz = np.load(f"{data_dir}/mel_filters.npz")
    for n in (80, 128):
        diff = np.abs(librosa_mel(n) - npz[f"mel_{n}"]).max()
        print(f"librosa re-implementation vs mel_filters.npz mel_{n}: max |diff| = {diff:g}", file=sys.stderr)
        assert diff < 1e-6
    print("// Generated by make_mel_expected.py from mel_filters.npz and jfk.wav; do not edit.")
    print("// Values are openai-whisper's final log-mel scale computed in float64 by numpy.")
    print("#pragma once\nnamespace wisp::mel_expected {")
    print("struct MelSample { int mel; long frame; double value; };")
    print("struct MelCase { int n_mels; long total_frames; long content_frames; double log_max;\n"
          "  double content_min, content_max, content_mean, all_mean; const MelSample* samples; int n_samples; };")
    print("struct FilterEntry { int row; int col; double value; };")
    print("struct FilterbankCase { int n_mels; int nonzeros; double sum, sum_sq, index_weighted;\n"
          "  const FilterEntry* entries; int n_entries; };")
    print(f"inline constexpr int kSynthSamples = {SYNTH_SAMPLES};")
    emit_filterbank("Filters80", npz["mel_80"], 120)
    emit_filterbank("Filters128", npz["mel_128"], 120)
    synth = synthetic_signal()
    emit_case("Synth80", synth, npz["mel_80"], 300, 1)
    emit_case("Synth128", synth, npz["mel_128"], 150, 2)
    with wave.open(f"{data_dir}/jfk.wav") as w:
        assert w.getframerate() == SR and w.getnchannels() == 1 and w.getsampwidth() == 2
        jfk = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    print(f"inline constexpr long kJfkSamples = {len(jfk)};")
    emit_case("Jfk80", jfk, npz["mel_80"], 300, 3)
    print("}  // namespace wisp::mel_expected")


if __name__ == "__main__":
    main()
