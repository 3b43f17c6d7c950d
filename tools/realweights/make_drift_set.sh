#!/usr/bin/env bash
# Makes the drift set: 20 more real-speech files (espeak-ng + sox, deterministic) on which compute
# types are judged (tools/realweights/compute_drift.py, tests/real_weights_test.cc's compute
# budget). The golden's 10 files hold only one long file, and one changed token there cascades
# through the rest of it (each window is conditioned on the previous text), so ten files decide
# a 90 % rule on a single file. These are 4-15 s each: one to four sentences, twelve voices,
# speeds 120-230 words per minute, four mixed with pink noise, three with silence around them.
# Their reference is the exact (compute f32) transcript of the shipped f16 model, which equals
# openai-whisper's on the golden's files (real_weights_test); no Python is needed.
#
#   make_drift_set.sh OUTDIR      writes d01.wav .. d20.wav, sentences.tsv, SHA256SUMS
source "$(dirname "$0")/speech_common.sh" "$@"

tsv="$tmp/sentences.tsv"
: > "$tsv"

# clip NAME VOICE SPEED EFFECT TEXT. EFFECT: clean, noise (pink noise 22 dB below the speech's
# peak level), pad (1.5 s of silence before, 2 s after).
clip() {
  local name=$1 voice=$2 speed=$3 effect=$4 text=$5
  espeak-ng -v "$voice" -s "$speed" -w "$tmp/raw.wav" "$text"
  "${SOX[@]}" "$tmp/raw.wav" -r 16000 -c 1 -b 16 -e signed-integer "$tmp/speech.wav" vol 0.7 rate -v
  case "$effect" in
    clean) cp "$tmp/speech.wav" "$out/$name.wav" ;;
    pad) "${SOX[@]}" "$tmp/speech.wav" "$out/$name.wav" pad 1.5 2 ;;
    noise)
      local len
      len=$(soxi -D "$tmp/speech.wav")
      "${SOX[@]}" -n -r 16000 -c 1 -b 16 -e signed-integer "$tmp/noise.wav" synth "$len" pinknoise vol 0.055
      "${SOX[@]}" -m "$tmp/speech.wav" "$tmp/noise.wav" "$out/$name.wav"
      ;;
  esac
  printf '%s\t%s\n' "$name" "$text" >> "$tsv"
}

clip d01 en-us 160 clean "The bakery on the corner opens at six, and by seven there is usually a line of people waiting outside for fresh bread."
clip d02 en-gb 175 clean "Our flight was delayed by two hours, so we spent the afternoon reading in the airport cafe."
clip d03 en-us+m2 140 noise "The river rose quickly after the heavy rain, and the farmers moved their animals to higher ground."
clip d04 en-gb-x-rp 190 clean "Could you send me the report by Monday? I would like to read it before the meeting with the directors."
clip d05 en-us+f2 210 pad "Turn left at the second traffic light, then drive straight on for about a mile until you see the school."
clip d06 en+m4 125 clean "Every winter the birds fly south across the mountains, and every spring they return to the same old trees by the lake."
clip d07 en-gb-scotland 150 noise "The museum will be closed for repairs from the first of June until the end of August."
clip d08 en-us-nyc 230 clean "I tried calling you three times yesterday, but the line was busy, so I left a message with your brother."
clip d09 en-029 165 clean "The children built a small wooden boat and sailed it across the pond in the park. It sank halfway, but nobody minded."
clip d10 en+f4 145 pad "Remember to water the tomatoes twice a week during the summer, especially when it is hot and dry."
clip d11 en-us 185 clean "The new software update fixes several problems with the printer and makes the whole system start faster. Please install it before Friday, and restart your computer afterwards."
clip d12 en-gb+m3 135 noise "A thick fog covered the valley this morning, and the buses were running more than twenty minutes late."
clip d13 en-us+f3 170 clean "My grandmother taught me how to bake apple pie, and I still use her recipe every autumn when the apples are ripe."
clip d14 en-gb-x-rp+m1 155 clean "The orchestra practised for six weeks before the concert. On the night itself, the hall was full, and the audience asked for two encores."
clip d15 en-us+m3 200 pad "Please keep your ticket until the end of the journey, because the inspector may ask to see it."
clip d16 en+f2 120 clean "The small village had one shop, one school and one church, and everybody knew everybody else by name."
clip d17 en-gb 180 noise "We will need more chairs for the party on Saturday. Ask the neighbours if we can borrow some of theirs."
clip d18 en-us 150 clean "Scientists have discovered a new species of frog in the rain forest. It is smaller than a coin and sings at night. They hope to learn how it survives the long dry season. The team will return next year with better equipment."
clip d19 en-gb-scotland+f3 190 clean "The hotel offers breakfast from seven until ten, and the swimming pool is open all day."
clip d20 en-us+m4 175 clean "After the storm, the whole street helped to clear the fallen branches, and by the evening the road was open again."

cp "$tsv" "$out/sentences.tsv"
(cd "$out" && sha256sum d??.wav sentences.tsv > SHA256SUMS)
