#!/usr/bin/env bash
# End-to-end tests of the console (issue 6): a `vigie serve` with a file camera of real footage (vtest.mp4, people
# walking) and an intrusion rule, users made with `vigie user add`, then the Playwright tests of e2e/ in headless
# Chromium (Debian's /usr/bin/chromium; `npx playwright install` cannot download browsers here).
#
# Builds nothing: uses $VIGIE_BIN, else target/debug/vigie. Needs .cache/vigie/testdata/vtest.mp4 (make test-data)
# and the models/runtime of `make assets`. Screenshots, the server's log and the test report go to e2e/out/.
# Exit status: that of the tests (non-zero on any failure).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=${VIGIE_BIN:-target/debug/vigie}
case $bin in /*) ;; *) bin=$root/$bin ;; esac
chromium=${CHROMIUM:-/usr/bin/chromium}
footage=$root/.cache/vigie/testdata/vtest.mp4
out=$root/e2e/out

die() { echo "e2e: $*" >&2; exit 2; }
# Chromium and Node from Debian, when missing (as root, like scripts/deps.sh).
if { [ ! -x "$chromium" ] || ! command -v npm >/dev/null; } && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get install -y -qq chromium nodejs npm >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium nodejs npm >/dev/null; }
fi
[ -x "$bin" ] || die "no vigie binary at $bin (cargo build -p vigie, or set VIGIE_BIN)"
[ -x "$chromium" ] || die "no Chromium at $chromium (apt-get install chromium)"
[ -s "$footage" ] || die "no $footage (make test-data)"
command -v npm >/dev/null || die "node/npm missing (apt-get install nodejs npm)"
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] || die "playwright-core needs Node >= 20 (have $(node --version))"

# playwright-core, pinned by e2e/package-lock.json, into e2e/node_modules (git-ignored).
want=$(node -p "require('./e2e/package-lock.json').packages['node_modules/playwright-core'].version")
have=$(node -p "try { require('./e2e/node_modules/playwright-core/package.json').version } catch { '' }")
if [ "$want" != "$have" ]; then
  (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

rm -rf "$out"
mkdir -p "$out"
tmp=$(mktemp -d -t vigie-e2e.XXXXXX)
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Two cameras: "walkway" (analysed; forbidden zones over the walkway's two halves, so that people walking through
# raise two intrusion alerts within seconds: one to confirm, one to dismiss) and "lobby" (the same footage, not analysed) for the per-camera rights.
cat >"$tmp/vigie.toml" <<TOML
[runtime]
onnxruntime = "$root/.cache/vigie/lib/libonnxruntime.so.1.32.0"

[detector]
model = "$root/models/nanodet.onnx"
workers = 1

[storage]
database = "$tmp/vigie.db"

[server]
listen = "127.0.0.1:0"
recordings = "$tmp/recordings"
snapshots = "$tmp/snapshots"
segment_s = 10
operator = "Ville d'exemple, police municipale"
rights_contact = "dpo@ville.example"

# A parking zone on the walkway camera, so that the parking agent's queue is served (empty: plates are not read
# live yet).
[plates]
enabled = true

[[parking]]
name = "quay-1"
polygon = [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]]
paid_hours = ["mon-sun 00:00-24:00"]
camera = "walkway"

[[camera]]
name = "walkway"
file = "$footage"
place = "Passage piéton, rue de la Gare"
purpose = "Sécurité des personnes"

[[camera.zone]]
id = "walkway-right"
polygon = [[0.45, 0.2], [1.0, 0.2], [1.0, 0.95], [0.45, 0.95]]

[[camera.zone]]
id = "walkway-left"
polygon = [[0.0, 0.25], [0.45, 0.25], [0.45, 0.9], [0.0, 0.9]]

[[camera.line]]
id = "middle"
from = [0.5, 0.0]
to = [0.5, 1.0]

[[camera.rule]]
id = "walkway-right-presence"
type = "intrusion"
zones = ["walkway-right"]
classes = ["person"]
min_duration_s = 1.0

[[camera.rule]]
id = "walkway-left-presence"
type = "intrusion"
zones = ["walkway-left"]
classes = ["person"]
min_duration_s = 1.0

[[camera]]
name = "lobby"
file = "$footage"
analyse = false
record = false
TOML

# Users: password on stdin.
export E2E_PASSWORD=${E2E_PASSWORD:-vigie-e2e-Pa55word}
add_user() { # name role [cameras]
  local args=(user add "$1" --role "$2" --config "$tmp/vigie.toml")
  [ -n "${3:-}" ] && args+=(--cameras "$3")
  printf '%s\n' "$E2E_PASSWORD" | "$bin" "${args[@]}" >>"$out/users.log" 2>&1
}
users=("op1 operator" "sup1 supervisor" "park1 parking_agent" "op-lobby operator lobby" "admin1 admin" "inv2 investigator"
       "inv-other investigator" "audit1 auditor")
"$bin" user add --help >/dev/null 2>&1 || die "$bin has no 'vigie user add' (rebuild it)"
for u in "${users[@]}"; do add_user $u || { cat "$out/users.log" >&2; die "vigie user add $u failed"; }; done

# The legal scope of the analytics (issue 7): without a valid authorisation the intrusion rules would not run.
"$bin" authorisation add --authority "Préfecture (e2e)" --reference "arrêté e2e-001" --cameras walkway \
  --types intrusion --from "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" \
  --to "$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)" --config "$tmp/vigie.toml" >>"$out/users.log" 2>&1 \
  || { cat "$out/users.log" >&2; die "vigie authorisation add failed"; }

# A review case whose order allows plate searches (issue 8), opened first so that the case below is the newest (the
# console's default): inv2 only.
"$bin" case open "E2E-PV-2026-000" --authority "Juge d'instruction (e2e)" --cameras walkway \
  --from "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" --to "$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)" \
  --investigators inv2 --plates --config "$tmp/vigie.toml" >>"$out/users.log" 2>&1 \
  || { cat "$out/users.log" >&2; die "vigie case open --plates failed"; }

# A review case (issue 8) over the walkway camera, from an hour ago to tomorrow: inv1 (made in the console by the
# admin test) and inv2 are on it, inv-other is not.
"$bin" case open "E2E-PV-2026-001" --authority "Parquet (e2e)" --cameras walkway \
  --from "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" --to "$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)" \
  --investigators inv1,inv2 --config "$tmp/vigie.toml" >>"$out/users.log" 2>&1 \
  || { cat "$out/users.log" >&2; die "vigie case open failed"; }

# The server, on a free port; its address from the line "... http://ADDR ...".
(cd "$tmp" && exec "$bin" serve --config "$tmp/vigie.toml" --listen 127.0.0.1:0) >"$out/server.log" 2>&1 &
server_pid=$!
url=
for _ in $(seq 600); do
  url=$(grep -o 'http://[0-9.:]*' "$out/server.log" | head -n 1 || true)
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$out/server.log" >&2; die "vigie serve exited"; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$out/server.log" >&2; die "vigie serve printed no address within 60 s"; }
echo "e2e: vigie serve at $url (log: e2e/out/server.log)"

export VIGIE_URL=$url CHROMIUM="$chromium" E2E_OUT="$out"
set +e
node --test --test-reporter=spec --test-reporter-destination=stdout --test-reporter=tap \
  --test-reporter-destination="$out/report.tap" e2e/console.test.mjs
rc=$?
set -e
echo "e2e: screenshots in e2e/out/ ($(ls "$out"/*.png 2>/dev/null | wc -l) files); exit $rc"
exit $rc
