#!/usr/bin/env python3
"""Static int8 quantization of models/nanodet.onnx, calibrated on real frames, and its check against fp32.

Called by scripts/convert-models.sh (in its throw-away venv: onnxruntime==1.32.0, onnx, opencv-python-headless,
numpy). Two subcommands:

  quantize  calibrate on frames of real footage and write the int8 model (QDQ, per-channel s8 weights in 7 bits
            (reduce_range), u8 activations, MinMax calibration: the choice measured in docs/accuracy.md).
  compare   run fp32 and int8 on every other frame of a video (what `vigie analyze` looks at, 5 fps of a 10 fps
            clip), or on a folder of photos (--images), and print the agreement of their detections as one JSON
            line.

The frames are letterboxed and normalised exactly as crates/vigie-vision does for NanoDet (preprocess.rs,
letterbox.rs): BGR, `(p - [103.53, 116.28, 123.675]) / [57.375, 57.12, 58.395]`, aspect kept, `round(side *
scale)`, bilinear (OpenCV INTER_LINEAR convention), image at the top-left, padding with black pixels.

Calibration frames (deterministic): frames 3, 11, 19, ... (every 8th) of vtest.avi, which the agreement check of
`compare` (even frames) never sees, plus evenly spaced frames of each `--video` clip.
"""
import argparse
import json
import os
import sys
import time

import cv2
import numpy as np
import onnxruntime as ort

MEAN = np.array([103.53, 116.28, 123.675], dtype=np.float32)
STD = np.array([57.375, 57.12, 58.395], dtype=np.float32)
SIZE = 416
# The classes `[detector] classes` keeps by default (COCO-80 ids), as vigie_vision::DEFAULT_KEPT.
KEPT = {0: "person", 1: "bicycle", 2: "car", 3: "motorcycle", 5: "bus", 7: "truck", 24: "backpack",
        26: "handbag", 28: "suitcase", 43: "knife"}
# The head's last convolutions (class scores and box distributions of strides 8, 16, 32).
HEAD_CONVS = ["Conv__176", "Conv__178", "Conv__180"]


def letterbox(bgr):
    h, w = bgr.shape[:2]
    scale = min(SIZE / w, SIZE / h)
    nw = min(max(int(round(w * scale)), 1), SIZE)
    nh = min(max(int(round(h * scale)), 1), SIZE)
    img = cv2.resize(bgr, (nw, nh), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    out = np.empty((SIZE, SIZE, 3), dtype=np.float32)
    out[:] = -MEAN / STD
    out[:nh, :nw] = (img - MEAN) / STD
    return np.ascontiguousarray(out.transpose(2, 0, 1)[None]), (nw / w, nh / h)


def read_frames(path, pick):
    """The frames of `path` whose index satisfies `pick(i, n)` (n: frame count), as (index, BGR image)."""
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        sys.exit(f"cannot open {path}")
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    i = 0
    while True:
        ok, f = cap.read()
        if not ok:
            break
        if pick(i, n):
            yield i, f
        i += 1
    cap.release()


def calibration_frames(vtest, videos, per_video):
    frames = [f for _, f in read_frames(vtest, lambda i, n: i % 8 == 3)]
    for v in videos:
        frames += [f for _, f in read_frames(v, lambda i, n: i % max(n // per_video, 1) == 0)][:per_video]
    return frames


class Reader:
    """onnxruntime.quantization.CalibrationDataReader over pre-letterboxed frames."""

    def __init__(self, frames, name):
        self.frames, self.name, self.i = frames, name, 0

    def get_next(self):
        if self.i >= len(self.frames):
            return None
        x, _ = letterbox(self.frames[self.i])
        self.i += 1
        return {self.name: x}

    def rewind(self):
        self.i = 0


def cmd_quantize(a):
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    t0 = time.time()
    frames = calibration_frames(a.vtest, a.video, a.per_video)
    print(f"quantize: {len(frames)} calibration frames", file=sys.stderr)
    pre = a.out + ".pre.onnx"
    # Shape inference and ORT's basic graph optimisations (Pad folded into Conv, constant folding) first, as the
    # ORT quantization guide recommends; the fp32 outputs are unchanged.
    quant_pre_process(a.model, pre, skip_symbolic_shape=True)
    name = ort.InferenceSession(pre, providers=["CPUExecutionProvider"]).get_inputs()[0].name
    exclude = HEAD_CONVS if a.exclude_head else []
    extra = {"CalibMaxIntermediateOutputs": 8}
    if a.calib == "percentile":
        extra["CalibPercentile"] = a.percentile
    quantize_static(
        pre, a.out, Reader(frames, name),
        quant_format=QuantFormat.QDQ if a.format == "qdq" else QuantFormat.QOperator,
        per_channel=a.per_channel,
        activation_type=QuantType.QUInt8 if a.act == "u8" else QuantType.QInt8,
        weight_type=QuantType.QInt8 if a.weight == "s8" else QuantType.QUInt8,
        calibrate_method={"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
                          "entropy": CalibrationMethod.Entropy}[a.calib],
        nodes_to_exclude=exclude,
        reduce_range=a.reduce_range,
        op_types_to_quantize=["Conv", "LeakyRelu", "Concat", "Add", "Resize", "MaxPool"] if a.ops == "all"
        else ["Conv"],
        extra_options=extra,
    )
    os.remove(pre)
    print(f"quantize: wrote {a.out} ({os.path.getsize(a.out) / 1e6:.1f} MB) in {time.time() - t0:.0f} s",
          file=sys.stderr)


def softmax_expect(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return (e * np.arange(x.shape[-1], dtype=np.float32)).sum(-1) / e.sum(-1)


def iou(a, b):
    """IoU matrix of boxes a [N,4] and b [M,4] (x1, y1, x2, y2)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda z: (z[:, 2] - z[:, 0]) * (z[:, 3] - z[:, 1])
    return inter / (area(a)[:, None] + area(b)[None, :] - inter + 1e-9)


def nms(boxes, scores, thr):
    order = np.argsort(-scores)
    keep = []
    while len(order):
        i = order[0]
        keep.append(i)
        if len(order) == 1:
            break
        ov = iou(boxes[i:i + 1], boxes[order[1:]])[0]
        order = order[1:][ov <= thr]
    return keep


def detect(sess, frame, thr=0.35, nms_iou=0.6):
    """Detections of the kept classes as {class_id: (boxes [N,4] in source pixels, scores [N])}."""
    x, (sx, sy) = letterbox(frame)
    outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {sess.get_inputs()[0].name: x})))
    kept = np.array(sorted(KEPT))
    boxes, scores, classes = [], [], []
    for k, s in enumerate([8, 16, 32]):
        g = -(-SIZE // s)
        sc = outs[["Identity:0", "Identity_1:0", "Identity_2:0"][k]][0][:, kept]
        reg = outs[["Identity_3:0", "Identity_4:0", "Identity_5:0"][k]][0]
        best = sc.argmax(1)
        bs = sc[np.arange(len(sc)), best]
        idx = np.nonzero(bs >= thr)[0]
        if len(idx) == 0:
            continue
        d = softmax_expect(reg[idx].reshape(-1, 4, 11)) * s
        cx = (idx % g + 0.5) * s
        cy = (idx // g + 0.5) * s
        b = np.stack([cx - d[:, 0], cy - d[:, 1], cx + d[:, 2], cy + d[:, 3]], 1)
        boxes.append(b)
        scores.append(bs[idx])
        classes.append(kept[best[idx]])
    res = {}
    if not boxes:
        return res
    boxes, scores, classes = np.concatenate(boxes), np.concatenate(scores), np.concatenate(classes)
    h, w = frame.shape[:2]
    boxes = boxes / np.array([sx, sy, sx, sy], dtype=np.float32)
    boxes = np.clip(boxes, 0, [w, h, w, h])
    for c in np.unique(classes):
        m = classes == c
        keep = nms(boxes[m], scores[m], nms_iou)
        res[int(c)] = (boxes[m][keep], scores[m][keep])
    return res


def matched(ref, test, thr=0.5):
    """`ref` boxes matched one-to-one by `test` boxes at IoU >= thr (greedy, best IoU first): a mask over `ref`."""
    m = iou(ref, test)
    hit = np.zeros(len(ref), dtype=bool)
    while m.size and m.max() >= thr:
        i, j = np.unravel_index(m.argmax(), m.shape)
        hit[i] = True
        m[i, :] = -1
        m[:, j] = -1
    return hit


def cmd_compare(a):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    ref = ort.InferenceSession(a.fp32, so, providers=["CPUExecutionProvider"])
    test = ort.InferenceSession(a.int8, so, providers=["CPUExecutionProvider"])
    stats = {}
    frames = 0
    t_ref = t_test = 0.0
    if a.images:
        names = sorted(n for n in os.listdir(a.images) if n.lower().endswith((".jpg", ".jpeg", ".png")))
        source = ((i, cv2.imread(os.path.join(a.images, n))) for i, n in enumerate(names))
    else:
        source = read_frames(a.video, lambda i, n: i % a.every == 0)
    vehicles = {2, 3, 5, 7}
    with_vehicle = [0, 0]
    for i, f in source:
        if a.max_frames and frames >= a.max_frames:
            break
        frames += 1
        t = time.perf_counter()
        r = detect(ref, f)
        t_ref += time.perf_counter() - t
        t = time.perf_counter()
        q = detect(test, f)
        t_test += time.perf_counter() - t
        with_vehicle[0] += bool(vehicles & set(r))
        with_vehicle[1] += bool(vehicles & set(q))
        for c in set(r) | set(q):
            rb, rs = r.get(c, (np.zeros((0, 4)), np.zeros(0)))
            qb, _ = q.get(c, (np.zeros((0, 4)), np.zeros(0)))
            s = stats.setdefault(KEPT[c], [0, 0, 0, []])
            hit = matched(rb, qb)
            s[0] += len(rb)
            s[1] += len(qb)
            s[2] += int(hit.sum())
            s[3] += [float(x) for x in rs[~hit]]
    out = {"source": os.path.basename(os.path.normpath(a.images or a.video)), "frames": frames,
           "frames_with_vehicle": {"fp32": with_vehicle[0], "int8": with_vehicle[1]},
           "fp32_ms": round(1000 * t_ref / max(frames, 1), 1), "int8_ms": round(1000 * t_test / max(frames, 1), 1)}
    for c, (nr, nq, m, missed) in sorted(stats.items()):
        out[c] = {"fp32": nr, "int8": nq, "matched": m,
                  "recall_vs_fp32": round(m / nr, 4) if nr else None,
                  "precision_vs_fp32": round(m / nq, 4) if nq else None,
                  # fp32 scores of the fp32 boxes int8 missed: near the 0.35 threshold means score jitter
                  "missed_fp32_score_median": round(float(np.median(missed)), 3) if missed else None,
                  "missed_fp32_score_below_0.45": sum(x < 0.45 for x in missed)}
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("quantize")
    q.add_argument("--model", default="models/nanodet.onnx")
    q.add_argument("--out", default="models/nanodet-int8.onnx")
    q.add_argument("--vtest", default=".cache/vigie/testdata/vtest.avi")
    q.add_argument("--video", action="append", default=[], help="more calibration footage (repeatable)")
    q.add_argument("--per-video", type=int, default=70, help="frames taken from each --video")
    q.add_argument("--format", choices=["qdq", "qop"], default="qdq")
    q.add_argument("--per-channel", action=argparse.BooleanOptionalAction, default=True)
    q.add_argument("--act", choices=["u8", "s8"], default="u8")
    q.add_argument("--weight", choices=["s8", "u8"], default="s8")
    q.add_argument("--calib", choices=["minmax", "percentile", "entropy"], default="minmax")
    q.add_argument("--percentile", type=float, default=99.999)
    q.add_argument("--reduce-range", action=argparse.BooleanOptionalAction, default=True,
                   help="7-bit weights: avoids the VPMADDUBSW saturation of u8s8 on AVX2 without VNNI")
    q.add_argument("--exclude-head", action=argparse.BooleanOptionalAction, default=False)
    q.add_argument("--ops", choices=["all", "conv"], default="all")
    c = sub.add_parser("compare")
    c.add_argument("--fp32", default="models/nanodet.onnx")
    c.add_argument("--int8", default="models/nanodet-int8.onnx")
    c.add_argument("--video", default=".cache/vigie/testdata/vtest.avi")
    c.add_argument("--images", help="a folder of photos instead of --video")
    c.add_argument("--every", type=int, default=2, help="take every n-th frame (2: 5 fps of vtest.avi)")
    c.add_argument("--max-frames", type=int, default=0)
    a = p.parse_args()
    {"quantize": cmd_quantize, "compare": cmd_compare}[a.cmd](a)


if __name__ == "__main__":
    main()
