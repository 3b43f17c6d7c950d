#!/usr/bin/env python3
"""Writes src/pipeline/testdata/word_timing_expected.json: openai-whisper's own answers (whisper/timing.py
and Tokenizer.split_to_word_tokens, v20250625) on crafted inputs, for src/pipeline/word_timestamps_test.cc.

Run by hand from the repo root (after tools/golden/setup_venv.sh):
  .venv/bin/python tools/golden/make_word_timing_expected.py

Sections (all inputs are in the file or follow from the formulas below, mirrored in the C++ test):
  median_filter   timing.median_filter on random float32 arrays (2-D and 3-D, widths around the
                  filter's half width, small integers for ties)
  dtw             timing.dtw_cpu on float64 matrices (normal values, and small integers: ties)
  split           Tokenizer.split_to_word_tokens(encode(text) + [eot]) for English, emoji (tokens
                  that are partial UTF-8), zh / ja (split on unicode), and random token ids
  merge           timing.merge_punctuations on word lists drawn from punctuation-heavy pools
  add_words       timing.add_word_timestamps with find_alignment replaced by a crafted alignment:
                  the duration heuristics, merging and segment-boundary rules on random cases
  find_alignment  timing.find_alignment on a stand-in model whose cross-attention modules return
                  fixed scores (SCORE formula) and whose logits follow LOGIT: everything after the
                  forward pass is the official code
"""

import copy
import json
import os
import random

import numpy as np
import torch

import whisper.timing as timing
from whisper.tokenizer import get_tokenizer

OUT = "src/pipeline/testdata/word_timing_expected.json"
rng = np.random.default_rng(20250625)
prng = random.Random(7)


def f32list(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).ravel()]


def median_cases():
    cases = []
    for shape, fw, ints in [((1, 1), 7, False), ((2, 3), 7, False), ((2, 4), 7, False), ((3, 5), 7, True),
                            ((1, 12), 7, False), ((4, 30), 7, True), ((2, 3, 17), 7, False), ((2, 9), 3, True),
                            ((3, 8), 1, False), ((1, 40), 5, False)]:
        x = rng.integers(-3, 4, size=shape) if ints else rng.normal(size=shape)
        t = torch.tensor(np.asarray(x, dtype=np.float32))
        y = timing.median_filter(t, fw)
        cases.append({"shape": list(shape), "filter_width": fw, "x": f32list(t.numpy()), "y": f32list(y.numpy())})
    return cases


def dtw_cases():
    cases = []
    for (n, m), ints in [((1, 1), False), ((1, 5), False), ((5, 1), False), ((3, 4), True), ((6, 6), True),
                         ((10, 30), False), ((20, 15), False), ((12, 40), True), ((16, 50), False)]:
        x = rng.integers(0, 3, size=(n, m)).astype(np.float64) if ints else rng.normal(size=(n, m))
        ti, tj = timing.dtw_cpu(x.copy())
        cases.append({"n": n, "m": m, "x": [float(v) for v in x.ravel()], "text_indices": [int(v) for v in ti],
                      "time_indices": [int(v) for v in tj]})
    return cases


def split_cases():
    cases = []
    en = get_tokenizer(False)
    texts = [" And so, my fellow Americans: ask not what your country can do for you!",
             " \"Hello\" -- it's (really) 3.14... ok?", " I \u2764\ufe0f emoji \U0001F389\U0001F38A and caf\u00e9s",
             " Mr. O'Neil's e-mail: a@b.c; [x]{y}"]
    for text in texts:
        tokens = en.encode(text) + [en.eot]
        words, word_tokens = en.split_to_word_tokens(tokens)
        cases.append({"multilingual": False, "language": "", "tokens": tokens, "words": words,
                      "word_tokens": word_tokens})
    for lang, text in [("zh", "\u6211\u4eec\u662f\u670b\u53cb\uff0c\u4f60\u597d\u5417\uff1f"),
                       ("ja", "\u3053\u3093\u306b\u3061\u306f\u3001\u4e16\u754c\uff01"),
                       ("en", " Hello\u3002 world\u3001\u4f60\u597d")]:
        tok = get_tokenizer(True, language=lang, task="transcribe")
        tokens = tok.encode(text) + [tok.eot]
        words, word_tokens = tok.split_to_word_tokens(tokens)
        cases.append({"multilingual": True, "language": lang, "tokens": tokens, "words": words,
                      "word_tokens": word_tokens})
    for lang in ["en", "zh"]:  # random ids: bytes that stay invalid, and timestamps
        tok = get_tokenizer(True, language=lang, task="transcribe")
        tokens = [int(v) for v in rng.integers(0, tok.eot, size=30)] + [tok.eot]
        words, word_tokens = tok.split_to_word_tokens(tokens)
        cases.append({"multilingual": True, "language": lang, "tokens": tokens, "words": words,
                      "word_tokens": word_tokens})
    return cases


PUNCT_POOL = [" (", "Hello", ",", " \"", "world", "\"", ".", " -", "x", " ", "!?", " \u201c", "\u201d", " \u00bf",
              "\u3002", " [", "]", " '", "'", " it", " is", ":", "\uff0c", " ok", " {", "}", " )", "a "]


def merge_cases():
    cases = []
    for _ in range(40):
        n = prng.randint(0, 9)
        words = [prng.choice(PUNCT_POOL) for _ in range(n)]
        alignment = [timing.WordTiming(w, [i * 10 + k for k in range(prng.randint(1, 2))], 0.0, 0.0, 0.0)
                     for i, w in enumerate(words)]
        before = [{"word": a.word, "tokens": list(a.tokens)} for a in alignment]
        timing.merge_punctuations(alignment, "\"'\u201c\u00bf([{-", "\"'.\u3002,\uff0c!\uff01?\uff1f:\uff1a\u201d)]}\u3001")
        cases.append({"in": before, "out": [{"word": a.word, "tokens": a.tokens} for a in alignment]})
    return cases


WORD_POOL = [" the", " quick", " brown", " fox", ".", ",", " jumps", "!", " over", " (", " lazy", ")", " dog", "?",
             " \"", "Yes", "\"", " I", " said", " \u3002"]


def add_words_cases():
    eot, ts_begin = 50256, 50363
    cases = []
    for case in range(60):
        n_words = prng.randint(0, 14)
        alignment, t, tok = [], 0.0, 0
        for _ in range(n_words):
            t += prng.choice([0.0, 0.0, 0.02, 0.1, 0.5, 1.5, 3.0])  # gaps, some long pauses
            dur = prng.choice([0.0, 0.04, 0.16, 0.3, 0.42, 0.7, 1.2, 2.5])
            n_tok = prng.randint(1, 3)
            alignment.append(timing.WordTiming(prng.choice(WORD_POOL), list(range(tok, tok + n_tok)),
                                               np.float64(round(t, 2)), np.float64(round(t + dur, 2)),
                                               np.float64(prng.random())))
            tok += n_tok
            t += dur
        # split the tokens into 1..3 segments at arbitrary places (possibly inside a word)
        n_seg = prng.randint(1, 3)
        cuts = sorted(prng.sample(range(0, tok + 1), min(n_seg - 1, tok + 1))) if tok else []
        bounds = [0] + cuts + [tok]
        seek = prng.choice([0, 1000, 2999, 12345])
        offset = seek * 160 / 16000
        segments = []
        for s in range(len(bounds) - 1):
            text = list(range(bounds[s], bounds[s + 1]))
            start = offset + prng.choice([0.0, 0.3, 1.0, 2.5, 7.0])
            end = start + prng.choice([0.0, 0.5, 2.0, 6.0, 20.0])
            tokens = [ts_begin + prng.randint(0, 100)] + text + [ts_begin + prng.randint(100, 1500)]
            if prng.random() < 0.2:
                tokens = text
            segments.append({"seek": seek, "start": start, "end": end, "tokens": tokens})
        last_speech = prng.choice([0.0, offset, offset + 1.0, max(0.0, offset - 3.0)])
        if case == 0:  # the segment-start rule's max(0, ...) giving the int 0
            alignment = [timing.WordTiming(w, [k], np.float64(a), np.float64(b), np.float64(0.5))
                         for k, (w, a, b) in enumerate([(" a", 0.0, 0.65), (" b", 0.65, 1.5), (" c", 1.5, 2.3)])]
            segments = [{"seek": 0, "start": 0.6, "end": 2.3, "tokens": [0, 1, 2]}]
            last_speech = 0.0
        given = copy.deepcopy(alignment)

        def fake_find_alignment(*args, **kwargs):
            return copy.deepcopy(given)

        saved = timing.find_alignment
        timing.find_alignment = fake_find_alignment
        try:
            before = copy.deepcopy(segments)

            class Tok:
                pass
            tk = Tok()
            tk.eot = eot
            timing.add_word_timestamps(segments=segments, model=None, tokenizer=tk, mel=None, num_frames=3000,
                                       last_speech_timestamp=last_speech)
        finally:
            timing.find_alignment = saved
        cases.append({
            "alignment": [{"word": a.word, "tokens": a.tokens, "start": float(a.start), "end": float(a.end),
                           "probability": float(a.probability)} for a in alignment],
            "segments_in": before, "last_speech_timestamp": last_speech,
            "segments_out": [{"start": float(s["start"]), "end": float(s["end"]),
                              "words": [{"word": w["word"], "start": float(w["start"]), "end": float(w["end"]),
                                         "probability": float(w["probability"]),
                                         "start_is_int": isinstance(w["start"], int)} for w in s["words"]]}
                             for s in segments]})
    return cases


# The stand-in model's numbers, computed in float64 and rounded to float32 (the C++ test does the
# same): a soft diagonal (token i near frame SLOPE * i) plus hash noise, per head.
def score(h, i, t, slope):
    noise = ((h * 73856093) ^ (i * 19349663) ^ (t * 83492791)) % 1000 / 1000.0
    return -abs(t - slope * i) / (2.0 + h) + 0.5 * noise


def logit(i, v):
    return ((i * 7919 + v * 104729) % 1000) / 100.0


class FakeCrossAttn(torch.nn.Module):
    def __init__(self, qk):
        super().__init__()
        self.qk = qk

    def forward(self, x):
        return x, self.qk


class FakeModel:
    def __init__(self, n_layer, n_head, n_ctx, n_vocab, heads, slope):
        self.device = "cpu"
        self.n = (n_layer, n_head, n_ctx, n_vocab, slope)
        self.dims = type("D", (), {"n_text_layer": n_layer})()
        blocks = []
        for _ in range(n_layer):
            b = torch.nn.Module()
            b.cross_attn = FakeCrossAttn(None)
            blocks.append(b)
        self.decoder = type("Dec", (), {"blocks": blocks})()
        mask = torch.zeros(n_layer, n_head, dtype=torch.bool)
        for l, h in heads:
            mask[l, h] = True
        self.alignment_heads = mask.to_sparse()

    def __call__(self, mel, tokens):
        n_layer, n_head, n_ctx, n_vocab, slope = self.n
        n_tok = tokens.shape[1]
        for l, b in enumerate(self.decoder.blocks):
            qk = np.array([[[score(l * n_head + h, i, t, slope) for t in range(n_ctx)] for i in range(n_tok)]
                           for h in range(n_head)], dtype=np.float32)
            b.cross_attn.qk = torch.from_numpy(qk)[None]
            b.cross_attn(torch.zeros(1))
        i = np.arange(n_tok)[:, None]
        v = np.arange(n_vocab)[None, :]
        logits = (((i * 7919 + v * 104729) % 1000) / 100.0).astype(np.float32)
        return torch.from_numpy(logits)[None]


def find_alignment_cases():
    cases = []
    for multilingual, lang, text, num_frames, slope in [
            (False, "", " And so, my fellow Americans: ask not what your country can do for you.", 220, 3.5),
            (False, "", " Hello \"world\" (again)!", 61, 2.0), (True, "zh", "\u6211\u4eec\u662f\u670b\u53cb\u3002", 90, 4.0),
            (False, "", " One", 9, 1.0)]:
        tok = get_tokenizer(multilingual, language=lang or None, task="transcribe")
        n_layer, n_head, n_ctx = 2, 3, 150
        heads = [(0, 1), (1, 0), (1, 2)]
        n_vocab = 51864 if not multilingual else 51865
        model = FakeModel(n_layer, n_head, n_ctx, n_vocab, heads, slope)
        text_tokens = tok.encode(text)
        out = timing.find_alignment(model, tok, text_tokens, NoMel(), num_frames)
        cases.append({"multilingual": multilingual, "language": lang, "text_tokens": text_tokens,
                      "num_frames": num_frames, "slope": slope, "n_layer": n_layer, "n_head": n_head,
                      "n_ctx": n_ctx, "heads": heads, "sot_sequence": list(tok.sot_sequence),
                      "words": [{"word": w.word, "tokens": w.tokens, "start": float(w.start), "end": float(w.end),
                                 "probability": float(w.probability)} for w in out]})
    return cases


class NoMel:
    """find_alignment only passes mel.unsqueeze(0) on to the model, which ignores it."""

    def unsqueeze(self, _):
        return None


def main():
    data = {"median_filter": median_cases(), "dtw": dtw_cases(), "split": split_cases(), "merge": merge_cases(),
            "add_words": add_words_cases(), "find_alignment": find_alignment_cases()}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
