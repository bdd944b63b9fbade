#!/usr/bin/env bash
# What the events' floor (bench/natsfloor) costs in three ways of consuming
# them, side by side, alternated ROUNDS times on fresh NATS servers: each
# batch acknowledged with its last message (AckAll, the floor of
# bench/procedures.sh), every message acknowledged (AckExplicit, as
# cancuoc's consumers do), and one consumer per set of filters. Prints the
# NATS server's and the client's CPU per procedure, in milliseconds, and
# their means; writes nothing.
#
#   bash bench/natsfloor.sh            # N=3000 ROUNDS=3
#
# NATS is the nats-server release in go.mod, built here (NATS=path runs
# another binary). Port PORT (19099 unless set).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-3000} ROUNDS=${ROUNDS:-3} PORT=${PORT:-19099}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
if [ -z "${NATS:-}" ]; then NATS=$OUT/nats-server; go build -o "$NATS" github.com/nats-io/nats-server/v2; fi
go build -o "$OUT/natsfloor" ./bench/natsfloor
TCK=$(getconf CLK_TCK)
declare -A FLAGS=([ack-batch]="" [ack-each]="-ack-each" [share-filters]="-share-filters")
for r in $(seq 1 "$ROUNDS"); do
  for mode in ack-batch ack-each share-filters; do
    rm -rf "$OUT/sd"
    "$NATS" -a 127.0.0.1 -p "$PORT" -js -sd "$OUT/sd" >/dev/null 2>&1 &
    np=$!
    for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
    # shellcheck disable=SC2086
    client=$("$OUT/natsfloor" -url "nats://127.0.0.1:$PORT" -n "$N" ${FLAGS[$mode]} | grep -o '"client_cpu_seconds":[0-9.]*' | cut -d: -f2)
    server=$(sed 's/.*) //' "/proc/$np/stat" | awk -v t="$TCK" '{print ($12 + $13) / t}')
    kill "$np"; wait "$np" 2>/dev/null || true
    echo "$mode $server $client"
  done
done | awk -v n="$N" '{ printf "%-14s server %.3f ms  client %.3f ms\n", $1, 1000*$2/n, 1000*$3/n; s[$1] += $2; c[$1] += $3; k[$1]++ }
  END { for (m in s) printf "mean %-14s server %.3f ms  client %.3f ms  (%d rounds)\n", m, 1000*s[m]/k[m]/n, 1000*c[m]/k[m]/n, k[m] }'
