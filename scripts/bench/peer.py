#!/usr/bin/env python3
"""Python peer of Vigie's analysis pipeline, for benchmarks (scripts/bench.sh).

    decode (OpenCV VideoCapture, FFmpeg backend)
    -> sample at the analysis rate (a frame is taken when its timestamp >= the next due time; due += 1/fps so that
       the rate does not drift; the same rule as Vigie's FrameSampler, see Sampler below; --fps 0 = every frame)
    -> NanoDet 416 preprocessing (letterbox keeping the aspect ratio, image at the top-left, padded with black (0)
       pixels, BGR, (p - mean) / std applied to image and padding alike, NCHW float32)
    -> onnxruntime session.run (--threads intra-op threads, 1 inter-op thread, all graph optimisations)
    -> GFL decode (reg_max 10) of the cells whose best kept class reaches the score threshold, class-wise NMS,
       boxes back to source pixels
    -> supervision's sv.ByteTrack (supervision==0.29.1, frame_rate = analysis fps) on sv.Detections

Prints one JSON line. wall_s runs from just before the video is opened to just after the last frame has been
tracked: Python imports and the ONNX Runtime session creation (reported as session_s) are outside it.
Run it with the venv made by scripts/bench/setup-venv.sh.
"""

import argparse
import json
import os
import sys
import time
import warnings
from collections import Counter, defaultdict

import cv2
import numpy as np
import onnxruntime as ort
import supervision as sv

# supervision 0.29 warns that sv.ByteTrack goes away in 0.30; the pin keeps it, the warning is noise here.
warnings.filterwarnings("ignore", message=".*ByteTrack.*deprecated", category=FutureWarning)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

COCO80 = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
]
# Vigie's default kept classes (vigie-core DEFAULT_KEPT): COCO ids 0, 1, 2, 3, 5, 7, 24, 26, 28, 43.
KEPT = ["person", "bicycle", "car", "motorcycle", "bus", "truck", "backpack", "handbag", "suitcase", "knife"]

INPUT_SIZE = 416
INPUT_NAME = "input_1:0"
MEAN = np.array([103.53, 116.28, 123.675], dtype=np.float32)  # BGR
STD = np.array([57.375, 57.12, 58.395], dtype=np.float32)
REG_MAX = 10
# (stride, class-score output, box-regression output)
HEADS = [(8, "Identity:0", "Identity_3:0"), (16, "Identity_1:0", "Identity_4:0"), (32, "Identity_2:0", "Identity_5:0")]
HZ = 90_000  # media clock, as Vigie's Time90k


class Sampler:
    """Vigie's FrameSampler (crates/vigie-video/src/sampler.rs) on 90 kHz ticks: a frame is taken when it has reached
    the due time (up to 1 % of an interval) and is at least half an interval after the last taken frame; the due
    time then advances by one interval from the previous due time (no drift), or re-anchors on this frame after a
    gap longer than an interval; a timestamp that goes backwards restarts it. fps 0 takes every frame."""

    def __init__(self, fps):
        self.interval = HZ / fps if fps > 0 else None
        self.due = self.last = None

    def take(self, t):
        iv = self.interval
        if iv is None:
            return True
        if self.last is not None and t < self.last:
            self.due = self.last = None
        take = self.due is None or self.last is None or (t + iv * 0.01 >= self.due and t - self.last >= iv * 0.5)
        if take:
            self.due = self.due + iv if self.due is not None and t < self.due + iv else t + iv
            self.last = t
        return take


class NanoDet:
    def __init__(self, model, threads, score_thresh, iou_thresh, kept):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(model, sess_options=so, providers=["CPUExecutionProvider"])
        self.output_names = [n for _, c, r in HEADS for n in (c, r)]
        self.score_thresh = score_thresh
        self.iou_thresh = iou_thresh
        self.kept_ids = np.array(sorted(COCO80.index(k) for k in kept), dtype=np.int64)
        self.bins = np.arange(REG_MAX + 1, dtype=np.float32)
        self.centres = {}
        for s, _, _ in HEADS:
            g = INPUT_SIZE // s
            rows, cols = np.divmod(np.arange(g * g, dtype=np.float32), g)
            self.centres[s] = np.stack([(cols + 0.5) * s, (rows + 0.5) * s], axis=1)
        self.canvas = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)  # BGR, as decoded
        p = cv2.dnn.Image2BlobParams()
        p.scalefactor = (*(1.0 / STD).tolist(), 0.0)
        p.mean = (*MEAN.tolist(), 0.0)
        p.size = (INPUT_SIZE, INPUT_SIZE)
        p.swapRB = False
        p.ddepth = cv2.CV_32F
        p.datalayout = cv2.dnn.DNN_LAYOUT_NCHW
        self.blob_params = p
        self.blob = cv2.dnn.blobFromImageWithParams(self.canvas, p)
        self.infer_s = 0.0
        self.pre_s = 0.0
        self.post_s = 0.0

    def preprocess(self, frame):
        """Letterbox into the 416x416 input (top-left, black padding); returns the scale source -> input.

        cv2.dnn.blobFromImageWithParams does the (p - mean) / std, HWC -> NCHW, float32 step in C++ (5x faster than
        the same in numpy, to the last bit), as an efficient Python pipeline would."""
        h, w = frame.shape[:2]
        scale = min(INPUT_SIZE / w, INPUT_SIZE / h)
        nw, nh = min(INPUT_SIZE, round(w * scale)), min(INPUT_SIZE, round(h * scale))
        if nw < INPUT_SIZE or nh < INPUT_SIZE:
            self.canvas[nh:, :] = 0
            self.canvas[:, nw:] = 0
        self.canvas[:nh, :nw] = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_LINEAR)
        self.blob = cv2.dnn.blobFromImageWithParams(self.canvas, self.blob_params)
        return scale

    def detect(self, frame):
        h, w = frame.shape[:2]
        t0 = time.perf_counter()
        scale = self.preprocess(frame)
        t1 = time.perf_counter()
        outs = self.session.run(self.output_names, {INPUT_NAME: self.blob})
        t2 = time.perf_counter()
        self.pre_s += t1 - t0
        self.infer_s += t2 - t1
        try:
            return self.postprocess(outs, w, h, scale)
        finally:
            self.post_s += time.perf_counter() - t2

    def postprocess(self, outs, w, h, scale):
        """GFL decode of the kept cells, class-wise NMS, boxes back to source pixels (w x h)."""
        boxes, scores, classes = [], [], []
        for i, (s, _, _) in enumerate(HEADS):
            cls = outs[2 * i][0]  # [g*g, 80], already sigmoid
            reg = outs[2 * i + 1][0]  # [g*g, 44]
            kc = cls[:, self.kept_ids]  # scores of the kept classes only, as Vigie's decoder
            best = kc.argmax(axis=1)  # the best kept class of each cell
            sc = kc[np.arange(len(best)), best]
            cid = self.kept_ids[best]
            keep = sc >= self.score_thresh
            if not keep.any():
                continue
            r = reg[keep].reshape(-1, 4, REG_MAX + 1)
            r = np.exp(r - r.max(axis=2, keepdims=True))
            dist = (r / r.sum(axis=2, keepdims=True)) @ self.bins * s  # [n, 4]: left, top, right, bottom
            c = self.centres[s][keep]
            boxes.append(np.concatenate([c - dist[:, :2], c + dist[:, 2:]], axis=1))
            scores.append(sc[keep])
            classes.append(cid[keep])
        if not boxes:
            return sv.Detections.empty()
        xyxy = np.concatenate(boxes) / scale
        xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, w)
        xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, h)
        scores = np.concatenate(scores).astype(np.float32)
        classes = np.concatenate(classes).astype(int)
        xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
        idx = cv2.dnn.NMSBoxesBatched(xywh.tolist(), scores.tolist(), classes.tolist(), self.score_thresh,
                                      self.iou_thresh)
        idx = np.asarray(idx, dtype=int).reshape(-1)
        idx = idx[np.argsort(-scores[idx], kind="stable")]
        return sv.Detections(xyxy=xyxy[idx].astype(np.float32), confidence=scores[idx], class_id=classes[idx])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video")
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "nanodet.onnx"))
    ap.add_argument("--fps", type=float, default=5.0, help="analysis rate; 0 = every frame (default 5)")
    ap.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads (default 1)")
    ap.add_argument("--decode-threads", type=int, default=0,
                    help="FFmpeg decoder threads through CAP_PROP_N_THREADS; 0 = OpenCV's default (default 0)")
    ap.add_argument("--score", type=float, default=0.35)
    ap.add_argument("--iou", type=float, default=0.6)
    ap.add_argument("--max-frames", type=int, default=0, help="stop after this many decoded frames (0 = all)")
    args = ap.parse_args()
    if not os.path.exists(args.video):
        sys.exit(f"peer: no such video: {args.video}")

    t0 = time.perf_counter()
    det = NanoDet(args.model, args.threads, args.score, args.iou, KEPT)
    # One warm-up run on a blank input, as a server would have done before its first frame (not timed in infer_s).
    det.session.run(det.output_names, {INPUT_NAME: det.blob})
    session_s = time.perf_counter() - t0
    tracker = sv.ByteTrack(frame_rate=args.fps if args.fps > 0 else 30.0)

    sampler = Sampler(args.fps)
    frames_decoded = frames_analysed = 0
    track_classes = defaultdict(Counter)  # tracker id -> class id votes
    detections_total = 0
    decode_s = track_s = 0.0

    t_start = time.perf_counter()
    params = [cv2.CAP_PROP_N_THREADS, args.decode_threads] if args.decode_threads > 0 else []
    cap = cv2.VideoCapture(args.video, cv2.CAP_FFMPEG, params)
    if not cap.isOpened():
        sys.exit(f"peer: OpenCV cannot open {args.video}")
    decode_threads = cap.get(cv2.CAP_PROP_N_THREADS)
    while True:
        t = time.perf_counter()
        ok, frame = cap.read()
        decode_s += time.perf_counter() - t
        if not ok:
            break
        frames_decoded += 1
        if not sampler.take(round(cap.get(cv2.CAP_PROP_POS_MSEC) * HZ / 1000.0)):
            if args.max_frames and frames_decoded >= args.max_frames:
                break
            continue
        frames_analysed += 1
        d = det.detect(frame)
        detections_total += len(d)
        t = time.perf_counter()
        d = tracker.update_with_detections(d)
        track_s += time.perf_counter() - t
        if d.tracker_id is not None:
            for tid, cid in zip(d.tracker_id.tolist(), d.class_id.tolist()):
                track_classes[tid][cid] += 1
        if args.max_frames and frames_decoded >= args.max_frames:
            break
    cap.release()
    wall_s = time.perf_counter() - t_start

    by_class = Counter(COCO80[votes.most_common(1)[0][0]] for votes in track_classes.values())
    print(json.dumps({
        "frames_decoded": frames_decoded,
        "frames_analysed": frames_analysed,
        "wall_s": round(wall_s, 4),
        "fps_analysed": round(frames_analysed / wall_s, 3) if wall_s > 0 else 0.0,
        "infer_s": round(det.infer_s, 4),
        "infer_ms_mean": round(1000.0 * det.infer_s / frames_analysed, 3) if frames_analysed else 0.0,
        "other_ms_per_analysed_frame": round(1000.0 * (wall_s - det.infer_s) / frames_analysed, 3)
        if frames_analysed else 0.0,
        "track_ids": len(track_classes),
        "tracks_by_class": dict(sorted(by_class.items())),
        "detections": detections_total,
        "stage_s": {"decode": round(decode_s, 4), "preprocess": round(det.pre_s, 4), "infer": round(det.infer_s, 4),
                    "postprocess": round(det.post_s, 4), "track": round(track_s, 4)},
        "session_s": round(session_s, 4),
        "video": os.path.basename(args.video),
        "fps": args.fps,
        "threads": args.threads,
        "decode_threads": decode_threads,
        "versions": {"python": sys.version.split()[0], "onnxruntime": ort.__version__, "opencv": cv2.__version__,
                     "supervision": sv.__version__, "numpy": np.__version__},
    }))


if __name__ == "__main__":
    main()
