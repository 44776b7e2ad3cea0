#!/usr/bin/env bash
# Installs the system packages Hoviyat needs on Debian 12, only those that are
# missing. Safe to run repeatedly. Set HOVIYAT_SKIP_APT=1 to skip.
set -euo pipefail

pkgs=(
  build-essential pkg-config
  libopencv-dev          # gocv: OpenCV 4.6 with the FFmpeg video backend
  libdlib-dev libatlas-base-dev libblas-dev liblapack-dev libjpeg-dev  # go-face (dlib, cblas)
  ffmpeg                 # ffprobe for ingestion probing, test-media generation
  postgresql             # throw-away server for the store tests
  chromium chromium-driver  # browser end-to-end test of the example page
  curl ca-certificates
)

if [ "${HOVIYAT_SKIP_APT:-0}" = 1 ]; then exit 0; fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: system packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
