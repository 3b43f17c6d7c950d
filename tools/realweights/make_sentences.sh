#!/usr/bin/env bash
# Makes the short sentences of the short-audio measurements (docs/PERFORMANCE.md, "Short-audio
# encoder") and of tests/real_short_audio_test.cc with espeak-ng and sox only, deterministically
# (byte-identical on every run; the test checks the SHA-256 sums against its golden): twelve
# one-sentence clips of 2-6 s, each with another voice and speed, so that a window holding much
# less than 30 s of audio is decoded on a real model.
#
#   make_sentences.sh OUTDIR
#
# Writes into OUTDIR (16-kHz mono 16-bit PCM WAVs): c01.wav .. c12.wav, z01.wav (5 s of digital
# silence), z02.wav (4 s of seeded pink noise at the level of long.wav's noisy passage: a short
# window must not invent text where the full one finds none), sentences.tsv (name<TAB>source
# text; empty for z01, z02) and SHA256SUMS. The same conventions as make_speech.sh: sox -R (fixed
# seeds) -D (no dither), volume 0.7, and 0.3 s of silence before and after each sentence (a
# recording rarely starts exactly on the first word).
source "$(dirname "$0")/speech_common.sh" "$@"

tsv="$tmp/sentences.tsv"
: > "$tsv"

# sentence NAME VOICE SPEED TEXT
sentence() {
  espeak-ng -v "$2" -s "$3" -w "$tmp/raw.wav" "$4"
  "${SOX[@]}" "$tmp/raw.wav" -r 16000 -c 1 -b 16 -e signed-integer "$out/$1.wav" vol 0.7 rate -v pad 0.3 0.3
  printf '%s\t%s\n' "$1" "$4" >> "$tsv"
}
sentence c01 en-us 170 "Turn left at the next corner."
sentence c02 en-gb 150 "The meeting has been moved to Monday."
sentence c03 en-us+f3 180 "Could you send me the report before lunch?"
sentence c04 en+m3 140 "It is raining again in the city, so bring an umbrella."
sentence c05 en-gb-x-rp 160 "Thank you all for coming here tonight."
sentence c06 en-029 150 "The bus leaves at half past seven every morning."
sentence c07 en-us-nyc 190 "I left my keys on the kitchen table."
sentence c08 en-gb-x-rp+f2 130 "Please call me when you get home."
sentence c09 en-us+m2 160 "The price of bread went up last week, and nobody was happy about it."
sentence c10 en-gb+f4 175 "Our team won the final match by two goals after a long and difficult season."
sentence c11 en-us 200 "Open the window, it is far too warm in this room."
sentence c12 en-gb-x-gbclan 170 "The museum is closed on public holidays, but the garden stays open until sunset."


"${SOX[@]}" -n -r 16000 -c 1 -b 16 -e signed-integer "$out/z01.wav" trim 0 5
printf 'z01\t\n' >> "$tsv"
"${SOX[@]}" -n -r 16000 -c 1 -b 16 -e signed-integer "$out/z02.wav" synth 4 pinknoise vol 0.08
printf 'z02\t\n' >> "$tsv"

cp "$tsv" "$out/sentences.tsv"
(cd "$out" && sha256sum c*.wav z*.wav sentences.tsv > SHA256SUMS)
