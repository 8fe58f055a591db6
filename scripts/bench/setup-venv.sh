#!/usr/bin/env bash
# Creates the throw-away Python virtual environment used by the benchmark's Python peer (scripts/bench/peer.py) at
# .cache/vigie/bench-venv (git-ignored). Idempotent: a marker file holds the hash of the requirements below; when it
# matches, nothing is installed again. Prints the venv's python path on its last line.
#
#   onnxruntime==1.32.0          same ORT as Vigie's libonnxruntime.so.1.32.0
#   opencv-python==4.14.0.94     pinned: supervision pulls opencv-python, and an unpinned install brings cv2 5.x
#   supervision==0.29.1          the last release with sv.ByteTrack (0.30 removed it)
#   numpy                        left to pip, so that it is compatible with the three above
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=.cache/vigie/bench-venv
reqs='onnxruntime==1.32.0
opencv-python==4.14.0.94
supervision==0.29.1
numpy'
want=$(printf '%s\n%s\n' "$reqs" "$(python3 -c 'import sys; print(sys.version.split()[0])')" | sha256sum | cut -d' ' -f1)
marker=$venv/.vigie-requirements.sha256

if [ -x "$venv/bin/python" ] && [ "$(cat "$marker" 2>/dev/null)" = "$want" ]; then
  echo "bench-venv: up to date ($venv)" >&2
else
  echo "bench-venv: creating $venv" >&2
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv" >&2 || {
    echo "bench-venv: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2
    rm -rf "$venv"
    exit 1
  }
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  printf '%s\n' "$reqs" > "$venv/requirements.txt"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$venv/requirements.txt" >&2
  # Sanity check: the pinned cv2 (not a 5.x pulled in by a dependency) and sv.ByteTrack must be what imports.
  "$venv/bin/python" - >&2 <<'PY'
import cv2, onnxruntime, supervision as sv
assert cv2.__version__.startswith("4."), f"cv2 {cv2.__version__}: expected 4.x"
assert onnxruntime.__version__ == "1.32.0", onnxruntime.__version__
assert hasattr(sv, "ByteTrack"), "supervision without ByteTrack"
print(f"bench-venv: cv2 {cv2.__version__}, onnxruntime {onnxruntime.__version__}, supervision {sv.__version__}")
PY
  echo "$want" > "$marker"
fi
echo "$PWD/$venv/bin/python"
