#!/usr/bin/env python3
"""Writes src/pipeline/testdata/word_writers_expected.json: the bytes openai-whisper's writers
(whisper/utils.py WriteVTT, WriteSRT, WriteJSON, v20250625) produce for crafted results with word
timestamps, under the command line's writer options (highlight_words, max_line_width,
max_line_count, max_words_per_line), for src/pipeline/word_subtitles_test.cc.

Run by hand from the repo root: .venv/bin/python tools/golden/make_word_writers_expected.py

The results exercise: words with and without leading spaces, long pauses (> 3 s), punctuation,
non-ASCII words (python's len counts code points), a word holding "-->" (kept on the word path),
a segment without words, the int 0 start that one add_word_timestamps rule produces, times that
round at the millisecond, and a result whose segments all have empty words.
"""

import io
import json
import os

from whisper.utils import WriteJSON, WriteSRT, WriteVTT

OUT = "src/pipeline/testdata/word_writers_expected.json"


def seg(i, seek, start, end, text, words):
    return {"id": i, "seek": seek, "start": start, "end": end, "text": text, "tokens": [50364, 400, 50400],
            "temperature": 0.0, "avg_logprob": -0.25, "compression_ratio": 1.5, "no_speech_prob": 0.01,
            "words": [{"word": w, "start": s, "end": e, "probability": p} for w, s, e, p in words]}


RESULTS = {
    "speech": {"text": " And so my fellow Americans, ask not. What -->\u00e9t\u00e9 caf\u00e9s? Yes!", "language": "en",
               "segments": [
                   seg(0, 0, 0.0, 4.2, " And so my fellow Americans, ask not.",
                       [(" And", 0, 0.5, 0.9), (" so", 0.5, 0.84, 0.8), (" my", 0.84, 1.2, 0.95),
                        (" fellow", 1.2, 1.6, 0.6), (" Americans,", 1.6, 2.3, 0.99), (" ask", 2.9, 3.3, 0.5),
                        (" not.", 3.3, 4.2, 0.7)]),
                   seg(1, 0, 8.0, 11.5, " What -->\u00e9t\u00e9 caf\u00e9s?",
                       [(" What", 8.0, 8.4, 0.4), (" -->\u00e9t\u00e9", 8.4, 9.0005, 0.3),
                        (" caf\u00e9s?", 9.0005, 11.5, 0.25)]),
                   seg(2, 1150, 11.5, 12.0, "", []),
                   seg(3, 1150, 12.0, 13.14, " Yes!", [("Yes!", 12.0, 13.14, 0.125)]),
                   seg(4, 1150, 18.5, 19.9, " a b c d e f g",
                       [(" a", 18.5, 18.7, 1.0), (" b", 18.7, 18.9, 1.0), (" c", 18.9, 19.1, 1.0),
                        (" d", 19.1, 19.3, 1.0), (" e", 19.3, 19.5, 1.0), (" f", 19.5, 19.7, 1.0),
                        (" g", 19.7, 19.9, 1.0)]),
               ]},
    "hours": {"text": " Late words here", "language": "en",
              "segments": [seg(0, 360000, 3600.0, 3605.25, " Late words here",
                               [(" Late", 3600.0, 3601.0, 0.5), (" words", 3601.5, 3603.0, 0.5),
                                (" here", 3604.0, 3605.25, 0.5)])]},
    "no_words": {"text": "", "language": "en", "segments": [seg(0, 0, 0.0, 2.0, "", []), seg(1, 0, 2.0, 3.0, "", [])]},
}

OPTIONS = {
    "default": {},
    "highlight": {"highlight_words": True},
    "width12": {"max_line_width": 12},
    "width12_count2": {"max_line_width": 12, "max_line_count": 2},
    "width20_count1_highlight": {"max_line_width": 20, "max_line_count": 1, "highlight_words": True},
    "words3": {"max_words_per_line": 3},
    "words2_count2": {"max_words_per_line": 2, "max_line_count": 2},
    "words2_width15": {"max_words_per_line": 2, "max_line_width": 15},
    "count3": {"max_line_count": 3},
}


def render(writer_cls, result, options):
    f = io.StringIO()
    writer_cls(".").write_result(result, file=f, options=options)
    return f.getvalue()


def main():
    # transcribe() returns dict(text=, segments=, language=): json.dump keeps that key order.
    for r in RESULTS.values():
        language = r.pop("language")
        r["language"] = language
    out = {"results": RESULTS, "options": OPTIONS, "expected": []}
    for rname, result in RESULTS.items():
        out["expected"].append({"result": rname, "format": "json", "options": "default",
                                "text": render(WriteJSON, result, {})})
        for oname, options in OPTIONS.items():
            for fmt, cls in (("vtt", WriteVTT), ("srt", WriteSRT)):
                out["expected"].append({"result": rname, "format": fmt, "options": oname,
                                        "text": render(cls, result, dict(options))})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
