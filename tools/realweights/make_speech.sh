#!/usr/bin/env bash
# Makes the speech inputs of wisp's real-weight tests (tests/real_weights_test.cc) with espeak-ng
# and sox only, deterministically: re-running gives byte-identical files, so their SHA-256 can be
# checked against the golden (tests/golden/real/tiny.en.json, tools/realweights/make_real_golden.py).
# Another espeak-ng or sox version may speak or resample differently; the test then says so.
#
#   make_speech.sh OUTDIR
#
# Writes into OUTDIR (16-kHz mono 16-bit PCM WAVs):
#   s1.wav .. s8.wav  one sentence each, 3-12 s, each with another voice and speed
#   long.wav          ~3 min: seven passages in varied voices with pauses, 4 s of silence, 33 s of
#                     silence (a whole 30-s window and more), one passage mixed with pink noise
#   gaps.wav          ~46 s: sentences between 5-8 s silences, a one-word murmur, a pink-noise burst:
#                     real tiny.en makes up a run of improbable, overlong words in its second
#                     window, which hallucination_silence_threshold skips (make_decoding_golden.py)
#   sentences.tsv     name<TAB>source text, for every WAV
#   SHA256SUMS        sha256sum of the WAVs and sentences.tsv
# Determinism: sox runs with -R (fixed seeds, for the noise) and -D (no dither, which would be
# random), espeak-ng is deterministic for a given voice, speed and text.
source "$(dirname "$0")/speech_common.sh" "$@"

# say VOICE SPEED TEXT OUT: one utterance, resampled to 16 kHz mono 16-bit. espeak-ng speaks at
# nearly full scale; 0.7 keeps the resampler and the noise mix from clipping.
say() {
  espeak-ng -v "$1" -s "$2" -w "$tmp/raw.wav" "$3"
  "${SOX[@]}" "$tmp/raw.wav" -r 16000 -c 1 -b 16 -e signed-integer "$4" vol 0.7 rate -v
}

# silence SECONDS OUT
silence() {
  "${SOX[@]}" -n -r 16000 -c 1 -b 16 -e signed-integer "$2" trim 0 "$1"
}

tsv="$tmp/sentences.tsv"
: > "$tsv"

# ---- Single sentences: name, voice, speed (words per minute), text ----
sentence() {
  say "$2" "$3" "$4" "$out/$1.wav"
  printf '%s\t%s\n' "$1" "$4" >> "$tsv"
}
sentence s1 en-us 175 "The committee will meet again on Thursday afternoon to review the budget for next year."
sentence s2 en-gb 150 "She walked along the quiet harbour while the fishing boats came home before the storm."
sentence s3 en-us+f3 200 "Please remember to turn off the lights and lock the back door when you leave the office."
sentence s4 en+m3 130 "Science is a way of thinking much more than it is a body of knowledge, and a good scientist is never afraid to say that she does not know the answer yet."
sentence s5 en-gb-scotland 160 "The old lighthouse keeper climbed the stairs every evening to light the lamp."
sentence s6 en-029 140 "We need three volunteers to help carry the tables into the garden tomorrow morning."
sentence s7 en-us-nyc 220 "If the train is late again, I will take a taxi downtown and call you from the station."
sentence s8 en-gb-x-rp+f2 120 "Learning a new language takes patience, practice and a good sense of humor. It helps to listen to the radio every day."

# ---- long.wav: passages and silences in order ----
P1="Good morning everyone, and thank you for joining the weekly planning meeting. Today we will \
look at the schedule for the new library building. The contractors have finished the \
foundation, and the walls on the north side are already up. The south side will follow as \
soon as the steel beams are delivered, which should happen before the end of next week."
P2="The main problem is the delivery of the windows. The supplier told us last week that the \
glass would arrive at the end of the month, but the factory has closed for repairs. We are \
now looking for another company that can deliver sooner. Two of them have sent us an \
offer, and we will compare the prices and the delivery dates on Friday morning."
P3="In the meantime, the team will work on the roof and the electrical wiring. This should keep \
everyone busy for at least three weeks. If the weather stays dry, we might even finish the \
roof early. The electricians have asked for a second set of keys, so that they can start \
before the other workers arrive in the morning."
P4="Now a short word about safety on the site. Everyone must wear a helmet and strong boots at \
all times. Please report any accident to the site manager on the same day, even if nobody \
was hurt. Visitors must sign in at the gate and must never walk around the site without a \
guide. The first aid kit is kept in the blue container next to the main entrance."
P5="Finally, the city council has asked us to present our progress at their meeting next month. \
I would like two volunteers to prepare the slides and the photographs. Please send me an \
email if you are interested. The presentation should not be longer than fifteen minutes, \
and it should explain clearly why the windows will arrive late."
P7="One more thing about the budget. The costs for the foundation were a little higher than \
planned, because the ground was wetter than the survey had shown. We can cover the difference \
from the reserve, but we should be careful with any further changes to the design."
P6="That is all for today. If you have any questions about the schedule, please ask them now or \
write them down for next time. Thank you for your time, and I will see you all again next week."

say en-us 155 "$P1" "$tmp/p1.wav"
say en-gb+m3 180 "$P2" "$tmp/p2.wav"
say en-us+f3 150 "$P3" "$tmp/p3.wav"
say en-gb-scotland 170 "$P4" "$tmp/p4.wav"
say en-us-nyc 140 "$P5" "$tmp/p5.wav"
say en-gb-x-rp 200 "$P7" "$tmp/p7.wav"
say en-029 190 "$P6" "$tmp/p6.wav"
# P4 under pink noise (seeded by -R): RMS ~0.018 against the speech's ~0.075, an SNR of ~12 dB.
"${SOX[@]}" "$tmp/p4.wav" "$tmp/noise.wav" synth pinknoise vol 0.08
"${SOX[@]}" -m -v 1 "$tmp/p4.wav" -v 1 "$tmp/noise.wav" -b 16 "$tmp/p4n.wav"
silence 1 "$tmp/z1.wav"
silence 2 "$tmp/z2.wav"
silence 3 "$tmp/z3.wav"
silence 4 "$tmp/z4.wav"
silence 33 "$tmp/z33.wav"
"${SOX[@]}" "$tmp/z1.wav" "$tmp/p1.wav" "$tmp/z2.wav" "$tmp/p2.wav" "$tmp/z4.wav" "$tmp/p3.wav" "$tmp/z3.wav" "$tmp/p4n.wav" "$tmp/z2.wav" "$tmp/p5.wav" \
  "$tmp/z33.wav" "$tmp/p7.wav" "$tmp/z2.wav" "$tmp/p6.wav" \
  "$tmp/z1.wav" "$out/long.wav"
printf '%s\t%s\n' long "$P1 $P2 $P3 $P4 $P5 $P7 $P6" >> "$tsv"

# ---- gaps.wav: speech, silence, murmurs and noise, where tiny.en hallucinates ----
G1="The meeting starts at nine, and everyone should bring the report."
G2="After lunch we will visit the new building together."
G3="Thank you all for listening."
say en-us 160 "$G1" "$tmp/g1.wav"
say en-gb 400 "zorb" "$tmp/gz.wav"
say en-gb 160 "$G2" "$tmp/g2.wav"
say en-us 120 "mm hmm" "$tmp/gm.wav"
say en-us+f3 150 "$G3" "$tmp/g3.wav"
silence 5 "$tmp/z5.wav"
silence 8 "$tmp/z8.wav"
"${SOX[@]}" -n -r 16000 -c 1 -b 16 -e signed-integer "$tmp/gn.wav" synth 1.5 pinknoise vol 0.15
"${SOX[@]}" "$tmp/g1.wav" "$tmp/z5.wav" "$tmp/gz.wav" "$tmp/z5.wav" "$tmp/g2.wav" "$tmp/z8.wav" "$tmp/gn.wav" \
  "$tmp/z5.wav" "$tmp/gm.wav" "$tmp/z3.wav" "$tmp/g3.wav" "$tmp/z8.wav" "$out/gaps.wav"
printf '%s\t%s\n' gaps "$G1 Zorb. $G2 Mm hmm. $G3" >> "$tsv"

mv "$tsv" "$out/sentences.tsv"
(cd "$out" && sha256sum s1.wav s2.wav s3.wav s4.wav s5.wav s6.wav s7.wav s8.wav long.wav gaps.wav sentences.tsv > SHA256SUMS)
