#!/usr/bin/env bash
# Fetches public test media from the package registries into .cache/vigie/testdata/ (git-ignored):
#   vtest.avi   Debian opencv-doc   (real pedestrian walkway, 768x576, MPEG-4 part 2, 10 fps, 80 s)
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
for f in vtest.avi dog.jpg bus.jpg; do have "$f" || { echo "test-data: missing $f" >&2; exit 1; }; done
echo "test-data: ok ($dir)"
