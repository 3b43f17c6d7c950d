#!/usr/bin/env python3
"""Writes src/pipeline/testdata/tokenizer_expected.txt: what openai-whisper's own tokenizer
(whisper/tokenizer.py on top of python-tiktoken) answers, for tokenizer_test.cc to compare ids
against.

It runs whisper's real get_tokenizer / get_encoding, not a re-implementation: tokenizer.py is
loaded by file path (whisper/__init__.py would import torch, which we do not need), and its
`__file__` is pointed at a temporary folder whose assets/ links to the shared .tiktoken files,
so the ranks are exactly the team's data.

Setup (PyPI):
  /usr/bin/python3 -m venv --system-site-packages .venv-tok
  .venv-tok/bin/pip install tiktoken && .venv-tok/bin/pip install --no-deps openai-whisper
Run from the repo root:
  .venv-tok/bin/python tools/tokenizer/make_expected.py [--data ../shared/data]

Output format, one record per line, fields separated by a single tab; texts as hex of their
UTF-8 bytes ("-" when empty), id lists space-separated:
  vocab   <key> <n_vocab> <multilingual 0/1> <num_languages>
  special <key> <name> <id>
  encode  <key> <hex text> <ids>
  nonspeech <key> <ids>
  sot     <key> <language or -> <task or -> <ids>
  decode  <key> <ids> <hex decode()> <hex decode_with_timestamps()>
"""
import argparse
import importlib.util
import os
import random
import sys
import tempfile

import tiktoken  # noqa: F401  (tokenizer.py needs it; fail early with a clear message)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))

# (key, n_vocab): .en, multilingual, large-v3 (100 languages). num_languages as model.py.
VOCABS = [("en", 51864), ("multi", 51865), ("v3", 51866)]

TEXTS = [
    "", " ", "  ", "\n", "\n\n", " \n ", "\t", "a", " a", "  a", "   a", "Hello world",
    " And so my fellow Americans, ask not what your country can do for you, ask what you can "
    "do for your country.",
    "I'm here. You're there. We've won. It's done. He'll go. She'd say. They'd've known.",
    "I'M LOUD. IT'S. 'sam 'tis 're 'VE ''s '''",
    "don’t — curly quotes “like this” aren't contractions",
    "Numbers: 0 1 12 123 1234 12345 3.14159 -42 1,000,000 2024-01-31 10:30am 1st 2nd",
    "½ ² ³ ¼ ⅓ Ⅻ ٣ ४ 五",
    "Punctuation!!! ??? ... ,,, ;;; --- (((nested))) [brackets] {braces} <tags> @#$%^&*",
    "trailing spaces   ", "   leading spaces", "tabs\tand\tmore\t\ttabs", "mixed \t \n whitespace",
    "line one\nline two\r\nline three\n\n\nend", "a\u00a0b\u3000c\u2028d\u2029e\u0085f",
    "Guten Tag! Wie geht's? Äpfel, Öl, Übermut, Straße.",
    "Ça va très bien, merci. L'été dernier, où étais-tu ?",
    "我们今天去公园散步，天气很好。", "今日はいい天気ですね。カタカナとひらがな、漢字。",
    "Привет, как дела? Съешь же ещё этих мягких французских булок.",
    "مرحبا بكم في عالم الذكاء الاصطناعي", "שלום עולם", "नमस्ते दुनिया", "สวัสดีครับ",
    "안녕하세요 여러분", "Ελληνικά γράμματα", "Tiếng Việt có dấu",
    "emoji 😀😃😄 👍🏽 👨‍👩‍👧 🇩🇪 ❤️", "♪ La la la ♪ ♪♪ ♫ ♬ ♩ ♭ ♮ ♯",
    "combining: e\u0301 a\u0308 n\u0303 \u0301\u0301 x\u20dd", "zero\u200bwidth\u200djoiner",
    "[MUSIC] (SPEAKING FOREIGN LANGUAGE) [DAVID] Hey there,", "- Hyphen at start - and 'quotes'",
    "Supercalifragilisticexpialidocious " * 3,
    "pneumonoultramicroscopicsilicovolcanoconiosis" * 4,
    "Donaudampfschifffahrtsgesellschaftskapitänswitwe", "x" * 300, "!" * 200, "7" * 150,
    " " * 40 + "end", "\u00e9" * 120, "中" * 100, "http://example.com/path?q=1&r=2#frag",
    "snake_case_name camelCaseName kebab-case-name CONSTANT_NAME", "C++ std::vector<int> x = {1, 2};",
    "<|endoftext|> is plain text here", "\u0000\u0001\u001f\u007f control",
    "\U0001F600\U0001D400\U00010400 astral", "\ufffd replacement \ufffd\ufffd",
]

# Random strings over pieces chosen to hit the regex's corners (apostrophes next to letters,
# spaces before every class, unusual whitespace, marks, astral characters).
PIECES = [" ", "  ", "\n", "\t", "\r\n", "'", "s", "t", "re", "ve", "ll", "d", "m", "a", "Z", "é",
          "ß", "1", "42", "²", "½", "٣", "!", "?", ".", ",", "-", "—", "’", "中", "日本", "я",
          "\u00a0", "\u3000", "\u2028", "\u0301", "😀", "♪", "🇩🇪", "\u200b", "_", "0x", "ǅ"]


def load_whisper_tokenizer(data_dir):
    spec = importlib.util.find_spec("whisper")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("openai-whisper is not installed: pip install --no-deps openai-whisper")
    path = os.path.join(list(spec.submodule_search_locations)[0], "tokenizer.py")
    module_spec = importlib.util.spec_from_file_location("whisper_tokenizer", path)
    mod = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(mod)
    tmp = tempfile.mkdtemp(prefix="wisp-tok-")
    os.mkdir(os.path.join(tmp, "assets"))
    for name in ("gpt2", "multilingual"):
        src = os.path.abspath(os.path.join(data_dir, f"{name}.tiktoken"))
        if not os.path.exists(src):
            sys.exit(f"missing {src}")
        os.symlink(src, os.path.join(tmp, "assets", f"{name}.tiktoken"))
    mod.__file__ = os.path.join(tmp, "tokenizer.py")  # get_encoding reads dirname(__file__)/assets
    return mod


def hexs(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return b.hex() if b else "-"


def ids(xs):
    return " ".join(map(str, xs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data"))
    ap.add_argument("--out", default=os.path.join(REPO, "src", "pipeline", "testdata",
                                                  "tokenizer_expected.txt"))
    args = ap.parse_args()
    wt = load_whisper_tokenizer(args.data)

    rng = random.Random(1234)
    texts = list(TEXTS)
    for _ in range(110):
        texts.append("".join(rng.choice(PIECES) for _ in range(rng.randint(1, 14))))
    texts.append(" ".join(texts[12:30]))  # one longer paragraph

    out = ["# GENERATED by tools/tokenizer/make_expected.py from openai-whisper's tokenizer.py "
           "and python-tiktoken; do not edit."]
    for key, n_vocab in VOCABS:
        multilingual = n_vocab >= 51865
        num_languages = n_vocab - 51765 - int(multilingual)
        tok = wt.get_tokenizer(multilingual, num_languages=num_languages)
        enc = tok.encoding
        assert enc.n_vocab == n_vocab, (key, enc.n_vocab)
        out.append(f"vocab\t{key}\t{n_vocab}\t{int(multilingual)}\t{num_languages}")
        for name in ("eot", "sot", "translate", "transcribe", "sot_lm", "sot_prev", "no_speech",
                     "no_timestamps", "timestamp_begin"):
            out.append(f"special\t{key}\t{name}\t{getattr(tok, name)}")
        for name in ("<|en|>", "<|zh|>", "<|haw|>", "<|jw|>", "<|su|>", "<|yue|>", "<|30.00|>",
                     "<|1.08|>", "<|0.02|>", "<|29.98|>"):
            if name in enc._special_tokens:
                out.append(f"special\t{key}\t{name}\t{enc._special_tokens[name]}")
        out.append(f"nonspeech\t{key}\t{ids(tok.non_speech_tokens)}")
        if key == "v3":
            continue  # same ranks as "multi": only the special layout differs
        for lang, task in ((None, None), ("en", "transcribe"), ("de", "translate"),
                           ("ja", "transcribe"), ("su", "translate")):
            t2 = wt.get_tokenizer(multilingual, num_languages=num_languages, language=lang,
                                  task=task)
            out.append(f"sot\t{key}\t{lang or '-'}\t{task or '-'}\t{ids(t2.sot_sequence)}")
        for text in texts:
            out.append(f"encode\t{key}\t{hexs(text)}\t{ids(enc.encode_ordinary(text))}")
        # Decoding around specials: timestamps dropped by decode(), kept by the other.
        body = enc.encode_ordinary(" Hello, world!")
        lang_tok = tok.sot + 1  # <|en|> for multilingual; for .en this is <|en|> too (unused)
        for seq in ([tok.sot, lang_tok, tok.transcribe, tok.timestamp_begin] + body +
                    [tok.timestamp_begin + 54, tok.eot],
                    [tok.sot_prev] + body + [tok.sot, tok.no_timestamps, tok.no_speech] + body,
                    [tok.timestamp_begin + 1500, tok.translate, tok.sot_lm]):
            out.append(f"decode\t{key}\t{ids(seq)}\t{hexs(tok.decode(seq))}\t"
                       f"{hexs(tok.decode_with_timestamps(seq))}")
    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes, {len(texts)} texts)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
