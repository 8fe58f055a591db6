#!/usr/bin/env python3
"""How many cameras `vigie serve` sustains on this machine (issue 5's benchmark; `make bench` runs it).

Each camera is a 720p H.264 25 fps stream made from real footage (vtest.avi, the OpenCV pedestrian walkway, scaled
to 1280x720 at 25 fps, a key frame every second, no B-frames), served over RTSP on loopback by GStreamer's RTSP
server (scripts/rtsp-server.py, one session and pipeline per camera, no re-encoding). For N cameras, `vigie serve`
runs with recording on (60 s segments) and analysis at 5 fps (motion gate on, the default), and after a warm-up
its /metrics are sampled twice. N cameras are *sustained* when, over the measured window, every camera
  - received at least 97 % of 25 frames/s (the source was never slowed: recording kept up; recording never drops),
  - lost no recording frame (no recording error, and the recorder's queue did not grow),
  - analysed (detector run or motion gate said still) at least 95 % of 5 frames/s with no analysis frame dropped.
CPU per camera is the vigie process's user+system CPU time over the window divided by N. The baseline measured in
the same run is `ffmpeg -re` reading the same number of RTSP streams with -c copy to null (the cost of receiving
alone), so the ratio says what recording and analysis add.

Usage: scripts/bench/cameras.py --vigie target/release/vigie [--counts 4,8,12,16] [--window 30] [--warmup 10]
                                [--model models/nanodet-int8.onnx]
--model writes `[detector] model = PATH` into the generated configuration (default: the configuration's default
model, models/nanodet.onnx); the int8 model of docs/benchmarks.md is the option for many cameras.
Prints a table and writes bench-out/cameras.json.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def clip(path):
    if os.path.exists(path):
        return path
    src = os.path.join(ROOT, ".cache/vigie/testdata/vtest.avi")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", src, "-vf", "scale=1280:720", "-r", "25", "-c:v", "libx264",
         "-preset", "veryfast", "-crf", "26", "-g", "25", "-bf", "0", "-pix_fmt", "yuv420p", "-an", path + ".part.mp4"],
        check=True)
    os.rename(path + ".part.mp4", path)
    return path


def rtsp_server(path):
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts/rtsp-server.py"), "--file", path, "--port", "0",
                          "--path", "/cam"], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    if not line.startswith("READY "):
        p.kill()
        raise SystemExit(f"cameras bench: rtsp-server said {line!r}")
    return p, line.split()[1]


def metrics(addr):
    with urllib.request.urlopen(f"http://{addr}/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for m in re.finditer(r'^(\w+)\{camera="([^"]+)"\} (\d+)$', text, re.M):
        out.setdefault(m.group(2), {})[m.group(1)] = int(m.group(3))
    return out


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def run_vigie(vigie, url, n, window, warmup, work, model=None):
    cams = "".join(f'[[camera]]\nname = "cam{i:02d}"\nurl = "{url}"\nanalysis_fps = 5.0\n\n' for i in range(n))
    cfg = os.path.join(work, f"cameras-{n}.toml")
    with open(cfg, "w") as f:
        det = f'[detector]\nmodel = {json.dumps(os.path.abspath(model))}\n\n' if model else ""
        f.write(f'[storage]\ndatabase = "{work}/db-{n}.db"\n\n[server]\nrecordings = "{work}/rec-{n}"\n\n{det}{cams}')
    p = subprocess.Popen([vigie, "serve", "--config", cfg, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                         stderr=open(os.path.join(work, f"serve-{n}.log"), "w"), text=True)
    line = p.stdout.readline()
    m = re.search(r"http://(\S+)", line)
    if not m:
        p.kill()
        raise SystemExit(f"cameras bench: vigie serve said {line!r}")
    addr = m.group(1)
    time.sleep(warmup)
    m0, c0, t0 = metrics(addr), cpu_s(p.pid), time.time()
    time.sleep(window)
    m1, c1, t1 = metrics(addr), cpu_s(p.pid), time.time()
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
    dt = t1 - t0
    per = []
    for cam in sorted(m1):
        a, b = m0.get(cam, {}), m1[cam]
        d = {k: b.get(k, 0) - a.get(k, 0) for k in b}
        per.append({
            "camera": cam,
            "received_fps": d.get("vigie_frames_received_total", 0) / dt,
            "analysed_fps": (d.get("vigie_frames_analysed_total", 0) + d.get("vigie_frames_still_total", 0)) / dt,
            "detector_fps": d.get("vigie_frames_analysed_total", 0) / dt,
            "analysis_dropped": d.get("vigie_frames_dropped_total", 0),
            "recording_errors": d.get("vigie_recording_errors_total", 0),
            "record_queue": b.get("vigie_record_queue_frames", 0),
        })
    ok = len(per) == n and all(
        c["received_fps"] >= 0.97 * 25 and c["analysed_fps"] >= 0.95 * 5 and c["analysis_dropped"] == 0
        and c["recording_errors"] == 0 and c["record_queue"] < 50 for c in per)
    return {
        "cameras": n,
        "sustained": ok,
        "cpu_per_camera": (c1 - c0) / dt / n,
        "min_received_fps": min((c["received_fps"] for c in per), default=0),
        "min_analysed_fps": min((c["analysed_fps"] for c in per), default=0),
        "mean_detector_fps": sum(c["detector_fps"] for c in per) / max(1, len(per)),
        "analysis_dropped": sum(c["analysis_dropped"] for c in per),
        "recording_errors": sum(c["recording_errors"] for c in per),
    }


def baseline(url, n, window):
    """ffmpeg receiving N streams with -c copy to null: the cost of RTSP reception alone, per camera."""
    procs = [subprocess.Popen(["ffmpeg", "-v", "error", "-rtsp_transport", "tcp", "-i", url, "-c", "copy", "-f", "null",
                               "-"], stdin=subprocess.DEVNULL) for _ in range(n)]
    time.sleep(3)
    c0 = sum(cpu_s(p.pid) for p in procs)
    time.sleep(window)
    c1 = sum(cpu_s(p.pid) for p in procs)
    for p in procs:
        p.kill()
        p.wait()
    return (c1 - c0) / window / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigie", default=os.path.join(ROOT, "target/release/vigie"))
    ap.add_argument("--counts", default="4,8,12,16")
    ap.add_argument("--window", type=float, default=30)
    ap.add_argument("--warmup", type=float, default=10)
    ap.add_argument("--model", help="detector model written as [detector] model (default: the default model)")
    a = ap.parse_args()
    if a.model and not os.path.exists(a.model):
        raise SystemExit(f"cameras bench: no model {a.model}")
    os.makedirs(os.path.join(ROOT, "bench-out"), exist_ok=True)
    path = clip(os.path.join(ROOT, ".cache/vigie/testdata/vtest-720p25.mp4"))
    server, url = rtsp_server(path)
    work = tempfile.mkdtemp(prefix="vigie-cameras-")
    results = []
    try:
        base = baseline(url, 4, min(a.window, 10))
        for n in [int(x) for x in a.counts.split(",")]:
            r = run_vigie(a.vigie, url, n, a.window, a.warmup, work, a.model)
            r["cpu_per_camera_vs_receive_only"] = r["cpu_per_camera"] / base if base > 0 else None
            results.append(r)
            print(f"cameras {n:3d}: {'sustained' if r['sustained'] else 'NOT sustained':13s} "
                  f"cpu/camera {r['cpu_per_camera']*100:5.1f} % of a core ({r['cpu_per_camera_vs_receive_only']:.1f}x "
                  f"receive-only) received >= {r['min_received_fps']:.1f} fps, analysed >= {r['min_analysed_fps']:.2f} fps "
                  f"(detector {r['mean_detector_fps']:.2f}), analysis drops {r['analysis_dropped']}, "
                  f"recording errors {r['recording_errors']}", flush=True)
            if not r["sustained"]:
                break
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)
    best = max((r["cameras"] for r in results if r["sustained"]), default=0)
    summary = {"model": a.model or "default", "goal_cameras": 16, "sustained_cameras": best,
               "receive_only_cpu_per_camera": base, "runs": results, "cores": os.cpu_count()}
    with open(os.path.join(ROOT, "bench-out/cameras.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(f"cameras: {best} sustained on {os.cpu_count()} cores (goal >= 16); ffmpeg receive-only baseline "
          f"{base*100:.1f} % of a core per camera")


if __name__ == "__main__":
    main()
