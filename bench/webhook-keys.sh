#!/usr/bin/env bash
# CPU cost of signing one webhook with rotating keys, beside the single key
# of before; writes bench/results/66-webhook-keys.md and rebuilds
# bench/RESULTS.md.
#
# The Go benchmark webhook.BenchmarkSignature measures the process's
# user+system CPU time per signature (getrusage), not wall time, so the
# numbers hold on a loaded machine: "direct" is Signer.Sign (the worker
# before rotation), "static" the same key through the service, "stored" the
# keyring read from the database (one live key, cached), "overlap" the
# keyring during a rotation (two signatures per webhook). COUNT runs of
# ITER signatures each; the table gives medians.
set -euo pipefail
cd "$(dirname "$0")/.."
ITER=${ITER:-5000}
COUNT=${COUNT:-5}
OUT=bench/out/webhook-keys
mkdir -p "$OUT"
go test ./webhook -run '^$' -bench '^BenchmarkSignature$' -benchtime "${ITER}x" -count "$COUNT" | tee "$OUT/bench.txt"
load=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$OUT/bench.txt" "$load" "$ITER" "$COUNT" <<'PY' > bench/results/66-webhook-keys.md
import re, statistics, sys, datetime
path, load, it, count = sys.argv[1:5]
runs = {}
for line in open(path):
    m = re.match(r'BenchmarkSignature/(\w+)-\d+\s+\d+\s+[\d.]+ ns/op\s+([\d.]+) cpu-ns/op', line)
    if m:
        runs.setdefault(m.group(1), []).append(float(m.group(2)))
med = {k: statistics.median(v) for k, v in runs.items()}
now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
print('## Webhook signing keys: CPU per signed webhook (`bench/webhook-keys.sh`)')
print()
print(f'Written by `bench/webhook-keys.sh` on {now}: {count} runs of {it} signatures, medians of the process\'s user+system CPU time per webhook (getrusage), not wall time, so the load average at the end ({load}, a shared machine) sways them far less than throughput.')
print()
print('| signing | CPU µs per webhook | webhooks/s on 2 idle cores (signing alone) |')
print('|---|---:|---:|')
names = {'direct': 'one key, `Signer.Sign` (before rotation)', 'static': 'one fixed key through the service',
         'stored': 'stored keyring, one live key (cached a minute)', 'overlap': 'during a rotation: two signatures'}
for k in ['direct', 'static', 'stored', 'overlap']:
    if k in med:
        print(f'| {names[k]} | {med[k]/1000:.1f} | {2e9/med[k]:,.0f} |')
print()
print('Signing is a small part of a webhook\'s cost (see the delivery benchmark above); a rotation doubles it for its overlap (the retry window, 73 h by default), then it returns to one signature.')
PY
bash bench/assemble.sh
