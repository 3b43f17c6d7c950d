#!/usr/bin/env bash
# Cross-compiles util, kernels and ops for aarch64 with Debian's toolchain and runs their tests
# under qemu-user. The f32 kernels on Arm are the generic ones (GCC vector extensions, i.e. NEON);
# the int8 and bf16 GEMMs have Arm kernels (sdot, usmmla, bfdot/bfmmla) chosen by getauxval, so
# their tests run under three CPU models, each asserting which Arm kernels it selected and ran:
#   cortex-a53   armv8.0: none (the generic path)
#   neoverse-n1  dotprod: neon-sdot
#   max          dotprod, i8mm, bf16: all four
# The higher layers are left out (WISP_KERNELS_ONLY): their soxr/ffmpeg/curl dependencies are not
# installed for arm64.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(g++-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user googletest)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
jobs=$(nproc)

cmake -S . -B build-arm -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DWISP_KERNELS_ONLY=ON >/dev/null
cmake --build build-arm -j"$jobs"
# ctest runs each binary through CMAKE_CROSSCOMPILING_EMULATOR (qemu-aarch64 -L sysroot), as a
# Neoverse N1 (QEMU_CPU): int8 ops on sdot, bf16 falling back to f32. Not qemu's default "max":
# its emulated bf16 (soft-float, round to odd) makes ops_test's 1500 x 1500 bf16 attention take
# minutes; the bf16 ops run below without that one case.
QEMU_CPU=neoverse-n1 ctest --test-dir build-arm --output-on-failure -j"$jobs"

# The int8 / bf16 kernel tests under each CPU model; WISP_EXPECT_ARM_KERNELS makes Isa.* fail if
# the model's features did not select (and run) exactly these kernels.
kernel_run() {
  QEMU_CPU="$1" WISP_EXPECT_ARM_KERNELS="$2" qemu-aarch64 -L /usr/aarch64-linux-gnu \
    build-arm/src/kernels/kernels_test --gtest_filter='Isa.*:GemmQ8Int.*:GemmBf16.*' --gtest_brief=1 >build-arm/kernels-"$1".log ||
    { cat build-arm/kernels-"$1".log; echo "kernels_test failed under -cpu $1" >&2; exit 1; }
  echo "-cpu $1: $(grep -o 'int8/bf16 kernels: .*' build-arm/kernels-"$1".log)"
}
kernel_run cortex-a53 ""
kernel_run neoverse-n1 "neon-sdot"
kernel_run max "neon-sdot,neon-i8mm,neon-bfdot,neon-bfmmla"
# The ops on the Arm kernels (int8 on usmmla, bf16 Linear, conv1d and prepared attention on
# bfmmla), minus the one 1500 x 1500 attention case that emulated bf16 makes too slow for CI.
QEMU_CPU=max qemu-aarch64 -L /usr/aarch64-linux-gnu build-arm/src/ops/ops_test \
  --gtest_filter='*Q8*:*Bf16*:-*AttentionFallsBackOrDrifts*' --gtest_brief=1
