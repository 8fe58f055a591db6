#!/usr/bin/env bash
# Fetches public test media from the package registries into .cache/vigie/testdata/ (git-ignored):
#   vtest.avi   Debian opencv-doc   (real pedestrian walkway, 768x576, MPEG-4 part 2, 10 fps, 80 s)
#   vtest.mp4   the same, re-encoded to H.264 (key frame every second): the demo camera of config/demo.toml
#   dog.jpg, person.jpg, horses.jpg   Debian darknet (data/)
#   bus.jpg, zidane.jpg               PyPI ultralytics (assets/), wheel pinned by version
# The footage under ../shared/data/ is used in place; it is never copied into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.cache/vigie/testdata
mkdir -p "$dir/deb"
have() { [ -s "$dir/$1" ]; }

if ! have vtest.avi || ! have dog.jpg; then
  if [ -f /usr/share/doc/opencv-doc/examples/data/vtest.avi ]; then
    cp /usr/share/doc/opencv-doc/examples/data/vtest.avi "$dir/vtest.avi"
  fi
  for pkg in opencv-doc darknet; do
    (cd "$dir/deb" && { apt-get download "$pkg" >/dev/null 2>&1 || { apt-get update -qq && apt-get download "$pkg" >/dev/null; }; })
  done
  for deb in "$dir"/deb/*.deb; do dpkg-deb -x "$deb" "$dir/deb/root"; done
  have vtest.avi || cp "$dir"/deb/root/usr/share/doc/opencv-doc/examples/data/vtest.avi "$dir/vtest.avi"
  for f in dog.jpg person.jpg horses.jpg; do
    src=$(find "$dir/deb/root" -path "*data/$f" | head -n 1)
    [ -n "$src" ] && cp "$src" "$dir/$f"
  done
fi
if ! have bus.jpg; then
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$dir/deb" ultralytics==8.3.40
  python3 - "$dir" <<'PY'
import glob, sys, zipfile
d = sys.argv[1]
with zipfile.ZipFile(glob.glob(f"{d}/deb/ultralytics-*.whl")[0]) as z:
    for name in ("bus.jpg", "zidane.jpg"):
        with open(f"{d}/{name}", "wb") as out:
            out.write(z.read(f"ultralytics/assets/{name}"))
PY
fi
# The demo camera of `make run` (config/demo.toml): vtest.avi as H.264 with a key frame every second and no B-frames
# (as most cameras send), so that it is recorded by remux and cut into segments like a camera's stream.
if ! have vtest.mp4; then
  ffmpeg -v error -y -i "$dir/vtest.avi" -c:v libx264 -preset veryfast -crf 23 -g 10 -bf 0 -pix_fmt yuv420p -an \
    "$dir/vtest.mp4.part.mp4" && mv "$dir/vtest.mp4.part.mp4" "$dir/vtest.mp4"
fi
for f in vtest.avi vtest.mp4 dog.jpg bus.jpg; do have "$f" || { echo "test-data: missing $f" >&2; exit 1; }; done
echo "test-data: ok ($dir)"
