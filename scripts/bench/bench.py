#!/usr/bin/env python3
"""Vigie's benchmark, run by scripts/bench.sh (`make bench`) with the bench venv's Python, from the repository root.

Measures in one run, each measurement repeated --rounds times (alternating Vigie and its baseline) keeping the best,
because the machines are shared and noisy:

  1. analysis throughput on vtest.avi at 5 fps, 1 inference thread:
     Vigie `vigie analyze` frames_analysed / timing.pipeline_s  vs  the Python peer (scripts/bench/peer.py)
  2. pipeline overhead: Vigie ms per analysed frame (pipeline_s*1000/frames_analysed) vs `vigie bench infer` median
     ms of session.run alone
  3. decode: `vigie bench decode` fps vs `ffmpeg -threads 1 -i CLIP -f null -` (time from ffmpeg's -benchmark rtime)
     on vtest.avi and on a 720p H.264 clip made from ../shared/data/video/car-detection.mp4

Writes bench-out/benchmarks.json and bench-out/benchmarks.md (the table for docs/benchmarks.md) and prints the table.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time

OUT = "bench-out"
VTEST = ".cache/vigie/testdata/vtest.avi"
CLIP720_SRC = os.environ.get("VIGIE_BENCH_720P_SRC", "../shared/data/video/car-detection.mp4")
CLIP720 = os.path.join(OUT, "car-720p-h264.mp4")
LOGS = os.path.join(OUT, "logs")


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(cmd, name, env=None):
    """Runs cmd, keeps its stdout+stderr under bench-out/logs/NAME.log, returns (stdout, stderr, wall seconds)."""
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    with open(os.path.join(LOGS, name + ".log"), "w") as f:
        f.write("$ " + " ".join(cmd) + "\n--- stdout\n" + p.stdout + "--- stderr\n" + p.stderr)
    if p.returncode != 0:
        tail = "\n".join((p.stderr or p.stdout).strip().splitlines()[-15:])
        sys.exit(f"bench: `{' '.join(cmd)}` failed with status {p.returncode}:\n{tail}\n(log: {LOGS}/{name}.log)")
    return p.stdout, p.stderr, wall


def last_json(text, what):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                break
    sys.exit(f"bench: {what} printed no JSON line; its output was:\n{text[-2000:]}")


def dig(d, path, what):
    cur = d
    for k in path.split("."):
        if not isinstance(cur, dict) or k not in cur:
            sys.exit(f"bench: {what} has no field {path!r}")
        cur = cur[k]
    return cur


# ---------------------------------------------------------------------------------------------------- measurements

def vigie_analyze(vigie, threads, fps, i, workers):
    out = os.path.join(OUT, f"vtest-w{workers}")
    db = os.path.join(OUT, "vigie-bench.db")  # a fresh database each run, outside the user's vigie-data/
    shutil.rmtree(out, ignore_errors=True)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    run([vigie, "analyze", VTEST, "--out", out, "--fps", str(fps), "--threads", str(threads), "--db", db,
         "--workers", str(workers)], f"vigie-analyze-w{workers}-{i}")
    path = os.path.join(out, "summary.json")
    if not os.path.exists(path):
        sys.exit(f"bench: vigie analyze wrote no {path}")
    with open(path) as f:
        s = json.load(f)
    frames = dig(s, "frames_analysed", path)
    pipeline_s = dig(s, "timing.pipeline_s", path)
    tracks = s.get("tracks") if isinstance(s.get("tracks"), dict) else {}
    inference_s = s.get("timing", {}).get("inference_s")
    return {
        "tracks": sum(tracks.values()),
        "tracks_by_class": tracks,
        "inference_ms_mean": 1000.0 * inference_s / frames if inference_s is not None and frames else None,
        "frames_analysed": frames,
        "wall_s": dig(s, "wall_s", path),
        "pipeline_s": pipeline_s,
        "fps_analysed": frames / pipeline_s if pipeline_s > 0 else 0.0,
        "ms_per_frame": 1000.0 * pipeline_s / frames if frames else 0.0,
        "summary": s,
    }


def peer(threads, fps, i):
    out, _, _ = run([sys.executable, "scripts/bench/peer.py", VTEST, "--fps", str(fps), "--threads", str(threads)],
                    f"peer-{i}")
    return last_json(out, "peer.py")


def vigie_infer(vigie, threads, iters, i):
    out, _, _ = run([vigie, "bench", "infer", VTEST, "--iters", str(iters), "--threads", str(threads)],
                    f"vigie-infer-{i}")
    return last_json(out, "vigie bench infer")


def vigie_decode(vigie, clip, tag, i):
    out, _, _ = run([vigie, "bench", "decode", clip, "--threads", "1"], f"vigie-decode-{tag}-{i}")
    return last_json(out, "vigie bench decode")


def ffmpeg_decode(clip, tag, i):
    # -benchmark prints "bench: ... rtime=S" (the decode loop, after the input is opened and probed) at info level;
    # -nostats leaves only the final "frame= N" line. The outer wall time (process start included) is kept too.
    cmd = ["ffmpeg", "-hide_banner", "-nostats", "-loglevel", "info", "-benchmark", "-threads", "1", "-i", clip,
           "-an", "-f", "null", "-"]
    _, err, wall = run(cmd, f"ffmpeg-decode-{tag}-{i}")
    frames = re.findall(r"frame=\s*(\d+)", err)
    rtime = re.findall(r"rtime=([0-9.]+)s", err)
    if not frames:
        sys.exit(f"bench: cannot read the frame count from ffmpeg's output (log: {LOGS}/ffmpeg-decode-{tag}-{i}.log)")
    n = int(frames[-1])
    t = float(rtime[-1]) if rtime else wall
    return {"frames": n, "wall_s": t, "process_wall_s": wall, "fps": n / t if t > 0 else 0.0,
            "timed_by": "ffmpeg -benchmark rtime" if rtime else "process wall time"}


def make_720p():
    if os.path.exists(CLIP720) and os.path.getsize(CLIP720) > 0:
        return CLIP720
    if not os.path.exists(CLIP720_SRC):
        log(f"{CLIP720_SRC} not found: the 720p decode row is skipped (set VIGIE_BENCH_720P_SRC to another video)")
        return None
    log(f"making {CLIP720} (1280x720 H.264) from {CLIP720_SRC}")
    tmp = CLIP720 + ".part.mp4"
    run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", CLIP720_SRC, "-an", "-vf", "scale=1280:720",
         "-c:v", "libx264", "-preset", "medium", "-crf", "23", "-pix_fmt", "yuv420p", tmp], "make-720p")
    os.replace(tmp, CLIP720)
    return CLIP720


# ---------------------------------------------------------------------------------------------------- report

def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def cmd_out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""

    ffv = cmd_out(["ffmpeg", "-version"]).splitlines()
    import onnxruntime
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nproc": int(cmd_out(["nproc"]) or os.cpu_count() or 0),
        "cpu_model": model,
        "kernel": platform.release(),
        "loadavg_at_start": os.getloadavg(),
        "git_commit": cmd_out(["git", "rev-parse", "--short", "HEAD"]),
        "git_dirty": bool(cmd_out(["git", "status", "--porcelain", "--untracked-files=no"])),
        "ffmpeg": ffv[0].split(" Copyright")[0] if ffv else "",
        "python_onnxruntime": onnxruntime.__version__,
    }


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    return f"{v:.2f}{unit}" if abs(v) < 10 else f"{v:.1f}{unit}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vigie", default="target/release/vigie")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("VIGIE_BENCH_ROUNDS", "3")))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--fps", type=float, default=5.0)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--baselines-only", action="store_true",
                    help="measure only the Python peer and ffmpeg (while the vigie binary does not exist)")
    args = ap.parse_args()
    os.makedirs(LOGS, exist_ok=True)
    with_vigie = not args.baselines_only
    fps_arg = f"{args.fps:g}"

    facts = machine()
    clips = [("vtest", VTEST, "vtest.avi 768x576 MS-MPEG4")]
    c720 = make_720p()
    if c720:
        clips.append(("720p", c720, "1280x720 H.264 (car-detection.mp4 upscaled)"))

    runs = {"vigie_analyze": [], "vigie_analyze_w1": [], "peer": [], "peer_2threads": [], "vigie_infer": [],
            "vigie_decode": {}, "ffmpeg_decode": {}}
    for r in range(1, args.rounds + 1):
        log(f"round {r}/{args.rounds}: analysis (vtest.avi, {fps_arg} fps, {args.threads} thread)")
        if with_vigie:
            # Default: one detector worker per core, each session with args.threads intra-op threads.
            runs["vigie_analyze"].append(vigie_analyze(args.vigie, args.threads, fps_arg, r, 0))
        runs["peer"].append(peer(args.threads, fps_arg, r))
        if with_vigie:
            # One worker: the same compute as the peer; also the run whose time per frame goal (2) divides.
            runs["vigie_analyze_w1"].append(vigie_analyze(args.vigie, args.threads, fps_arg, r, 1))
        # The peer with every core for its one session: the fairest comparison with Vigie's default.
        runs["peer_2threads"].append(peer(os.cpu_count() or 2, fps_arg, r))
        if with_vigie:
            log(f"round {r}/{args.rounds}: inference alone ({args.iters} iterations)")
            runs["vigie_infer"].append(vigie_infer(args.vigie, args.threads, args.iters, r))
        for tag, clip, _ in clips:
            log(f"round {r}/{args.rounds}: decode {tag}")
            if with_vigie:
                runs["vigie_decode"].setdefault(tag, []).append(vigie_decode(args.vigie, clip, tag, r))
            runs["ffmpeg_decode"].setdefault(tag, []).append(ffmpeg_decode(clip, tag, r))

    best = {
        "vigie_analyze": max(runs["vigie_analyze"], key=lambda x: x["fps_analysed"]) if with_vigie else None,
        "vigie_analyze_w1": max(runs["vigie_analyze_w1"], key=lambda x: x["fps_analysed"]) if with_vigie else None,
        "peer": max(runs["peer"], key=lambda x: x["fps_analysed"]),
        "peer_2threads": max(runs["peer_2threads"], key=lambda x: x["fps_analysed"]),
        "vigie_infer": min(runs["vigie_infer"], key=lambda x: x["median_ms"]) if with_vigie else None,
        "vigie_decode": {t: max(v, key=lambda x: x["fps"]) for t, v in runs["vigie_decode"].items()},
        "ffmpeg_decode": {t: max(v, key=lambda x: x["fps"]) for t, v in runs["ffmpeg_decode"].items()},
    }

    rows = []

    def row(metric, vigie, baseline, ratio_kind, goal_op, goal, unit, base_name):
        """goal is a string, e.g. "2.0": ratio_kind is how the ratio is formed (vigie / baseline)."""
        ratio = None
        if vigie is not None and baseline:
            ratio = vigie / baseline
        met = None if ratio is None else (ratio >= float(goal) if goal_op == ">=" else ratio <= float(goal))
        rows.append({"metric": metric, "vigie": vigie, "baseline": baseline, "baseline_is": base_name,
                     "unit": unit, "ratio": ratio, "ratio_is": ratio_kind, "goal": f"{goal_op} {goal}", "met": met})

    va, pe, vi = best["vigie_analyze"], best["peer"], best["vigie_infer"]
    v1, p2 = best["vigie_analyze_w1"], best["peer_2threads"]
    ncpu = os.cpu_count() or 2
    row(f"analysed fps, vtest.avi at {fps_arg} fps, Vigie default ({ncpu} detector workers x {args.threads} thread); "
        f"baseline: Python peer, 1 session x {args.threads} thread",
        va and va["fps_analysed"], pe["fps_analysed"], "vigie / peer", ">=", "2.0", "fps",
        "Python peer: OpenCV decode + onnxruntime + supervision ByteTrack")
    row(f"analysed fps, Vigie 1 worker x {args.threads} thread (same compute as the peer); baseline: same peer",
        v1 and v1["fps_analysed"], pe["fps_analysed"], "vigie / peer", ">=", "1.0", "fps",
        "Python peer, 1 thread")
    row(f"analysed fps, Vigie default; baseline: Python peer, 1 session x {ncpu} threads (all cores for the peer too)",
        va and va["fps_analysed"], p2["fps_analysed"], "vigie / peer", ">=", "1.0", "fps",
        f"Python peer, {ncpu} intra-op threads")
    row("ms per analysed frame, pipeline with 1 worker; baseline: `vigie bench infer` median (session.run alone)",
        v1 and v1["ms_per_frame"], vi and vi["median_ms"], "pipeline / infer", "<=", "1.10", "ms",
        "vigie bench infer median ms")
    for tag, _, desc in clips:
        vd = best["vigie_decode"].get(tag)
        row(f"decode fps, 1 thread, {desc}; baseline: ffmpeg CLI", vd and vd["fps"],
            best["ffmpeg_decode"][tag]["fps"], "vigie / ffmpeg", ">=", "0.9", "fps",
            "ffmpeg -threads 1 -i CLIP -f null -")

    info = {
        "peer_infer_ms_mean": pe["infer_ms_mean"],
        "peer_ms_per_analysed_frame": 1000.0 * pe["wall_s"] / pe["frames_analysed"] if pe["frames_analysed"] else None,
        "peer_track_ids": pe["track_ids"],
        "peer_tracks_by_class": pe["tracks_by_class"],
    }
    result = {
        "machine": facts,
        "settings": {"fps": args.fps, "threads": args.threads, "iters": args.iters, "rounds": args.rounds,
                     "selection": "best of the rounds; Vigie and its baseline alternate within each round"},
        "rows": rows,
        "info": info,
        "best": best,
        "runs": runs,
        "baselines_only": args.baselines_only,
    }

    def met_s(m):
        return "n/a" if m is None else ("yes" if m else "NO")

    table = ["| metric | vigie | baseline | ratio | goal | met? |", "|---|---|---|---|---|---|"]
    for r in rows:
        table.append(f"| {r['metric']} | {fmt(r['vigie'], ' ' + r['unit'])} | {fmt(r['baseline'], ' ' + r['unit'])}"
                     f" | {fmt(r['ratio'])} | {r['goal']} | {met_s(r['met'])} |")
    la = facts["loadavg_at_start"]
    le = facts["loadavg_at_end"] = os.getloadavg()
    md = [
        f"Measured {facts['date']} on {facts['cpu_model']}, {facts['nproc']} CPUs (nproc), kernel {facts['kernel']}, "
        f"load average at start {la[0]:.2f}/{la[1]:.2f}/{la[2]:.2f}; commit {facts['git_commit']}"
        f"{' (dirty)' if facts['git_dirty'] else ''}; {facts['ffmpeg']}.",
        "",
        *table,
        "",
        "Ratio = vigie / baseline. "
        f"Each measurement ran {args.rounds} time{'s' if args.rounds != 1 else ''}, Vigie and its baseline "
        "alternating, and the best run of each is kept: the machines are shared and noisy (load average at the end "
        f"{le[0]:.2f}). Vigie's fps is frames_analysed / timing.pipeline_s (the "
        "decode-detect-track-store loop, without report writing); the peer's is frames analysed / wall time from "
        "opening the video to the last frame tracked (imports and session creation excluded). ffmpeg decode time is "
        "its -benchmark rtime.",
        "",
        f"Python peer, best run: {pe['frames_analysed']} frames analysed of {pe['frames_decoded']}, "
        f"{pe['fps_analysed']:.2f} fps, inference {pe['infer_ms_mean']:.1f} ms per frame (session.run), "
        f"{info['peer_ms_per_analysed_frame']:.1f} ms per analysed frame in all, {pe['track_ids']} track ids "
        f"({', '.join(f'{k} {v}' for k, v in pe['tracks_by_class'].items())}); onnxruntime "
        f"{pe['versions']['onnxruntime']}, OpenCV {pe['versions']['opencv']}, supervision "
        f"{pe['versions']['supervision']}.",
    ]
    if va:
        md += ["", f"Vigie, best run: {va['frames_analysed']} frames analysed, pipeline {va['pipeline_s']:.2f} s "
               f"(wall {va['wall_s']:.2f} s), {va['ms_per_frame']:.1f} ms per analysed frame"
               + (f" of which session.run {va['inference_ms_mean']:.1f} ms" if va["inference_ms_mean"] else "")
               + f", {va['tracks']} tracks ({', '.join(f'{k} {v}' for k, v in va['tracks_by_class'].items())}); "
               "inference alone "
               f"median {vi['median_ms']:.1f} ms, mean {vi['mean_ms']:.1f} ms, min {vi['min_ms']:.1f} ms "
               f"over {vi['iters']} iterations."]
    checks = []
    if va and va["frames_analysed"] != pe["frames_analysed"]:
        checks.append(f"Vigie analysed {va['frames_analysed']} frames and the peer {pe['frames_analysed']}: "
                      "the two samplers differ, so the fps are not like for like.")
    for tag, vd in best["vigie_decode"].items():
        fd = best["ffmpeg_decode"][tag]
        if vd.get("frames") != fd["frames"]:
            checks.append(f"decode {tag}: Vigie decoded {vd.get('frames')} frames, ffmpeg {fd['frames']}.")
    if checks:
        md += ["", "**Check:** " + " ".join(checks)]
    result["checks"] = checks
    with open(os.path.join(OUT, "benchmarks.json"), "w") as f:
        json.dump(result, f, indent=2)
    if args.baselines_only:
        md += ["", "Baselines only: the vigie binary was not measured (--baselines-only)."]
    with open(os.path.join(OUT, "benchmarks.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))
    print(f"\nwritten: {OUT}/benchmarks.json, {OUT}/benchmarks.md (logs under {LOGS}/)")


if __name__ == "__main__":
    main()
