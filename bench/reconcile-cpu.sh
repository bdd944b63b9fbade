#!/usr/bin/env bash
# CPU per record of bulk reconciliation's in-memory side (issue 4): parsing
# the input and matching against the in-memory index, with and without PINs,
# measured by the Go benchmarks in reconcile/bench_test.go as CPU time per
# record (getrusage: user + system, all threads, garbage collection
# included), which does not depend on what else runs on the machine.
# Writes bench/results/51-reconcile-cpu.md and rebuilds bench/RESULTS.md.
#
#   BASE=<commit> compares with that commit's code (same benchmarks, copied
#   into an archive of it), e.g. BASE=587bb80.
#   N=<records per benchmark> (default 300000).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-300000}
OUT=bench/out/reconcile-cpu
mkdir -p "$OUT"

bench() { # DIR OUTFILE
  (cd "$1" && go test ./reconcile -run XXX -bench 'Parse|Match' -benchtime "${N}x") >"$2"
}
bench . "$OUT/new.txt"
if [ -n "${BASE:-}" ]; then
  rm -rf "$OUT/base" && mkdir -p "$OUT/base"
  git archive "$BASE" | tar -x -C "$OUT/base"
  cp reconcile/bench_test.go "$OUT/base/reconcile/"
  bench "$OUT/base" "$OUT/base.txt"
fi

# row FILE NAME: "cpu-ns/record allocs/op" of one benchmark
row() { awk -v n="Benchmark$2-" 'index($1, n) == 1 { for (i = 1; i <= NF; i++) { if ($(i+1) == "cpu-ns/record") c = $i; if ($(i+1) == "allocs/op") a = $i } } END { printf "%s %s", c, a }' "$1"; }
load=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "## Bulk reconciliation: CPU per record (\`bench/reconcile-cpu.sh\`)"
  echo
  echo "Written by \`bench/reconcile-cpu.sh\` on $(date -u '+%Y-%m-%d %H:%M') UTC ($(go version | cut -d' ' -f3), load average $load):"
  echo "the Go benchmarks of reconcile/bench_test.go over $N records of a synthetic partner data set (default noise)"
  echo "drawn from a 20,000-person registry, CPU time per record (user + system of the whole process, garbage"
  echo "collection included). Parse is the reader and Parse; Match is Parse and Matcher.Match against the in-memory"
  echo "index, per chunk of 1,000 records, as a job's worker does. The goals on 2 cores: about 4 µs a record with"
  echo "PINs (500,000 rec/s) and 40 µs without (50,000 rec/s), for everything a job does."
  echo
  if [ -n "${BASE:-}" ]; then
    echo "| benchmark | before ($BASE) CPU/record | allocs | now CPU/record | allocs | records/s on 2 idle cores (now) |"
    echo "|---|---:|---:|---:|---:|---:|"
  else
    echo "| benchmark | CPU/record | allocs | records/s on 2 idle cores |"
    echo "|---|---:|---:|---:|"
  fi
  for b in ParseCSV ParseJSONL MatchPIN MatchNoPIN; do
    read -r c a <<<"$(row "$OUT/new.txt" "$b")"
    cap=$(awk -v c="$c" 'BEGIN { printf "%.0f", 2e9 / c }')
    if [ -n "${BASE:-}" ]; then
      read -r bc ba <<<"$(row "$OUT/base.txt" "$b")"
      echo "| $b | ${bc} ns | $ba | ${c} ns | $a | $cap |"
    else
      echo "| $b | ${c} ns | $a | $cap |"
    fi
  done
} >bench/results/51-reconcile-cpu.md
bash bench/assemble.sh
