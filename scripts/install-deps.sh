#!/usr/bin/env bash
# Installs the Debian packages wisp builds and tests with (see README: what each is for).
set -euo pipefail
pkgs=(build-essential cmake pkg-config libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev
      libsoxr-dev nlohmann-json3-dev libavformat-dev libavcodec-dev libavutil-dev libswresample-dev libcurl4-openssl-dev
      libcpp-httplib-dev
      clang libclang-rt-dev ffmpeg sox espeak-ng)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
