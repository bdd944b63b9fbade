#!/usr/bin/env bash
# Chip-card verification beside its reference in the same run; writes
# bench/results/30-chip.md and rebuilds bench/RESULTS.md.
#
# Measured: verifications per second by chipcheck (challenge issued and
# consumed through the store, passive + active authentication, registry
# comparison, access-log entry), in process and over HTTP, on SQLite and
# PostgreSQL; reference: the same three ECDSA P-256 signature
# verifications done directly with crypto/ecdsa.
#
# Full size (a few minutes on 2 idle cores):
#   CITIZENS=1000000 CARDS=2000 DURATION=10s ROUNDS=3 WORKERS=16 bash bench/chip.sh
# Defaults are a small scale that finishes in about two minutes; the
# committed results used CITIZENS=100000 CARDS=1000 (about four minutes).
# Needs PostgreSQL at $PG (set PG= to measure SQLite only). Port 19250-19251.
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${PG-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
CITIZENS=${CITIZENS:-20000}
CARDS=${CARDS:-200}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-16}
machine="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //' | awk '{print $1, $2, $3}')), $(free -h | awk '/Mem:/{print $2}') memory; Linux $(uname -r); $(go version | awk '{print $3}')"
if [ -n "$PG" ]; then machine="$machine; PostgreSQL $(psql "$PG" -tAc 'show server_version' 2>/dev/null || echo '?') on the same cores"; fi
machine="$machine; load average $(cut -d' ' -f1 /proc/loadavg) when the run began (other engineers' builds), so absolute rates are far below an idle machine's"
machine="$machine; small scale: $CITIZENS citizens, $CARDS cards (full size: see the header of bench/chip.sh)"
go run ./bench/chipbench -citizens "$CITIZENS" -cards "$CARDS" -duration "$DURATION" -rounds "$ROUNDS" \
  -workers "$WORKERS" -pg "$PG" -port 19250 -out bench/results/30-chip.md -machine "$machine"
bash bench/assemble.sh
