#!/usr/bin/env bash
# Cross-compiles util, kernels and ops for aarch64 with Debian's toolchain and runs their tests
# under qemu-user: on Arm only the generic kernels (GCC vector extensions, i.e. NEON) run, and
# this is what checks they stay correct there. The higher layers are left out (WISP_KERNELS_ONLY):
# their soxr/ffmpeg/curl dependencies are not installed for arm64.
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
# ctest runs each binary through CMAKE_CROSSCOMPILING_EMULATOR (qemu-aarch64 -L sysroot).
ctest --test-dir build-arm --output-on-failure -j"$jobs"
# Names the ISAs the kernel tests covered (on aarch64 the test asserts: generic, i.e. NEON, only).
qemu-aarch64 -L /usr/aarch64-linux-gnu build-arm/src/kernels/kernels_test --gtest_filter='Isa.*' --gtest_brief=1 |
  grep "kernels tested on"
