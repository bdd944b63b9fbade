#!/usr/bin/env bash
# CPU time per match check of two builds, interleaved in the same minutes:
#
#   bash bench/match-ab.sh OLD_BINARY NEW_BINARY
#
# (build OLD_BINARY from main with `go build -o FILE ./cmd/cancuoc` in a
# checkout of main). On a shared machine requests/s and latency move with
# the other users' load; the CPU time (user + system, from /proc) that the
# cancuoc process, its PostgreSQL backends and wrk spend per check does far
# less, and alternating old, new, old, new… spreads what drift remains over
# both builds. Each run starts the server afresh on the same registry
# (bench/match.sh's setup: N citizens in SCHEMA, the partner bench-bank),
# waits for its match projection, warms it for 2 s, then runs wrk for
# DURATION. Prints one JSON line per run and the medians per build.
#
# Sizes: N (100000), CLIENTS (16), DURATION (10s), ROUNDS (3 of each),
# SCHEMA (match_ab), PORT (18201).
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$(realpath "$1")
NEW=$(realpath "$2")
PG=${PG:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
N=${N:-100000}
CLIENTS=${CLIENTS:-16}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18201}
SCHEMA=${SCHEMA:-match_ab}
OUT=bench/out/match-ab
DB="$PG&search_path=$SCHEMA"
APP=cancuoc_match_ab
mkdir -p "$OUT"
go build -o "$OUT/regbench" ./bench/regbench
go build -o "$OUT/partnertoken" ./bench/partnertoken

pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

if [ -s "$OUT/loaded" ] && [ "$(cat "$OUT/loaded")" = "$SCHEMA $N" ]; then
  echo "== reusing schema $SCHEMA ($N citizens)"
else
  echo "== registry: $N synthetic citizens in schema $SCHEMA (seeded by the old build)"
  psql -h 127.0.0.1 -U postgres -d test -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE; CREATE SCHEMA $SCHEMA"
  rm -rf "$OUT/data"
  "$OLD" seed --database "$DB" --data-dir "$OUT/data" --citizens "$N" 2>/dev/null | tail -1
  "$OUT/regbench" pins -db "$PG" -schema "$SCHEMA" -n 20000 >"$OUT/pins.txt"
  "$OUT/partnertoken" keygen -key "$OUT/key.json" -jwks "$OUT/jwks.json"
  "$OLD" admin create-partner --database "$DB" --data-dir "$OUT/data" --id bench-bank --name "Ngân hàng đo hiệu năng" \
    --kind bank --operation match --field full_name,birth_date,sex --purpose "Định danh khách hàng (eKYC)" \
    --legal-basis "Thông tư 17/2024/TT-NHNN" >/dev/null
  "$OLD" admin add-partner-client --database "$DB" --data-dir "$OUT/data" --partner bench-bank --client-id bench-ab \
    --jwks "$OUT/jwks.json" >/dev/null
  echo "$SCHEMA $N" >"$OUT/loaded"
fi

# shellcheck source=bench/proccpu.sh
. bench/proccpu.sh

ISSUER="http://127.0.0.1:$PORT/oidc"
# run BUILD LABEL: one server start, warm-up and measured wrk run.
run() {
  local bin=$1 label=$2
  "$bin" serve --addr "127.0.0.1:$PORT" --database "$DB&application_name=$APP" --data-dir "$OUT/data" --oidc-issuer "$ISSUER" \
    --demo-citizens 0 --log-level warn >"$OUT/serve.out" 2>"$OUT/serve.err" &
  pid=$!
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
  for _ in $(seq 1 600); do
    curl -s "http://127.0.0.1:$PORT/metrics" | grep -q '^cancuoc_match_projection_ready 1' && break
    sleep 0.5
  done
  local token; token=$("$OUT/partnertoken" token -key "$OUT/key.json" -client bench-ab -issuer "$ISSUER")
  psql -h 127.0.0.1 -U postgres -d test -qc "VACUUM $SCHEMA.audit_pending, $SCHEMA.events_pending" 2>/dev/null || true
  TOKEN="$token" PINS="$OUT/pins.txt" CLIENTS="$CLIENTS" wrk -t2 -c"$CLIENTS" -d2s -s bench/match.lua "http://127.0.0.1:$PORT" >/dev/null
  local hz; hz=$(getconf CLK_TCK)
  local pgs; pgs=$(pg_backends "$APP")
  local c0 p0 w0 c1 p1
  c0=$(ticks "$pid"); p0=$(ticks $pgs)
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  TOKEN="$token" PINS="$OUT/pins.txt" CLIENTS="$CLIENTS" wrk -t2 -c"$CLIENTS" -d"$DURATION" -s bench/match.lua \
    "http://127.0.0.1:$PORT" >"$OUT/wrk.out" &
  local wpid=$!
  # wrk's own CPU, read just before it exits (it runs for DURATION).
  sleep "$(( ${DURATION%s} - 1 )).8"
  w0=0
  local w1; w1=$(ticks "$wpid")
  wait "$wpid"
  c1=$(ticks "$pid"); p1=$(ticks $pgs)
  local entries commits
  entries=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^cancuoc_audit_entries_total/{print $2}')
  commits=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^cancuoc_audit_commits_total/{print $2}')
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  tail -1 "$OUT/wrk.out" | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); n=max(d['requests'],1)
d['build']='$label'; d['load']=$load
d['cpu_us']=round(($c1-$c0)*1e6/$hz/n,1); d['pg_cpu_us']=round(($p1-$p0)*1e6/$hz/n,1); d['wrk_cpu_us']=round(($w1-$w0)*1e6/$hz/n,1)
d['entries_per_commit']=round(float('${entries:-0}')/max(float('${commits:-1}'),1),1)
print(json.dumps(d))" | tee -a "$OUT/runs.jsonl"
}

: >"$OUT/runs.jsonl"
for r in $(seq 1 "$ROUNDS"); do
  run "$OLD" old
  run "$NEW" new
done
python3 - "$OUT/runs.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
for b in ("old", "new"):
    rs = [r for r in runs if r["build"] == b]
    med = lambda k: statistics.median(r[k] for r in rs)
    print(f"{b}: cancuoc {med('cpu_us'):.1f} µs + PostgreSQL {med('pg_cpu_us'):.1f} µs = {med('cpu_us')+med('pg_cpu_us'):.1f} µs per check"
          f" (wrk {med('wrk_cpu_us'):.1f} µs); {med('rps'):.0f}/s, p99 {med('p99_ms'):.2f} ms, {med('entries_per_commit'):.1f} entries per commit;"
          f" load {min(r['load'] for r in rs)}–{max(r['load'] for r in rs)}")
PY
