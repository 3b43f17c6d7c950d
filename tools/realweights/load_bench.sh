#!/bin/bash
# Load time and peak RSS of the same real tiny.en in every format, one sweep after another.
cd "$(dirname "$0")/../.."  # the repository; the .pt / HF copies come from ct2_to_openai.py / to_hf.py in /tmp
M=$(scripts/fetch-real-model.sh); V=build/real_weights_variants
declare -A P=( [ct2-f16]=$M [ct2-f32]=$V/ctranslate2-f32 [ct2-int8_f16]=$V/ctranslate2-int8_float16 [hf-f16]=/tmp/tiny.en-hf [pt-f16]=/tmp/tiny.en.pt [ggml-f16]=$V/ggml-f16.bin [ggml-f32]=$V/ggml-f32.bin [ggml-q8_0]=$V/ggml-q8_0.bin [ggml-q5_0]=$V/ggml-q5_0.bin )
for sweep in 1 2; do
  for k in ct2-f16 hf-f16 pt-f16 ggml-f16 ct2-f32 ggml-f32 ct2-int8_f16 ggml-q8_0 ggml-q5_0; do
    out=$(build/bin/wisp bench -m ${P[$k]} --only load --reps 5 --threads 1 2>&1)
    ms=$(echo "$out" | grep "^| load" | awk -F'|' '{print $3}')
    rss=$(echo "$out" | grep "peak RSS" | grep -o "[0-9.]* MB")
    echo "sweep $sweep $k load_ms=$ms rss=$rss"
  done
done
cat /proc/loadavg
