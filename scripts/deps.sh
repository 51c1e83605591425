#!/usr/bin/env bash
# Installs the Debian packages the build and tests need. Does nothing when they are all present.
set -euo pipefail
pkgs=(pkg-config libcurl4-openssl-dev libssl-dev zlib1g-dev libavformat-dev libavcodec-dev libavutil-dev
      libswscale-dev ffmpeg python3-venv curl
      make binutils zip unzip  # make package: static libcurl build, objdump/strip, zip tests and the Info-ZIP peer
      chromium time            # report.html rendering test; peak-memory figures in the benchmarks
      libgl1 libglib2.0-0)     # opencv-python, which MegaDetector's validator (megadetector-utils) imports
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
