#!/usr/bin/env bash
# Vigie's benchmark: what `make bench` runs, from the repository root, after `cargo build --release` and the asset
# step. Compares, in one run on the same machine, the same model (models/nanodet.onnx) and 1 inference thread:
#   1. analysed fps on vtest.avi at 5 fps: `vigie analyze` (frames_analysed / timing.pipeline_s; default: one
#      detector worker per core, 1 intra-op thread each) vs the Python peer scripts/bench/peer.py (OpenCV decode +
#      onnxruntime + supervision ByteTrack, 1 session, 1 thread)                              goal: ratio >= 2.0
#      with, for context, Vigie with 1 worker against the same peer, and Vigie's default against the peer given
#      every core (1 session, nproc intra-op threads)
#   2. ms per analysed frame of Vigie's pipeline (1 worker) vs `vigie bench infer` median (session.run alone)
#                                                                                             goal: <= 1.10
#   3. `vigie bench decode` fps vs `ffmpeg -threads 1 -i CLIP -f null -`, on vtest.avi and on a 720p H.264 clip
#      made from ../shared/data/video/car-detection.mp4                                         goal: ratio >= 0.9
#   4. cameras sustained by `vigie serve` (scripts/bench/cameras.py): 720p H.264 25 fps real footage over RTSP on
#      loopback, recording on, analysis at 5 fps; CPU per camera vs ffmpeg receiving the same streams  goal: >= 16
#   5. case-gated track search (`vigie bench search`, issue 8): p50/p95 of the typical queries over 10 M synthetic
#      tracks (VIGIE_BENCH_SEARCH_TRACKS), against the same queries over 1 M tracks            goal: p95 <= 100 ms
# Each measurement runs 3 times (VIGIE_BENCH_ROUNDS), Vigie and its baseline alternating, and the best is kept.
# Results: a table on stdout, bench-out/benchmarks.json, bench-out/benchmarks.md (for docs/benchmarks.md), and every
# command's output under bench-out/logs/.
#
# Usage: scripts/bench.sh [--baselines-only] [--rounds N]
#   --baselines-only  measure only the Python peer and ffmpeg (no vigie binary needed)
# Needs: python3 with venv (the peer's throw-away venv is made by scripts/bench/setup-venv.sh), ffmpeg with libx264.
set -euo pipefail
cd "$(dirname "$0")/.."

vigie=${VIGIE_BIN:-target/release/vigie}
baselines_only=0
for a in "$@"; do [ "$a" = --baselines-only ] && baselines_only=1; done

if [ "$baselines_only" = 0 ] && [ ! -x "$vigie" ]; then
  echo "bench: $vigie not found: run \`make bench\` (it builds the release binary and fetches the assets first)" >&2
  exit 1
fi
for tool in ffmpeg python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found (Debian: apt-get install $tool)" >&2; exit 1; }
done
[ -f models/nanodet.onnx ] || { echo "bench: models/nanodet.onnx missing (run scripts/assets.sh)" >&2; exit 1; }
[ -s .cache/vigie/testdata/vtest.avi ] || scripts/test-data.sh

py=$(scripts/bench/setup-venv.sh | tail -n 1)
mkdir -p bench-out
"$py" scripts/bench/bench.py --vigie "$vigie" "$@"
if [ "$baselines_only" = 0 ]; then
  echo
  echo "bench: cameras sustained by vigie serve (issue 5)"
  python3 scripts/bench/cameras.py --vigie "$vigie" --counts "${VIGIE_BENCH_CAMERAS:-4,8,12,16,20}"
fi
if [ "$baselines_only" = 0 ]; then
  echo
  echo "bench: case-gated track search over ${VIGIE_BENCH_SEARCH_TRACKS:-10000000} synthetic tracks (issue 8)"
  # The databases are generated once under bench-out/ (about 1.7 GB for 10 M tracks, 4 min) and reused.
  "$vigie" bench search --tracks "${VIGIE_BENCH_SEARCH_TRACKS:-10000000}" > bench-out/search.jsonl
fi
if [ "$baselines_only" = 0 ] && [ -d ../shared/data/plates-eu ]; then
  echo
  echo "bench: plate reading on ../shared/data/plates-eu (issue 4)"
  scripts/bench/plates.sh
fi
