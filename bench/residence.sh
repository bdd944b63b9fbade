#!/usr/bin/env bash
# Residence benchmark: stay notifications (POST /v1/stays from a lodging's
# key) per second, on SQLite and on PostgreSQL, beside the reference in the
# same run: pgbench running the same three INSERTs (notification, audit row,
# outbox event) as one plain transaction (bench/stay_ref.sql). Writes
# bench/results/52-residence.md and rebuilds bench/RESULTS.md.
#
# Every notification is checked (place, guests, deadline in Vietnam time),
# stored with an audit entry per guest known by PIN (appended to the access
# log's hash chain) and an outbox event, in one transaction.
#
# Full size (about 3 minutes on an idle 2-core machine):
#   CLIENTS=16 DURATION=20s ROUNDS=3 bash bench/residence.sh
# Defaults are smaller (CLIENTS=16 DURATION=10s ROUNDS=2). Ports 18901-18902.
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${PG:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
CLIENTS=${CLIENTS:-16}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
OUT=bench/out/residence
mkdir -p "$OUT"
rm -f "$OUT"/*.json
command -v wrk >/dev/null || { echo "wrk is needed" >&2; exit 1; }
command -v pgbench >/dev/null || { echo "pgbench is needed" >&2; exit 1; }
go build -o "$OUT/cancuoc" ./cmd/cancuoc

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

psql "$PG" -qc "DROP SCHEMA IF EXISTS bench_res CASCADE; CREATE SCHEMA bench_res" >/dev/null
psql "$PG" -q >/dev/null <<'SQL'
DROP SCHEMA IF EXISTS bench_stay_ref CASCADE;
CREATE SCHEMA bench_stay_ref;
CREATE TABLE bench_stay_ref.stays (id text COLLATE "C" PRIMARY KEY, reporter text COLLATE "C" NOT NULL, reference text COLLATE "C",
  province text COLLATE "C" NOT NULL, commune text COLLATE "C" NOT NULL, arrival timestamptz NOT NULL, late boolean NOT NULL, doc json NOT NULL);
CREATE UNIQUE INDEX ON bench_stay_ref.stays (reporter, reference) WHERE reference IS NOT NULL;
CREATE INDEX ON bench_stay_ref.stays (province, commune, arrival, id);
CREATE TABLE bench_stay_ref.audit (seq bigserial PRIMARY KEY, at timestamptz NOT NULL, actor text NOT NULL, action text NOT NULL,
  pin char(12) COLLATE "C", fields text[], purpose text NOT NULL, outcome text NOT NULL);
CREATE INDEX ON bench_stay_ref.audit (pin, seq) WHERE pin IS NOT NULL;
CREATE TABLE bench_stay_ref.events (seq bigserial PRIMARY KEY, id text NOT NULL, type text NOT NULL, pin char(12) COLLATE "C",
  version bigint NOT NULL DEFAULT 0, actor text NOT NULL, at timestamptz NOT NULL, data json);
SQL
rm -rf "$OUT/sqlite"; mkdir -p "$OUT/sqlite"

# serve NAME PORT DB: starts cancuoc on DB and makes a lodging key in Ba Đình.
serve() {
  "$OUT/cancuoc" serve --addr "127.0.0.1:$2" --database "$3" --demo-citizens 0 --log-level warn >"$OUT/$1.out" 2>"$OUT/$1.err" &
  pids+=($!)
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$2/readyz" >/dev/null && break; sleep 0.2; done
  "$OUT/cancuoc" admin create-principal --database "$3" --name "Khách sạn Ba Đình" --role lodging --province 01 --commune 00004 |
    grep -o 'cck_[a-z0-9_]*' >"$OUT/$1.key"
}

notify() {
  KEY=$(cat "$OUT/$1.key") wrk -t2 -c"$CLIENTS" -d"$DURATION" -s bench/stay.lua "http://127.0.0.1:$2" | tail -1
}

reference() {
  pgbench "$PG" -n -f bench/stay_ref.sql -c "$CLIENTS" -j 2 -T "${DURATION%s}" >"$OUT/pgbench.txt" 2>&1
  local tps; tps=$(grep -o 'tps = [0-9.]*' "$OUT/pgbench.txt" | head -1 | awk '{print $3}')
  local lat; lat=$(grep -o 'latency average = [0-9.]*' "$OUT/pgbench.txt" | awk '{print $4}')
  echo "{\"rps\": $tps, \"avg_ms\": $lat}"
}

serve pg 18901 "$PG&search_path=bench_res"
serve sqlite 18902 "$OUT/sqlite/cancuoc.db"
DURATION=3s notify pg 18901 >/dev/null
DURATION=3s notify sqlite 18902 >/dev/null
for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r of $ROUNDS"
  reference | tee "$OUT/ref.$r.json"
  notify pg 18901 | tee "$OUT/pg.$r.json"
  notify sqlite 18902 | tee "$OUT/sqlite.$r.json"
done
stored=$(psql "$PG" -Atc "select count(*) from bench_res.stay_notifications")
cleanup; pids=()

# median FILE-PREFIX FIELD: the median over rounds of one JSON field.
median() {
  for f in "$OUT/$1".*.json; do grep -o "\"$2\": [0-9.]*" "$f" | awk '{print $2}'; done | sort -n |
    awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'
}
rounds() { for f in "$OUT/$1".*.json; do grep -o "\"rps\": [0-9.]*" "$f" | awk '{printf "%d ", $2}'; done; }
errors() { for f in "$OUT/$1".*.json; do grep -o "\"errors\": [0-9]*" "$f" | awk '{print $2}'; done | paste -sd+ | bc; }
ref=$(median ref rps)
pg=$(median pg rps)
sq=$(median sqlite rps)
ratio() { awk -v a="$1" -v b="$ref" 'BEGIN {printf "%.2f", a/b}'; }
machine="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs | cut -d' ' -f1-2)), $(free -h | awk '/Mem:/{print $2}') memory; $(uname -sr); $(psql --version); $(go version | awk '{print $3}')"
cat > bench/results/52-residence.md <<MD
## Residence: stay notifications (\`bench/residence.sh\`)

Written by \`bench/residence.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') with CLIENTS=$CLIENTS DURATION=$DURATION ROUNDS=$ROUNDS.

Machine: $machine. wrk, cancuoc and PostgreSQL share the cores, as do pgbench and PostgreSQL for the reference; the machine is shared with other work, so compare the ratios of one run.

\`POST /v1/stays\` from a lodging's API key, one notification of two guests (one by PIN) per request, $CLIENTS connections (closed loop), $DURATION per run: authentication, validation, the 23:00/08:00 deadline check in Vietnam time, and the transaction writing the notification, the guest's audit entry (chained into the access log) and an outbox event, shared with the notifications arriving meanwhile (group commit: the chained log and the outbox each hold a lock to commit, so one transaction per notification would run at the rate of commits). Reference: \`pgbench -f bench/stay_ref.sql\`, the same three rows as plain INSERTs in one transaction, same client count, same server. Medians of $ROUNDS interleaved rounds.

| what | notifications/s | p50 | p99 | ratio to the reference (goal ≥ 0.3) |
|---|---:|---:|---:|---:|
| three INSERTs in one transaction (pgbench, reference) | $ref | | | 1 |
| cancuoc on PostgreSQL | $pg | $(median pg p50_ms) ms | $(median pg p99_ms) ms | **$(ratio "$pg")** |
| cancuoc on SQLite (embedded) | $sq | $(median sqlite p50_ms) ms | $(median sqlite p99_ms) ms | $(ratio "$sq") |

Each round (per second): reference $(rounds ref); PostgreSQL $(rounds pg); SQLite $(rounds sqlite). HTTP errors: PostgreSQL $(errors pg), SQLite $(errors sqlite). Notifications stored on PostgreSQL: $stored.

For scale: the seeds report about 99% of stay notifications made online; at 1,000 per second the whole country's hotels could report 86 million stays a day.
MD
bash bench/assemble.sh
