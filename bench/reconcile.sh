#!/usr/bin/env bash
# Bulk reconciliation (issue 4): records per second with PINs and without,
# each beside its reference in the same run, on this machine; writes
# bench/results/50-reconcile.md and rebuilds bench/RESULTS.md.
#
#   cancuoc: `cancuoc reconcile FILE` end to end: hash the input, build the
#     in-memory match index by one scan of the registry, parse and match in
#     parallel workers, write the report, and commit per chunk of 50,000
#     records (duplicate keys in memory) the chunk's touched block, its one
#     chained access-log entry and the checkpoint.
#   reference (PIN mode): raw PostgreSQL doing the same join by PIN with
#     psql: \copy of the same CSV into a temporary table, joined to citizens
#     by PIN, comparing the name from the document and the life status,
#     every result row written out (\copy … TO a file). Nothing is logged.
#   The no-PIN mode has no SQL equivalent (blocking plus Vietnamese-aware
#     similarity); it is measured against its goal, with its precision and
#     recall against the data set's truth.
#
# Sizes: N citizens in the registry (default 200000), M partner records
# drawn from it (default 200000; plus people who are not in the registry,
# duplicates and noise), SQLITE_N and SQLITE_M on SQLite (default 100000).
# The goal is stated at full size, which takes hours to seed here:
#
#   N=10000000 M=10000000 SQLITE_N=0 bash bench/reconcile.sh
#
# With REUSE=1 the registries and data sets of an earlier run with the same
# sizes are reused (schema bench_recon, bench/out/reconcile).
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${PG:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
N=${N:-200000}
M=${M:-200000}
SQLITE_N=${SQLITE_N:-100000}
SQLITE_M=${SQLITE_M:-100000}
SCHEMA=bench_recon
OUT=bench/out/reconcile
DB="$PG&search_path=$SCHEMA"
mkdir -p "$OUT"
go build -o "$OUT/cancuoc" ./cmd/cancuoc
go build -o "$OUT/reconbench" ./bench/reconbench

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN{printf "%.0f", n/s}'; }
records() { echo $(( $(wc -l <"$1") - 1 )); }

# load BACKEND DATABASE N M: seed the registry and write its partner data
# set (every record with its PIN; the no-PIN copy is the same records
# without PIN and card number).
load() {
  local dir="$OUT/$1"
  mkdir -p "$dir"
  if [ -n "${REUSE:-}" ] && [ -s "$dir/pin.csv" ]; then echo "reusing $dir"; return; fi
  "$OUT/cancuoc" seed --database "$2" --citizens "$3" --partner-dataset "$dir/pin.csv" --partner-n "$4" \
    --partner-pin-share 1 2>/dev/null | tee "$dir/seed.txt"
  "$OUT/reconbench" strip-pins "$dir/pin.csv" "$dir/nopin.csv"
}

# run BACKEND DATABASE MODE: one reconciliation; prints "seconds records".
run() {
  local dir="$OUT/$1" t0 t1
  rm -f "$dir/$3-report.csv"
  t0=$(now)
  "$OUT/cancuoc" reconcile "$dir/$3.csv" --database "$2" --report "$dir/$3-report.csv" \
    --truth "$dir/pin-truth.csv" >"$dir/$3.txt" 2>/dev/null
  t1=$(now)
  echo "$(secs "$t0" "$t1") $(records "$dir/$3.csv")"
}

# ref: the PIN join in raw PostgreSQL, same input, same server.
ref() {
  local dir="$OUT/pg" t0 t1
  t0=$(now)
  PGOPTIONS="-c search_path=$SCHEMA" psql "$PG" -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE TEMP TABLE partner (record_id text, pin text, full_name text, birth_date text, sex text, address text, card_number text);
\copy partner FROM '$dir/pin.csv' WITH (FORMAT csv, HEADER true)
\copy (SELECT p.record_id, p.pin, CASE WHEN c.pin IS NULL THEN 'pin_unknown' WHEN c.life_status <> 'alive' THEN c.life_status WHEN p.full_name = c.doc->>'full_name' THEN 'matched' ELSE 'matched_with_differences' END FROM partner p LEFT JOIN citizens c ON c.pin = p.pin::bpchar) TO '$dir/ref-report.csv' WITH (FORMAT csv)
SQL
  t1=$(now)
  echo "$(secs "$t0" "$t1") $(records "$dir/pin.csv")"
}

if [ -z "${REUSE:-}" ]; then
  psql "$PG" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" 2>/dev/null
  psql "$PG" -qc "CREATE SCHEMA $SCHEMA"
  rm -rf "$OUT/sqlite"
fi
echo "== PostgreSQL: registry of $N, data set of about $M"
load pg "$DB" "$N" "$M"
echo "== SQLite: registry of $SQLITE_N, data set of about $SQLITE_M"
[ "$SQLITE_N" -gt 0 ] && load sqlite "$OUT/sqlite/cancuoc.db" "$SQLITE_N" "$SQLITE_M"

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== reference: COPY + join by PIN"; read -r ref_s ref_n < <(ref); echo "$ref_s s"
echo "== PIN mode on PostgreSQL"; read -r pin_s pin_n < <(run pg "$DB" pin); echo "$pin_s s"
echo "== reference again (interleaved)"; read -r ref2_s _ < <(ref); echo "$ref2_s s"
echo "== no-PIN mode on PostgreSQL"; read -r nop_s nop_n < <(run pg "$DB" nopin); echo "$nop_s s"
if [ "$SQLITE_N" -gt 0 ]; then
  echo "== SQLite"
  read -r spin_s spin_n < <(run sqlite "$OUT/sqlite/cancuoc.db" pin)
  read -r snop_s snop_n < <(run sqlite "$OUT/sqlite/cancuoc.db" nopin)
fi

ref_best=$(awk -v a="$ref_s" -v b="$ref2_s" 'BEGIN{print (a<b)?a:b}')
ref_rate=$(rate "$ref_n" "$ref_best")
pin_rate=$(rate "$pin_n" "$pin_s")
nop_rate=$(rate "$nop_n" "$nop_s")
ratio=$(awk -v a="$pin_rate" -v b="$ref_rate" 'BEGIN{printf "%.2f", a/b}')
summary() { sed -n '/matched (/p' "$1" | head -1; }
quality() { grep -o 'precision [0-9.]*%.*recall [0-9.]*%[^,]*' "$1" | head -1; }
phases() { grep '^time:' "$1" | sed 's/^time: //'; }
rss() { grep '^memory:' "$1" | sed 's/^memory: //'; }
snapshot() { grep '^registry as of' "$1" | sed 's/: changes.*//'; }
cores=$(nproc); mem=$(free -h | awk '/Mem:/{print $2}')
{
  echo "## Bulk reconciliation (\`bench/reconcile.sh\`)"
  echo
  echo "Written by \`bench/reconcile.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'): a registry of $N people on PostgreSQL"
  [ "$SQLITE_N" -gt 0 ] && echo "and $SQLITE_N on SQLite,"
  echo "partner data sets drawn from them with noise (\`cancuoc seed --partner-dataset\`). The goal is stated for"
  echo "10 million records against a 10-million registry (\`N=10000000 M=10000000 SQLITE_N=0 bash bench/reconcile.sh\`)."
  [ -n "${NOTE:-}" ] && { echo; echo "$NOTE"; }
  echo
  echo "Machine: $cores cores, $mem memory; $(uname -sr); $(psql --version | head -1); $(go version | awk '{print $3}'); load average at the start $load_start, at the end $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "cancuoc, PostgreSQL and psql share the cores, and other engineers' builds and tests share the machine, so"
  echo "absolute rates drift between minutes; compare the ratio taken in the same run."
  echo
  echo "cancuoc: \`cancuoc reconcile FILE\` end to end (wall time of the command: hash the input, scan the registry into the"
  echo "in-memory match index, parse and match in parallel workers, write the report, and per chunk of 50,000 records commit"
  echo "(duplicate keys in memory) the chunk's touched block (the sorted PINs of the citizens it touched), its one chained"
  echo "access-log entry naming the block, and the checkpoint). Reference for the PIN mode: raw PostgreSQL through psql, \`\\copy\` of the same CSV into a temporary"
  echo "table joined to \`citizens\` by PIN, comparing the name from the document and the life status, result rows written to a"
  echo "file; the faster of two runs around the cancuoc run. The no-PIN mode (blocking by birth date and name words, then"
  echo "Vietnamese-aware similarity) has no SQL equivalent and is measured against its goal."
  echo
  echo "| mode | backend | registry | records | cancuoc | reference | ratio | goal (at 10M) |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
  echo "| with PIN | PostgreSQL | $N | $pin_n | $pin_rate rec/s ($pin_s s) | $ref_rate rec/s (COPY + join, ${ref_best} s) | **$ratio** | 500,000 rec/s |"
  echo "| without PIN | PostgreSQL | $N | $nop_n | $nop_rate rec/s ($nop_s s) | — | $(awk -v a="$nop_rate" 'BEGIN{printf "%.2f", a/50000}') of goal | 50,000 rec/s |"
  if [ "$SQLITE_N" -gt 0 ]; then
    echo "| with PIN | SQLite | $SQLITE_N | $spin_n | $(rate "$spin_n" "$spin_s") rec/s ($spin_s s) | — | | |"
    echo "| without PIN | SQLite | $SQLITE_N | $snop_n | $(rate "$snop_n" "$snop_s") rec/s ($snop_s s) | — | | |"
  fi
  echo
  echo "Where cancuoc's time went (PostgreSQL): with PIN $(phases "$OUT/pg/pin.txt"); without PIN $(phases "$OUT/pg/nopin.txt")."
  echo
  echo "Memory (whole process): with PIN $(rss "$OUT/pg/pin.txt"); without PIN $(rss "$OUT/pg/nopin.txt"). Snapshot: with PIN $(snapshot "$OUT/pg/pin.txt"); without PIN $(snapshot "$OUT/pg/nopin.txt")."
  echo
  echo "Results (PostgreSQL): with PIN \"$(summary "$OUT/pg/pin.txt")\"; without PIN \"$(summary "$OUT/pg/nopin.txt")\"."
  echo
  echo "**Precision and recall of the no-PIN mode** against the data set's truth (goal: precision ≥ 99.5%, recall ≥ 99%):"
  echo "PostgreSQL, $nop_n records: $(quality "$OUT/pg/nopin.txt")."
  [ "$SQLITE_N" -gt 0 ] && echo "SQLite, $snop_n records: $(quality "$OUT/sqlite/nopin.txt")."
  echo "The noise (rates per record, independent): names without diacritics 30%, one typo 5%, family name last 3%,"
  echo "day and month swapped 3%, pre-2025 address 20%, no address 10%, no sex 20%; about 3% of records are people"
  echo "who are not in the registry and 1% are sent twice; the registry holds dead and missing people and records with"
  echo "only a birth year or month."
} > bench/results/50-reconcile.md
cat bench/results/50-reconcile.md
bash bench/assemble.sh
