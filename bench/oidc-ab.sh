#!/usr/bin/env bash
# Passkey logins, two builds of cancuoc interleaved (A, B, A,
# B, …), each against its own schema and its own server, in the same
# minutes: on a shared machine the load moves, so only runs taken side by
# side compare. Reports per login the CPU time (utime + stime from
# /proc/PID/stat) of the server, of its PostgreSQL backends (found by
# application_name) and of the load generator (its own getrusage).
#
#   OLD=/path/cancuoc-old NEW=/path/cancuoc-new PAIRS=3 bash bench/oidc-ab.sh
#
# PORT (the A server; B is PORT+1), SCHEMA (prefix: _a and _b are created
# and dropped), CLIENTS, DURATION, PASSKEYS as in bench/oidc.sh. DB=sqlite
# runs the same on SQLite files instead (no backends to count). TOGETHER=1
# runs each pair's two builds at the same time instead of one after the
# other, so that both see the same load. OLDGEN and NEWGEN: load generator
# builds for each side (default: this tree's bench/oidcbench for both), to
# compare the generator's own CPU too.
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${PG:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
OLD=${OLD:?build of the baseline}
NEW=${NEW:?build to compare}
PAIRS=${PAIRS:-3}
CLIENTS=${CLIENTS:-16}
DURATION=${DURATION:-10s}
PASSKEYS=${PASSKEYS:-200}
DB=${DB:-pg}
PORT=${PORT:-18870}
SCHEMA=${SCHEMA:-bench_oidc_ab}
OUT=bench/out/oidc-ab
rm -rf "$OUT"
mkdir -p "$OUT"
go build -o "$OUT/oidcbench" ./bench/oidcbench
declare -A gen=([a]=${OLDGEN:-$OUT/oidcbench} [b]=${NEWGEN:-$OUT/oidcbench})
SECRET=$(openssl rand -hex 32)

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$DB" = pg ]; then
    for v in a b; do psql -q "$PG" -c "DROP SCHEMA IF EXISTS ${SCHEMA}_$v CASCADE" 2>/dev/null || true; done
  fi
}
trap cleanup EXIT
ticks() {
  [ $# -gt 0 ] || { echo 0; return; }
  awk '{s += $14 + $15} END {print s + 0}' "$@" 2>/dev/null || echo 0
}
backends() {
  [ "$DB" = pg ] || return 0
  psql -At "$PG" -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'"
}

declare -A srv
start() { # start VARIANT BINARY PORT
  local v=$1 bin=$2 port=$3 db="$PG&search_path=${SCHEMA}_$1" app="&application_name=${SCHEMA}_$1"
  if [ "$DB" = sqlite ]; then
    db="$OUT/$v.db" app=""
  else
    psql -q "$PG" -c "DROP SCHEMA IF EXISTS ${SCHEMA}_$v CASCADE; CREATE SCHEMA ${SCHEMA}_$v" 2>/dev/null
  fi
  "$bin" serve --addr "127.0.0.1:$port" --database "$db$app" --data-dir "$OUT/$v-data" \
    --demo-citizens 0 --log-level warn --oidc-secret "$SECRET" >"$OUT/$v.out" 2>"$OUT/$v.err" &
  srv[$v]=$!
  pids+=("$!")
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
  "${gen[$v]}" prepare -database "$db" -secret "$SECRET" -issuer "http://127.0.0.1:$port/oidc" \
    -origin "http://127.0.0.1:$port" -accounts "$PASSKEYS" -passkeys "$PASSKEYS" -state "$OUT/$v.state" >/dev/null
  # Warm up: statement caches, pool connections.
  "${gen[$v]}" run -state "$OUT/$v.state" -mode passkey -c "$CLIENTS" -d 2s >/dev/null
}

run() { # run VARIANT LABEL
  local v=$1 label=$2 be s0 s1 b0 b1 load0 load1 res
  be=$(backends "${SCHEMA}_$v" | sed 's|^|/proc/|; s|$|/stat|')
  load0=$(cut -d' ' -f1 /proc/loadavg)
  s0=$(ticks "/proc/${srv[$v]}/stat")
  # shellcheck disable=SC2086
  b0=$(ticks $be)
  res=$("${gen[$v]}" run -state "$OUT/$v.state" -mode passkey -c "$CLIENTS" -d "$DURATION")
  s1=$(ticks "/proc/${srv[$v]}/stat")
  # Backends that appeared during the run started from zero.
  be=$(backends "${SCHEMA}_$v" | sed 's|^|/proc/|; s|$|/stat|')
  # shellcheck disable=SC2086
  b1=$(ticks $be)
  load1=$(cut -d' ' -f1 /proc/loadavg)
  echo "$res" | python3 -c '
import json, sys
r = json.load(sys.stdin)
label, s, b, l0, l1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
n = r["flows"]
srv, pg, gen = s * 10 / n, b * 10 / n, r["client_cpu_s"] * 1000 / n
rate, errs = r["flows_per_s"], r["errors"]
print(f"{label:4} flows/s {rate:7.0f} errors {errs}  server {srv:.3f}  pg {pg:.3f}  generator {gen:.3f}  all {srv + pg + gen:.3f} ms/login  load {l0}->{l1}")
' "$label" $((s1 - s0)) $((b1 - b0)) "$load0" "$load1" | tee -a "$OUT/runs.txt"
}

start a "$OLD" "$PORT"
start b "$NEW" $((PORT + 1))
for _ in $(seq 1 "$PAIRS"); do
  if [ "${TOGETHER:-}" = 1 ]; then
    # Both builds at once: each under the other's load and the same
    # outside load, at the cost of absolute figures above a quiet run's.
    run a old >"$OUT/a.run" &
    run b new >"$OUT/b.run"
    wait $!
    cat "$OUT/a.run" "$OUT/b.run"
  else
    run a old
    run b new
  fi
done
