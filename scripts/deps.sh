#!/usr/bin/env bash
# Installs what Vigie needs from Debian/Ubuntu packages, only what is missing (run as root on a fresh machine).
# The Rust toolchain itself (cargo >= 1.85, edition 2024) must already be there: Debian's own cargo is too old.
set -euo pipefail
pkgs=(
  pkg-config clang libclang-dev                      # bindgen for ffmpeg-sys-next
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev libavdevice-dev libavfilter-dev
  ffmpeg                                             # the CLI: test clips and the decode baseline of make bench
  fonts-dejavu-core                                  # labels on snapshots
  python3 python3-venv python3-pip                   # asset fetch (pip download), benchmark peer
  python3-gi gir1.2-gst-rtsp-server-1.0              # scripts/rtsp-server.py: the RTSP server of the ingest tests
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
  gstreamer1.0-libav
  ca-certificates
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "deps: need root to install packages: ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "deps: cargo not found; install a Rust toolchain >= 1.85 (rustup) and re-run" >&2
  exit 1
fi
echo "deps: ok"
