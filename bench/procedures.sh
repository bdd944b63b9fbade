#!/usr/bin/env bash
# Birth procedures completed end to end per second (bench/procbench: files
# submitted at the counter, the civil-status, police and social-insurance
# steps claimed and completed by automated agency clients over the API), on
# SQLite and on PostgreSQL + NATS JetStream, beside a reference in the same
# run: pgbench running the raw PostgreSQL transactions one procedure needs
# (bench/procedures.sql). Writes bench/results/60-procedures.md and
# rebuilds bench/RESULTS.md.
#
# Small scale (what the results file holds unless rerun larger):
#   bash bench/procedures.sh                       # N=2000 files, CLIENTS=4
# Full size:
#   N=20000 CLIENTS=8 DURATION=60 bash bench/procedures.sh
#
# PROFILE=1 also takes a CPU profile of cancuoc (pprof, --debug-addr on
# port 19053) for 15 s of each run and writes its top functions beside the
# results (bench/out/procedures/*.top.txt).
#
# Needs PostgreSQL on 127.0.0.1:5432, pgbench and nats-server
# (/usr/sbin/nats-server). Ports 19050-19053.
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${PG:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
N=${N:-2000}
CLIENTS=${CLIENTS:-4}
DURATION=${DURATION:-20}
NATS=${NATS:-$(command -v nats-server || echo /usr/sbin/nats-server)}
OUT=bench/out/procedures
rm -rf "$OUT"
mkdir -p "$OUT"
go build -o "$OUT/cancuoc" ./cmd/cancuoc
go build -o "$OUT/procbench" ./bench/procbench
SCHEMA=bench_proc_$(date +%s)
psql_() { psql -q -v ON_ERROR_STOP=1 "$PG" "$@"; }

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql_ -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE; DROP SCHEMA IF EXISTS ${SCHEMA}_ref CASCADE" >/dev/null 2>&1 || true
}
trap cleanup EXIT

PROFILE=${PROFILE:-}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
debug=()
if [ -n "$PROFILE" ]; then debug=(--debug-addr 127.0.0.1:19053); fi
prof_pids=()
profile() { # profile NAME: 15 s of CPU profile of the running cancuoc, in the background
  [ -n "$PROFILE" ] || return 0
  ( sleep 3; curl -sf "http://127.0.0.1:19053/debug/pprof/profile?seconds=15" -o "$OUT/$1.cpu.pprof" &&
    go tool pprof -top -nodecount=30 "$OUT/cancuoc" "$OUT/$1.cpu.pprof" >"$OUT/$1.top.txt" 2>/dev/null || true ) &
  prof_pids+=($!)
}

serve() { # serve NAME PORT ARGS…: start cancuoc, wait until ready
  local name=$1 port=$2; shift 2
  "$OUT/cancuoc" serve --addr "127.0.0.1:$port" --data-dir "$OUT/$name" --demo-citizens 0 --log-level warn "$@" \
    >"$OUT/$name.out" 2>"$OUT/$name.err" &
  pids+=($!)
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.2; done
  echo "cancuoc ($name) did not start:"; cat "$OUT/$name.err"; exit 1
}

echo "== cancuoc on SQLite: $N birth files"
mkdir -p "$OUT/sqlite"
"$OUT/procbench" seed -database "$OUT/sqlite/cancuoc.db" -n "$N" -out "$OUT/sqlite.seed.json"
serve sqlite 19050 --database "$OUT/sqlite/cancuoc.db" "${debug[@]}"
profile sqlite
"$OUT/procbench" run -base http://127.0.0.1:19050 -seed "$OUT/sqlite.seed.json" -n "$N" -clients "$CLIENTS" | tee "$OUT/sqlite.json"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

echo "== cancuoc on PostgreSQL + NATS JetStream: $N birth files"
psql_ -c "CREATE SCHEMA $SCHEMA"
DB="$PG&search_path=$SCHEMA"
mkdir -p "$OUT/nats" "$OUT/pg"
"$NATS" -a 127.0.0.1 -p 19052 -js -sd "$OUT/nats" >"$OUT/nats.log" 2>&1 &
pids+=($!)
"$OUT/procbench" seed -database "$DB" -n "$N" -out "$OUT/pg.seed.json"
serve pg 19051 --database "$DB" --nats-url nats://127.0.0.1:19052 "${debug[@]}"
profile pg
"$OUT/procbench" run -base http://127.0.0.1:19051 -seed "$OUT/pg.seed.json" -n "$N" -clients "$CLIENTS" | tee "$OUT/pg.json"

echo "== reference: pgbench, the raw transactions of one procedure, $CLIENTS clients for ${DURATION}s"
psql_ <<SQL
CREATE SCHEMA ${SCHEMA}_ref;
SET search_path = ${SCHEMA}_ref;
CREATE TABLE ref_procedures (id bigint PRIMARY KEY, status text NOT NULL, version bigint NOT NULL, doc json NOT NULL, at timestamptz DEFAULT now());
CREATE TABLE ref_steps (procedure_id bigint REFERENCES ref_procedures, no int, status text NOT NULL, version bigint NOT NULL, doc json NOT NULL, PRIMARY KEY (procedure_id, no));
CREATE INDEX ON ref_steps (status, procedure_id, no);
CREATE TABLE ref_citizens (pin text PRIMARY KEY, version bigint NOT NULL, doc json NOT NULL);
CREATE TABLE ref_versions (pin text, version bigint, doc json NOT NULL, PRIMARY KEY (pin, version));
CREATE TABLE ref_audit (id bigserial PRIMARY KEY, at timestamptz DEFAULT now(), actor text, action text, pin text);
CREATE TABLE ref_outbox (seq bigserial PRIMARY KEY, type text, data json, at timestamptz DEFAULT now());
CREATE TABLE ref_documents (kind text, number text, pin text, PRIMARY KEY (kind, number), UNIQUE (kind, pin));
CREATE TABLE ref_requests (principal text, key text, body bytea, PRIMARY KEY (principal, key));
INSERT INTO ref_citizens SELECT g::text, 1, '{"full_name":"Trần Thị Mẹ"}' FROM generate_series(1, 100000) g;
SQL
PGOPTIONS="-c search_path=${SCHEMA}_ref" pgbench -h 127.0.0.1 -U postgres -n -c "$CLIENTS" -j 2 -T "$DURATION" \
  -f bench/procedures.sql test >"$OUT/pgbench.txt" 2>&1 || { cat "$OUT/pgbench.txt"; exit 1; }
REF=$(grep -o 'tps = [0-9.]*' "$OUT/pgbench.txt" | head -1 | awk '{print $3}')
REFLAT=$(grep -o 'latency average = [0-9.]* ms' "$OUT/pgbench.txt" | awk '{print $4}')
echo "reference: $REF procedures/s"

for p in "${prof_pids[@]}"; do wait "$p" || true; done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
val() { grep -o "\"$2\":[0-9.e+-]*" "$OUT/$1.json" | cut -d: -f2; }
fmt() { awk -v x="$1" 'BEGIN{printf "%.1f", x}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
SQ=$(val sqlite per_second); PGR=$(val pg per_second)
CORES=$(nproc); MEM=$(free -h | awk '/Mem:/{print $2}')
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
mkdir -p bench/results
cat >bench/results/60-procedures.md <<MD
## Interlinked birth procedures end to end (\`bench/procedures.sh\`)

Written by \`bench/procedures.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') with N=$N files per backend and $CLIENTS clients per role.

Machine: $CORES cores ($CPU), $MEM memory; $(uname -sr); $(psql --version | head -1); $(go version | awk '{print $3}'); NATS $("$NATS" --version 2>&1 | head -1). The load generator, cancuoc, PostgreSQL and NATS share the same cores, and the machine is shared with other engineers' builds and tests, so compare the ratios of one run rather than absolute figures across runs. Load average (1, 5, 15 min) at the start: $LOAD_BEFORE; at the end: $LOAD_AFTER.

What is measured: \`bench/procbench\` submits N birth files at the counter ($CLIENTS concurrent submitters, \`POST /v1/procedures\`), while $CLIENTS clients per agency (civil status, police, social insurance) list their queue and, for each task, claim and complete it, every write with an Idempotency-Key. A file counts when its third step (the health card) is completed; the time runs from the first submission to the last file. Each step's completion commits its effect (the PIN and birth certificate, the household, the card) with its audit entries and outbox events, and the next task is created by the dispatcher's handler (in the process on SQLite; through JetStream on PostgreSQL). Reference: pgbench running \`bench/procedures.sql\` — the same writes one procedure makes, as raw SQL in the same ten transactions, without HTTP, authentication, rules or the audit hash chain — with $CLIENTS clients for ${DURATION}s.

| what | birth procedures/s | file time p50 | p95 | ratio to the reference | goal |
|---|---:|---:|---:|---:|---|
| reference: raw PostgreSQL transactions (pgbench) | $(fmt "$REF") | $(fmt "$REFLAT") ms | | 1 | |
| cancuoc on PostgreSQL + NATS JetStream | $(fmt "$PGR") | $(fmt "$(val pg p50_seconds)") s | $(fmt "$(val pg p95_seconds)") s | **$(ratio "$PGR" "$REF")** | ≥ 500/s |
| cancuoc on SQLite (embedded, in-process events) | $(fmt "$SQ") | $(fmt "$(val sqlite p50_seconds)") s | $(fmt "$(val sqlite p95_seconds)") s | $(ratio "$SQ" "$REF") | ≥ 500/s |

For scale, OpenCRVS reports about 4 birth declarations per second on three 4-vCPU servers. A file's time includes queueing behind the other files submitted at once (all N are submitted as fast as the counter clients can), so it measures backlog, not the latency of one file on an idle system.

The goal of 500 procedures/s is not reached on this machine, and the reference shows why it cannot be by storage alone: one birth procedure is ten transactions (submission; claim, completion and the handler's next task for each of three steps), each committed durably, and the raw SQL of those transactions on the same 2 shared cores reaches only the reference figure above. On PostgreSQL, every state change's access-log entry and outbox event are now queued unsequenced and chained by the log sequencer after commit (docs/architecture.md, "The log sequencer"), so writes no longer commit one at a time behind a global lock; before it, the same benchmark reached a ratio of 0.21–0.38 to the reference (table below). Through NATS the step handler is one JetStream consumer taking one event at a time. Ways forward, not built yet: batch completion for agencies' systems (many steps in one transaction, one log append), and claim-free completion for clients that partition their queue.

### Before and after the log sequencer

Runs in time order on the same machine, N=1000, 4 clients per role (the first is the one this file held before; the last two ran back to back); the machine was shared, so the ratio to the pgbench reference of the same run is the figure to compare.

| run (UTC) | load average (1 min) | code | PostgreSQL + NATS /s | reference /s | ratio | SQLite /s | ratio |
|---|---:|---|---:|---:|---:|---:|---:|
| 2026-11-23 15:45 | ≈ 25 | before (global locks) | 12.6 | 33.7 | 0.38 | 51.8 | 1.54 |
| 2026-11-23 18:24 | 25–30 | before (global locks) | 7.4 | 35.9 | 0.21 | 47.5 | 1.32 |
| 2026-11-23 18:54 | 34–50 | after (sequencer), profiled | 10.6 | 14.9 | 0.71 | 25.0 | 1.68 |
| 2026-11-23 19:06 | 42–44 | before (global locks) | 3.6 | 35.3 | 0.10 | 8.0 | 0.23 |
| 2026-11-23 19:15 | 39–41 | after (sequencer), right after the line above | 21.8 | 25.6 | 0.85 | 45.0 | 1.76 |
| 2026-11-23 19:37 | 18–20 | before (global locks) | 10.2 | 50.6 | 0.20 | 52.8 | 1.04 |
| 2026-11-23 19:40 | 19 | after (sequencer), right after the line above | 26.2 | 67.4 | 0.39 | 72.0 | 1.07 |

SQLite's code did not change, so its column gauges the noise: 8.0 and 45.0 procedures/s for the same code, minutes apart. Back to back, PostgreSQL + NATS went from 3.6 to 21.8 procedures/s at load ≈ 40 and from 10.2 to 26.2 at load ≈ 19 (0.19 → 0.36 of SQLite's rate in the same run). On the quieter machine the reference rises more than cancuoc does (0.39 of it): with the global lock gone, the next limits are cancuoc's CPU per procedure (below) and the single JetStream consumer of step events.

Where the time goes (CPU profile of cancuoc, 15 s of the PostgreSQL run at 18:54, \`PROFILE=1\`): cancuoc used 0.31 of one core for 10.6 procedures/s, about 30 ms of CPU per procedure, a third of it in system calls (one write per round trip to PostgreSQL and NATS); by use case, the step actions over HTTP (with their idempotency records) 33 %, the JetStream step handler 20 %, claiming 7 %, the queue listings 5 %, webhook subscription lookups per event 4 %, appending to the access-log queue 3 %. cancuoc is not CPU-bound at this rate: the pgbench reference of the same run — raw SQL, no cancuoc at all — is only 1.4 times faster, so the shared cores and PostgreSQL's commits are the limit. On SQLite (in process) preparing SQL statements again for every execution is 20 % of cancuoc's CPU (\`sqlite3Prepare\`; database/sql with modernc does not cache statements), the largest single cost left.
MD
bash bench/assemble.sh
cat bench/results/60-procedures.md
