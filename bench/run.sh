#!/usr/bin/env bash
# Registry benchmarks, each beside its reference in the same run, on this
# machine; writes bench/RESULTS.md. Needs PostgreSQL on 127.0.0.1:5432,
# pgbench and wrk (installed from Debian's packages when missing).
#
# The machine is shared and its speed drifts, so the lookup figures are
# taken in ROUNDS interleaved rounds (pgbench, cancuoc on PostgreSQL,
# cancuoc on SQLite) and the report gives medians.
#
# Sizes: BULK_N citizens on PostgreSQL (default 1000000), SQLITE_N on SQLite
# (200000), BIG_N (unset: skipped; e.g. 10000000 for the 10M runs; with
# BIG_REUSE=1 a bench_big schema loaded earlier by the same command line
# as below is reused, with its load figures from $OUT/big/bulk_big.json),
# CLIENTS (16), DURATION per run (10s), ROUNDS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${PG:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
BULK_N=${BULK_N:-1000000}
SQLITE_N=${SQLITE_N:-200000}
BIG_N=${BIG_N:-}
CLIENTS=${CLIENTS:-16}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
OUT=bench/out
mkdir -p "$OUT"
rm -f "$OUT"/*.json
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v pgbench >/dev/null || { apt-get update -qq && apt-get install -y -qq postgresql-contrib; }
go build -o "$OUT/cancuoc" ./cmd/cancuoc
go build -o "$OUT/regbench" ./bench/regbench

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# serve NAME PORT DB: starts cancuoc on DB; its admin key goes to $OUT/NAME.key.
serve() {
  "$OUT/cancuoc" serve --addr "127.0.0.1:$2" --database "$3" --demo-citizens 0 --log-level warn >"$OUT/$1.out" 2>"$OUT/$1.err" &
  pids+=($!)
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$2/readyz" >/dev/null && break; sleep 0.2; done
  local key; key=$(grep -o 'cck_[a-z0-9_]*' "$OUT/$1.out" | head -1 || true)
  [ -n "$key" ] || key=$("$OUT/cancuoc" admin create-principal --database "$3" --name bench --role national_admin | grep -o 'cck_[a-z0-9_]*')
  echo "$key" >"$OUT/$1.key"
}

# lookup NAME PORT PINS: one wrk run of GET /v1/citizens/{pin}.
lookup() {
  KEY=$(cat "$OUT/$1.key") PINS="$3" CLIENTS="$CLIENTS" \
    wrk -t2 -c"$CLIENTS" -d"$DURATION" -s bench/lookup.lua "http://127.0.0.1:$2" | tail -1
}

# pgbench_ref: pgbench -S with the same clients; p50/p99 from its per-transaction log.
pgbench_ref() {
  rm -f "$OUT"/pgbench_log*
  pgbench -h 127.0.0.1 -U postgres -S -n -c "$CLIENTS" -j 2 -T "${DURATION%s}" -l --log-prefix="$OUT/pgbench_log" pgbench >"$OUT/pgbench.txt" 2>&1
  local tps; tps=$(grep -o 'tps = [0-9.]*' "$OUT/pgbench.txt" | head -1 | awk '{print $3}')
  cat "$OUT"/pgbench_log* | awk '{print $3}' | sort -n >"$OUT/pgbench_lat.txt"
  local n; n=$(wc -l <"$OUT/pgbench_lat.txt")
  local p50; p50=$(awk -v n="$n" 'NR==int(n*0.50){print $1/1000}' "$OUT/pgbench_lat.txt")
  local p99; p99=$(awk -v n="$n" 'NR==int(n*0.99){print $1/1000}' "$OUT/pgbench_lat.txt")
  echo "{\"rps\": $tps, \"p50_ms\": $p50, \"p99_ms\": $p99}"
}

# REUSE=1 keeps the registries loaded by an earlier run (same sizes) and
# measures the lookups again.
mkdir -p "$OUT/keep"
if [ -n "${REUSE:-}" ] && [ -s "$OUT/keep/bulk.json" ] && [ -s "$OUT/sqlite/cancuoc.db" ]; then
  echo "== reusing the loaded registries"
else
  echo "== bulk load: seed vs raw COPY of the same rows ($BULK_N citizens)"
  "$OUT/regbench" bulk -pg "$PG" -n "$BULK_N" -keep -schema bench_reg | tee "$OUT/keep/bulk.json"
  echo "== SQLite registry ($SQLITE_N citizens)"
  rm -rf "$OUT/sqlite"
  "$OUT/cancuoc" seed --data-dir "$OUT/sqlite" --citizens "$SQLITE_N" 2>/dev/null | tee "$OUT/sqlite_seed.txt"
fi
cp "$OUT/keep/bulk.json" "$OUT/bulk.json"

echo "== pgbench database (scale 50)"
psql -h 127.0.0.1 -U postgres -Atc "select 1 from pg_database where datname='pgbench'" | grep -q 1 || createdb -h 127.0.0.1 -U postgres pgbench
pgbench -h 127.0.0.1 -U postgres -i -s 50 -q pgbench >/dev/null 2>&1

"$OUT/regbench" pins -db "$PG" -schema bench_reg -n 20000 >"$OUT/pins_pg.txt"
"$OUT/regbench" pins -db "$OUT/sqlite/cancuoc.db" -n 20000 >"$OUT/pins_sqlite.txt"
serve pg 18181 "$PG&search_path=bench_reg"
serve sqlite 18182 "$OUT/sqlite/cancuoc.db"
# Warm both servers and their databases' caches.
DURATION=3s lookup pg 18181 "$OUT/pins_pg.txt" >/dev/null
DURATION=3s lookup sqlite 18182 "$OUT/pins_sqlite.txt" >/dev/null

for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r of $ROUNDS"
  pgbench_ref | tee "$OUT/pgbench.$r.json"
  lookup pg 18181 "$OUT/pins_pg.txt" | tee "$OUT/lookup_pg.$r.json"
  lookup sqlite 18182 "$OUT/pins_sqlite.txt" | tee "$OUT/lookup_sqlite.$r.json"
done
curl -s http://127.0.0.1:18181/metrics | grep '^cancuoc_audit' >"$OUT/audit_pg.txt" || true
cleanup; pids=()

if [ -n "$BIG_N" ]; then
  echo "== bulk load and lookup at $BIG_N citizens"
  # No COPY reference at this size: a second copy would not fit on the disk;
  # the ratio is measured at BULK_N above.
  mkdir -p "$OUT/big"
  if [ -n "${BIG_REUSE:-}" ] && [ -s "$OUT/big/bulk_big.json" ]; then
    echo "reusing schema bench_big"
  else
    "$OUT/regbench" bulk -pg "$PG" -n "$BIG_N" -keep -ref=false -schema bench_big | tee "$OUT/big/bulk_big.json"
  fi
  cp "$OUT/big/bulk_big.json" "$OUT/bulk_big.json"
  "$OUT/regbench" pins -db "$PG" -schema bench_big -n 20000 >"$OUT/pins_big.txt"
  serve big 18183 "$PG&search_path=bench_big"
  DURATION=3s lookup big 18183 "$OUT/pins_big.txt" >/dev/null
  for r in $(seq 1 "$ROUNDS"); do
    pgbench_ref | tee "$OUT/pgbench_big.$r.json"
    lookup big 18183 "$OUT/pins_big.txt" | tee "$OUT/lookup_big.$r.json"
  done
  cleanup; pids=()
fi

go run ./bench/report -out bench/results/10-registry.md -dir "$OUT" -clients "$CLIENTS" -duration "$DURATION" -rounds "$ROUNDS"
bash bench/assemble.sh
