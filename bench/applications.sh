#!/usr/bin/env bash
# Online applications benchmark: the cost of an officer approving a
# citizen's temporary-residence application (the application claimed with
# a versioned update, the decision's access-log entry, and the residence
# registration through residence.RegisterTemporaryTx, in one transaction),
# beside the reference in the same run: the officer registering the same
# temporary residence directly (residence.RegisterTemporary). SQLite file,
# one decision at a time; wall and CPU time per decision (process rusage
# over the timed part). Writes bench/results/55-applications.md and
# rebuilds bench/RESULTS.md.
#
#   N=200 ROUNDS=3 bash bench/applications.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-200}
ROUNDS=${ROUNDS:-3}
OUT=bench/out/applications
mkdir -p "$OUT"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
go test -run XXX -bench 'BenchmarkApproveApplication|BenchmarkDirectTemporary' -benchtime "${N}x" -count "$ROUNDS" ./application/ | tee "$OUT/bench.txt"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# median of a benchmark's column (3: ns/op, 5: cpu-µs/op)
med() { grep "^$1-" "$OUT/bench.txt" | awk -v c="$2" '{print $c}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
app_ns=$(med BenchmarkApproveApplication 3); app_cpu=$(med BenchmarkApproveApplication 5)
ref_ns=$(med BenchmarkDirectTemporary 3); ref_cpu=$(med BenchmarkDirectTemporary 5)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
per_cpu_s() { awk -v us="$1" 'BEGIN {printf "%.0f", 1e6/us}'; }

cat > bench/results/55-applications.md <<MD
## Online applications: approving a temporary-residence application

Run $(date -u +%Y-%m-%d) on $(nproc) cores shared with other work; load average $load_before before, $load_after after.
SQLite file, one decision at a time, $N decisions × $ROUNDS rounds, medians (\`bash bench/applications.sh\`).

| | ms per decision (wall) | CPU µs per decision | decisions per CPU-second |
|---|---:|---:|---:|
| approve the citizen's application | $(awk -v n="$app_ns" 'BEGIN {printf "%.2f", n/1e6}') | $app_cpu | $(per_cpu_s "$app_cpu") |
| reference: the officer registers it directly | $(awk -v n="$ref_ns" 'BEGIN {printf "%.2f", n/1e6}') | $ref_cpu | $(per_cpu_s "$ref_cpu") |
| ratio (application / direct) | $(ratio "$app_ns" "$ref_ns") | $(ratio "$app_cpu" "$ref_cpu") | |

The approval adds, to the same registration, reading and claiming the application (a versioned
UPDATE) and one more entry in the hash-chained access log; both run in the registration's
transaction, so the ratio is the price of a decision that cannot apply twice.
MD
bash bench/assemble.sh
