#!/usr/bin/env bash
# OpenID provider benchmark: complete authorization code + PKCE logins per
# second (authorize → login page → password + TOTP, or a passkey → consent
# already given → code → token → userinfo) against a real `cancuoc serve`,
# on SQLite and on PostgreSQL; argon2id password hashes per second at the
# default parameters; token introspection requests per second beside a
# plain Go HTTP handler answering the same request (wrk, same run). Writes
# bench/results/20-oidc.md and rebuilds bench/RESULTS.md.
#
# Small scale (default, a few minutes on the shared 2-core machine):
#   bash bench/oidc.sh
# Full size:
#   ACCOUNTS=30000 PASSKEYS=2000 CLIENTS=64 DURATION=60s bash bench/oidc.sh
#
# ACCOUNTS: citizens with an account, password and TOTP (a TOTP code is
# accepted once per account and 30-second step, so the TOTP load needs
# about 30 accounts per login/s); PASSKEYS: how many of them also have a
# passkey; CLIENTS: concurrent logins (closed loop) and wrk connections;
# DURATION: each run. DATABASES: which halves run ("sqlite pg", the
# default; "pg" alone for the PostgreSQL half); MODES: which logins ("totp
# passkey"; "passkey" alone skips the TOTP enrolment's 31 s wait). PROFILE=1 also writes CPU profiles of the server
# during each run (pprof, --debug-addr) to bench/out/oidc/. The load
# generator reports its own CPU time, and the load average is kept before
# and after each run: the machine is shared.
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${PG:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
ACCOUNTS=${ACCOUNTS:-1500}
PASSKEYS=${PASSKEYS:-200}
CLIENTS=${CLIENTS:-16}
DURATION=${DURATION:-15s}
# PORT: the SQLite server's port; PostgreSQL's is PORT+1, their debug
# ports +10 and +11, the plain handler's +20. SCHEMA: PostgreSQL schema.
PORT=${PORT:-18850}
SCHEMA=${SCHEMA:-bench_oidc}
DATABASES=${DATABASES:-sqlite pg}
MODES=${MODES:-totp passkey}
PLAIN=127.0.0.1:$((PORT + 20))
OUT=bench/out/oidc
rm -rf "$OUT"
mkdir -p "$OUT"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
go build -o "$OUT/cancuoc" ./cmd/cancuoc
go build -o "$OUT/oidcbench" ./bench/oidcbench
SECRET=$(openssl rand -hex 32)

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
cputicks() { awk '{print $14+$15}' "/proc/$1/stat"; }
# dbticks NAME: CPU ticks of the PostgreSQL backends serving the server of
# NAME (its application_name); 0 for SQLite, whose work is in the server.
dbticks() {
  [ "$1" = pg ] || { echo 0; return; }
  local f
  f=$(psql -At "$PG" -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$SCHEMA'" | sed 's|^|/proc/|; s|$|/stat|')
  # shellcheck disable=SC2086
  [ -n "$f" ] && awk '{s += $14 + $15} END {print s + 0}' $f 2>/dev/null || echo 0
}

# measure NAME PORT DB: serves DB, prepares accounts, runs the logins and
# the introspection load; results in $OUT/NAME-*.json.
measure() {
  local name=$1 port=$2 db=$3 dbg=$(($2 + 10))
  local app=""
  [ "$name" = pg ] && app="&application_name=$SCHEMA"
  "$OUT/cancuoc" serve --addr "127.0.0.1:$port" --database "$db$app" --data-dir "$OUT/$name-data" --demo-citizens 0 \
    --log-level warn --oidc-secret "$SECRET" --debug-addr "127.0.0.1:$dbg" >"$OUT/$name.out" 2>"$OUT/$name.err" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
  "$OUT/oidcbench" prepare -database "$db" -secret "$SECRET" -issuer "http://127.0.0.1:$port/oidc" \
    -origin "http://127.0.0.1:$port" -accounts "$ACCOUNTS" -passkeys "$PASSKEYS" -state "$OUT/$name.state" | tee "$OUT/$name-prepare.json"
  case " $MODES " in *" totp "*) sleep 31 ;; esac # the TOTP step of the enrolments passes
  for mode in $MODES; do
    local t0 t1 d0 d1 prof=""
    cut -d' ' -f1-3 /proc/loadavg >"$OUT/$name-$mode-load.txt"
    # Backends that start during the run count from zero; ones that end
    # during it are lost (the pool keeps its connections, so few do).
    d0=$(dbticks "$name")
    t0=$(cputicks "$pid")
    if [ "${PROFILE:-}" = 1 ]; then
      curl -s "http://127.0.0.1:$dbg/debug/pprof/profile?seconds=10" -o "$OUT/$name-$mode.prof" &
      prof=$!
    fi
    "$OUT/oidcbench" run -state "$OUT/$name.state" -mode "$mode" -c "$CLIENTS" -d "$DURATION" >"$OUT/$name-$mode.json"
    t1=$(cputicks "$pid")
    d1=$(dbticks "$name")
    cut -d' ' -f1-3 /proc/loadavg >>"$OUT/$name-$mode-load.txt"
    if [ -n "$prof" ]; then wait "$prof"; fi
    # bc prints ".80" for 0.80, which is not JSON: awk formats the number.
    echo "{\"server_cpu_s\": $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 100 }'),"\
      "\"db_cpu_s\": $(awk -v a="$d0" -v b="$d1" 'BEGIN { printf "%.2f", (b - a) / 100 }')}" >"$OUT/$name-$mode-cpu.json"
    cat "$OUT/$name-$mode.json"
  done
  # Token introspection by the client, beside the plain handler.
  local tok
  tok=$("$OUT/oidcbench" token -state "$OUT/$name.state")
  TOKEN=$(echo "$tok" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])') \
  BASIC=$(echo "$tok" | python3 -c 'import json,sys; print(json.load(sys.stdin)["basic"])') \
    wrk -t2 -c"$CLIENTS" -d"$DURATION" -s bench/introspect.lua "http://127.0.0.1:$port/oidc/oauth/introspect" | tail -1 >"$OUT/$name-introspect.json"
  TOKEN=x BASIC=eDp4 wrk -t2 -c"$CLIENTS" -d"$DURATION" -s bench/introspect.lua "http://$PLAIN/introspect" | tail -1 >"$OUT/$name-plain.json"
  cat "$OUT/$name-introspect.json" "$OUT/$name-plain.json"
  kill "$pid"
}

"$OUT/oidcbench" plain -addr "$PLAIN" &
pids+=($!)
"$OUT/oidcbench" hash -d 10s -threads "$(nproc)" | tee "$OUT/hash.json"
case " $DATABASES " in *" sqlite "*) measure sqlite "$PORT" "$OUT/sqlite.db" ;; esac
case " $DATABASES " in *" pg "*)
  psql -q "$PG" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE; CREATE SCHEMA $SCHEMA"
  measure pg $((PORT + 1)) "$PG&search_path=$SCHEMA"
  psql -q "$PG" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE"
  ;;
esac

python3 bench/oidc_report.py "$OUT" "$ACCOUNTS" "$PASSKEYS" "$CLIENTS" "$DURATION" >bench/results/20-oidc.md
bash bench/assemble.sh
