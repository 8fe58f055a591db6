"""Renders one row per event of a `vigie analyze` output: 10 crops of the event's first track, evenly spaced from
1.5 s before the event's start to its end, each labelled with its time and the box centre's x. It shows at a glance
whether the same person really did what the event says (walked against the direction, stayed) or whether the box
jumped from one person to another (an id switch). Used for the rules' false alarms in docs/accuracy.md.

Usage: event_strips.py VIDEO OUT_DIR OUT.png [--rule PREFIX]
OUT_DIR is the folder `vigie analyze --out` wrote (events.jsonl, and vigie.db when --db pointed into it, or --db).
Needs OpenCV (the benchmark venv has it: scripts/bench/setup-venv.sh).
"""
import argparse
import json
import os
import sqlite3

import cv2
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("video")
ap.add_argument("out_dir")
ap.add_argument("out")
ap.add_argument("--rule", default="", help="only events whose rule id starts with this")
ap.add_argument("--db", default=None, help="the run's database (default OUT_DIR/vigie.db)")
a = ap.parse_args()

events = [json.loads(l) for l in open(os.path.join(a.out_dir, "events.jsonl"))]
ends = {e["id"]: e for e in events if e["phase"] == "end"}
starts = [e for e in events if e["phase"] == "start" and e["rule"].startswith(a.rule) and e["track_ids"]]
db = sqlite3.connect(a.db or os.path.join(a.out_dir, "vigie.db"))
run_id = db.execute("select max(id) from analysis_run").fetchone()[0]
cap = cv2.VideoCapture(a.video)
rows = []
for e in starts:
    tid = e["track_ids"][0]
    t0 = max(0.0, e["start"] - 1.5)
    t1 = ends[e["id"]]["end"] if e["id"] in ends else e["at"]
    boxes = db.execute(
        "select t_90k, x1, y1, x2, y2 from track_box where run_id = ? and track_id = ? and t_90k between ? and ? "
        "order by t_90k",
        (run_id, tid, int(t0 * 90000), int(t1 * 90000)),
    ).fetchall()
    if not boxes:
        continue
    cells = []
    for i in np.linspace(0, len(boxes) - 1, min(10, len(boxes))).round().astype(int):
        t, x1, y1, x2, y2 = boxes[i]
        cap.set(cv2.CAP_PROP_POS_MSEC, t / 90.0)
        ok, frame = cap.read()
        if not ok:
            continue
        h, w = frame.shape[:2]
        crop = frame[max(0, int(y1) - 10) : min(h, int(y2) + 10), max(0, int(x1) - 10) : min(w, int(x2) + 10)]
        crop = cv2.resize(crop, (80, 160))
        cv2.putText(crop, "%.1f x%d" % (t / 90000, (x1 + x2) / 2), (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1)
        cells.append(crop)
    cells += [np.zeros((160, 80, 3), np.uint8)] * (10 - len(cells))
    label = np.zeros((160, 120, 3), np.uint8)
    cv2.putText(label, e["rule"][:14], (2, 70), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1)
    cv2.putText(label, "#%d" % tid, (2, 95), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
    rows.append(np.hstack([label] + cells))
if not rows:
    raise SystemExit("no event to draw")
cv2.imwrite(a.out, np.vstack(rows))
print("%d events -> %s" % (len(rows), a.out))
