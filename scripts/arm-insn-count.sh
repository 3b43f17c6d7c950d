#!/usr/bin/env bash
# Instructions per GEMM on each Arm kernel, counted under qemu-user (-cpu max): the proxy for
# speed this x86 host can give (qemu's instruction counts say nothing of latencies, issue width
# or memory). Needs build-arm/ from scripts/test-arm.sh. Prints the markdown table of
# docs/PERFORMANCE.md's "Arm kernels (issue 13 item 4)". Not part of CI: minutes of emulation.
#   scripts/arm-insn-count.sh [MxKxN ...]   (default: 1500x384x384 1x384x51864 1500x1536x384)
set -euo pipefail
cd "$(dirname "$0")/.."
out=build-arm/insns
mkdir -p "$out"
gcc -shared -fPIC -O2 -fvisibility=hidden -o "$out/libinsncount.so" tools/arm_insns/insn_count_plugin.c
aarch64-linux-gnu-g++ -std=c++17 -O2 -Isrc -o "$out/gemm_insns" tools/arm_insns/gemm_insns.cc \
  build-arm/src/kernels/libwisp_kernels.a build-arm/src/util/libwisp_util.a -lpthread
count() {  # kernel M K N run -> instructions retired by the whole program
  qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu -plugin "$out/libinsncount.so" "$out/gemm_insns" "$@" 2>&1 >/dev/null |
    sed -n 's/^insns: //p'
}
shapes=("$@")
[ ${#shapes[@]} -eq 0 ] && shapes=(1500x384x384 1x384x51864 1500x1536x384)
kernels=(f32 q8-widen sdot i8mm bfdot bfmmla)
echo "$(qemu-aarch64 --version | head -1)"
printf '| M x K x N | multiply-adds |'; for k in "${kernels[@]}"; do printf ' %s |' "$k"; done; echo
printf '|---|---|'; for k in "${kernels[@]}"; do printf -- '---|'; done; echo
for s in "${shapes[@]}"; do
  IFS=x read -r M K N <<<"$s"
  macs=$((M * K * N))
  printf '| %s | %s |' "$s" "$(awk -v m="$macs" 'BEGIN { printf "%.3g M", m / 1e6 }')"
  for k in "${kernels[@]}"; do
    setup=$(count "$k" "$M" "$K" "$N" 0)
    total=$(count "$k" "$M" "$K" "$N" 1)
    # Millions of instructions and multiply-adds per instruction.
    awk -v d=$((total - setup)) -v m="$macs" 'BEGIN { printf " %.1f M (%.1f) |", d / 1e6, m / d }'
  done
  echo
done
