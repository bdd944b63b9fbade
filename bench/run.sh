#!/usr/bin/env bash
# Registry benchmarks, each beside its reference in the same run, on this
# machine; writes bench/RESULTS.md. Needs PostgreSQL on 127.0.0.1:5432 and
# pgbench. Sizes: BULK_N (default 1000000), SQLITE_N (200000), BIG_N (unset:
# skip; e.g. 10000000 for the 10M runs), CLIENTS (16), DURATION (20s).
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${PG:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
BULK_N=${BULK_N:-1000000}
SQLITE_N=${SQLITE_N:-200000}
BIG_N=${BIG_N:-}
CLIENTS=${CLIENTS:-16}
DURATION=${DURATION:-20s}
OUT=bench/out
mkdir -p "$OUT"
go build -o "$OUT/cancuoc" ./cmd/cancuoc
go build -o "$OUT/regbench" ./bench/regbench

PORT=18181
serve_pid=""
stop_server() { [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null; serve_pid=""; }
trap stop_server EXIT

# start_server DB: runs cancuoc serve on DB and sets KEY to an admin key.
start_server() {
  "$OUT/cancuoc" serve --addr 127.0.0.1:$PORT --database "$1" --demo-citizens 0 --log-level warn >"$OUT/serve.out" 2>"$OUT/serve.err" &
  serve_pid=$!
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.2; done
  KEY=$(grep -o 'cck_[a-z0-9_]*' "$OUT/serve.out" | head -1 || true)
  if [ -z "$KEY" ]; then
    KEY=$("$OUT/cancuoc" admin create-principal --database "$1" --name bench --role national_admin | grep -o 'cck_[a-z0-9_]*')
  fi
}

# lookup NAME DB SCHEMA: HTTP lookups by PIN against the registry in DB.
lookup() {
  "$OUT/regbench" pins -db "$2" -schema "$3" -n 20000 >"$OUT/pins.txt"
  start_server "$4"
  "$OUT/regbench" load -url http://127.0.0.1:$PORT -key "$KEY" -pins "$OUT/pins.txt" -c "$CLIENTS" -d "$DURATION" >"$OUT/$1.json"
  stop_server
  cat "$OUT/$1.json"
}

# pgbench -S on the same server with the same client count; p99 from its log.
pgbench_ref() {
  psql -h 127.0.0.1 -U postgres -Atc "select 1 from pg_database where datname='pgbench'" | grep -q 1 || createdb -h 127.0.0.1 -U postgres pgbench
  pgbench -h 127.0.0.1 -U postgres -i -s 50 -q pgbench >/dev/null 2>&1
  rm -f "$OUT"/pgbench_log*
  local secs=${DURATION%s}
  pgbench -h 127.0.0.1 -U postgres -S -n -c "$CLIENTS" -j 2 -T "$secs" -l --log-prefix="$OUT/pgbench_log" pgbench >"$OUT/pgbench.txt" 2>&1
  local tps; tps=$(grep -o 'tps = [0-9.]*' "$OUT/pgbench.txt" | head -1 | awk '{print $3}')
  local p99; p99=$(cat "$OUT"/pgbench_log* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {print a[int(NR*0.99)]/1000}')
  local p50; p50=$(cat "$OUT"/pgbench_log* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {print a[int(NR*0.50)]/1000}')
  echo "{\"tps\": $tps, \"p50_ms\": $p50, \"p99_ms\": $p99}" >"$OUT/pgbench.json"
  cat "$OUT/pgbench.json"
}

echo "== bulk load: seed vs raw COPY of the same rows ($BULK_N)"
"$OUT/regbench" bulk -pg "$PG" -n "$BULK_N" -keep -schema bench_1m >"$OUT/bulk.json"; cat "$OUT/bulk.json"

echo "== lookup by PIN over HTTP, PostgreSQL, $BULK_N citizens"
lookup lookup_pg "$PG" bench_1m "$PG&search_path=bench_1m"
echo "== pgbench -S reference"
pgbench_ref

echo "== lookup by PIN over HTTP, SQLite, $SQLITE_N citizens"
rm -rf "$OUT/sqlite"
"$OUT/cancuoc" seed --data-dir "$OUT/sqlite" --citizens "$SQLITE_N" 2>/dev/null | tee "$OUT/sqlite_seed.txt"
lookup lookup_sqlite "$OUT/sqlite/cancuoc.db" "" "$OUT/sqlite/cancuoc.db"

if [ -n "$BIG_N" ]; then
  echo "== bulk load and lookup at $BIG_N citizens"
  "$OUT/regbench" bulk -pg "$PG" -n "$BIG_N" -keep -schema bench_big >"$OUT/bulk_big.json"; cat "$OUT/bulk_big.json"
  lookup lookup_pg_big "$PG" bench_big "$PG&search_path=bench_big"
fi

go run ./bench/report -out bench/RESULTS.md -dir "$OUT" -clients "$CLIENTS" -duration "$DURATION"
echo "wrote bench/RESULTS.md"
