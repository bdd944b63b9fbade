#!/usr/bin/env bash
# Webhook delivery beside a plain HTTP client, in one run; writes
# bench/results/65-webhook.md and rebuilds bench/RESULTS.md.
#
# N events (one webhook each, about CITIZENS citizens so order per citizen
# is kept) are fanned out by the dispatcher's handler into deliveries, then
# the webhook worker claims, signs (Ed25519, Standard Webhooks v1a), POSTs
# to a local receiver and records each one; the reference is a plain Go
# net/http client POSTing the same payloads to the same receiver with the
# same CONCURRENCY. Both on SQLite (a file) and, when PG is reachable, on
# PostgreSQL. ROUNDS rounds; the table gives medians.
#
# Small scale (default, a few minutes on a shared machine):
#   bash bench/webhook.sh
# Full size:
#   N=100000 CITIZENS=20000 ROUNDS=5 bash bench/webhook.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-2000}
CITIZENS=${CITIZENS:-1000}
CONCURRENCY=${CONCURRENCY:-16}
ROUNDS=${ROUNDS:-3}
PG=${PG:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
OUT=bench/out/webhook
mkdir -p "$OUT"
rm -f "$OUT"/*.json
go build -o "$OUT/webhookbench" ./bench/webhookbench
backends=(sqlite)
if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then backends+=(postgres); fi
port=19450
for r in $(seq 1 "$ROUNDS"); do
  for b in "${backends[@]}"; do
    port=$((port + 1))
    args=(-n "$N" -citizens "$CITIZENS" -concurrency "$CONCURRENCY" -addr "127.0.0.1:$port")
    [ "$b" = postgres ] && args+=(-postgres "$PG")
    "$OUT/webhookbench" "${args[@]}" >"$OUT/$b-$r.json"
    echo "round $r $b: $(cat "$OUT/$b-$r.json")"
  done
done

python3 - "$OUT" "$N" "$CITIZENS" "$CONCURRENCY" "$ROUNDS" "${backends[@]}" <<'PY' > bench/results/65-webhook.md
import json, sys, glob, statistics, subprocess, datetime, platform, os
out, n, citizens, conc, rounds, *backends = sys.argv[1:]
def sh(c):
    try: return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception: return "?"
cpu = sh("nproc") + " cores (" + sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs") + ")"
mem = sh("free -h | awk '/Mem:/{print $2}'")
load = sh("cut -d' ' -f1-3 /proc/loadavg")
print("## Webhooks to partners: signed delivery vs a plain HTTP client (`bench/webhook.sh`)\n")
print(f"Written by `bench/webhook.sh` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
      f"at small scale: {n} events about {citizens} citizens, {conc} requests in flight, medians of {rounds} rounds. "
      "Full size: `N=100000 CITIZENS=20000 ROUNDS=5 bash bench/webhook.sh`.\n")
print(f"Machine: {cpu}, {mem} memory; {platform.system()} {platform.release()}; {sh('go version')}; "
      f"load average at the end {load} (shared with other builds and tests: compare the ratio, not absolute rates).\n")
print("cancuoc: the webhook worker claims due deliveries (in order per citizen), signs each body with Ed25519 "
      "(Standard Webhooks v1a), POSTs it to a local receiver that answers 204, and records the outcome (outcomes that finish together share "
      "one transaction). Reference: a plain Go `net/http` client POSTing the same payloads to the same "
      "receiver with the same concurrency, nothing signed or recorded. The fan-out (the dispatcher's handler writing "
      "one delivery row per event, and the access-log entry for the PIN it discloses) is measured on its own.\n")
print("| backend | fan-out events/s | webhooks delivered/s | plain client POSTs/s | ratio (goal ≥ 0.5) |")
print("|---|---:|---:|---:|---:|")
for b in backends:
    rs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{b}-*.json"))]
    med = lambda k: statistics.median(r[k] for r in rs)
    ratio = statistics.median(r["webhook_per_s"] / r["plain_per_s"] for r in rs)
    print(f"| {rs[0]['backend']} | {med('fanout_per_s'):.0f} | {med('webhook_per_s'):.0f} | {med('plain_per_s'):.0f} | **{ratio:.2f}** |")
print()
for b in backends:
    rs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{b}-*.json"))]
    print(f"Rounds on {rs[0]['backend']} (webhooks/s vs plain/s): " + ", ".join(f"{r['webhook_per_s']:.0f} vs {r['plain_per_s']:.0f}" for r in rs) +
          f"; every round received all {rs[0]['n']} webhooks: {all(r['received'] >= r['n'] for r in rs)}.\n")
PY
bash bench/assemble.sh
