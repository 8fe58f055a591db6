"""Renders one row per track: crops of the track's box at evenly spaced times, for checking by eye that a track
follows one object (no id switch) and that one object is not split over several tracks.

Usage: track_strips.py VIDEO TRACKS.JSONL OUT.png [--per-track 8] [--min-frames 1]
Needs OpenCV (the benchmark venv has it: scripts/bench/setup-venv.sh).
"""
import argparse
import json

import cv2
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("video")
ap.add_argument("tracks")
ap.add_argument("out")
ap.add_argument("--per-track", type=int, default=8)
ap.add_argument("--min-frames", type=int, default=1)
a = ap.parse_args()

tracks = [json.loads(l) for l in open(a.tracks)]
tracks = [t for t in tracks if t["frames"] >= a.min_frames]
want = {}  # time (ms) -> list of (row, col, box)
for row, t in enumerate(tracks):
    path = t["path"]
    idx = np.linspace(0, len(path) - 1, min(a.per_track, len(path))).round().astype(int)
    for col, i in enumerate(idx):
        ts, cx, cy = path[i]
        want.setdefault(round(ts * 1000), []).append((row, col, cx, cy))

# Box size per track: the best box's size, centred on the path point.
sizes = [(t["best_box"][2] - t["best_box"][0], t["best_box"][3] - t["best_box"][1]) for t in tracks]
cell_w, cell_h = 64, 128
label_w = 150
sheet = np.full((cell_h * len(tracks), label_w + cell_w * a.per_track, 3), 255, np.uint8)
cap = cv2.VideoCapture(a.video)
while True:
    ok, frame = cap.read()
    if not ok:
        break
    ms = round(cap.get(cv2.CAP_PROP_POS_MSEC))
    for key in (ms, ms - 1, ms + 1):
        for row, col, cx, cy in want.pop(key, []):
            w, h = sizes[row]
            x1, y1 = int(max(cx - w / 2, 0)), int(max(cy - h / 2, 0))
            crop = frame[y1 : int(cy + h / 2), x1 : int(cx + w / 2)]
            if crop.size:
                crop = cv2.resize(crop, (cell_w, cell_h))
                sheet[row * cell_h : (row + 1) * cell_h, label_w + col * cell_w : label_w + (col + 1) * cell_w] = crop
for row, t in enumerate(tracks):
    cv2.putText(sheet, f"#{t['track_id']} {t['class']}", (4, row * cell_h + 30), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1)
    cv2.putText(sheet, f"{t['first_s']:.1f}-{t['last_s']:.1f}s", (4, row * cell_h + 55), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    cv2.putText(sheet, f"{t['frames']} frames", (4, row * cell_h + 80), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
cv2.imwrite(a.out, sheet)
print(f"{len(tracks)} tracks -> {a.out}")
