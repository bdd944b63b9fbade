#!/usr/bin/env bash
# CPU per record of a reconciliation with PINs (issue 4), end to end:
# `cancuoc reconcile` on the records of a data set that carry a PIN (the
# others go through the no-PIN mode), CPU seconds of the cancuoc process
# (user + sys) and of its PostgreSQL backends and their parallel workers
# (/proc/PID/stat, found by application_name and leader_pid, sampled every
# 0.1 s), which on a shared machine mean more than the wall time.
#
#   bash bench/reconcile-pin.sh BINARY DATA.csv SCHEMA TAG [reconcile flags]
#
# e.g. against the shared 10-million registry (one such run at a time):
#   flock /work/big/run.lock bash bench/reconcile-pin.sh bench/out/cancuoc \
#     /work/big/pg/pin.csv bench_recon after
# The PIN-only file is written once beside DATA (DATA-pinonly.csv).
set -euo pipefail
BIN=$1 DATA=$2 SCHEMA=$3 TAG=$4
shift 4
PG=${PG:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
APP="recpin_${TAG}_$$"
OUT=${OUT:-bench/out/reconcile-pin}
mkdir -p "$OUT"
IN="${DATA%.csv}-pinonly.csv"
if [ ! -s "$IN" ]; then
  python3 - "$DATA" "$IN" <<'PY'
import csv, sys
with open(sys.argv[1], newline='') as f, open(sys.argv[2], 'w', newline='') as o:
    r = csv.reader(f); w = csv.writer(o, lineterminator='\n')
    h = next(r); w.writerow(h); i = h.index('pin')
    for row in r:
        if row[i].strip():
            w.writerow(row)
PY
fi
declare -A pgcpu
t0=$(date +%s.%N)
/usr/bin/time -f "%U %S %M" -o "$OUT/$TAG.time" nice -n 10 "$BIN" reconcile "$IN" \
  --database "$PG&search_path=$SCHEMA&application_name=$APP" --report "$OUT/$TAG-report.csv" "$@" \
  >"$OUT/$TAG.txt" 2>"$OUT/$TAG.err" &
pid=$!
while kill -0 $pid 2>/dev/null; do
  for p in $(psql "$PG" -Atc "SELECT pid FROM pg_stat_activity WHERE application_name = '$APP'
      OR leader_pid IN (SELECT pid FROM pg_stat_activity WHERE application_name = '$APP')" 2>/dev/null); do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || true)
    [ -n "$v" ] && pgcpu[$p]=$v
  done
  sleep 0.1
done
wait $pid
t1=$(date +%s.%N)
pg=0
for p in "${!pgcpu[@]}"; do pg=$((pg + pgcpu[$p])); done
read -r u s m <"$OUT/$TAG.time"
n=$(($(wc -l <"$IN") - 1))
awk -v u="$u" -v s="$s" -v pg="$pg" -v tick="$(getconf CLK_TCK)" -v n="$n" -v a="$t0" -v b="$t1" -v m="$m" \
  -v tag="$TAG" -v la="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
  pgs = pg / tick
  printf "%s: %d records, wall %.1f s, cancuoc %.2f s (user %.2f, sys %.2f), PostgreSQL %.2f s, %.2f µs CPU a record, peak RSS %d MiB, load %s\n",
    tag, n, b - a, u + s, u, s, pgs, (u + s + pgs) / n * 1e6, m / 1024, la }'
grep '^time:' "$OUT/$TAG.txt"
md5sum <"$OUT/$TAG-report.csv"
