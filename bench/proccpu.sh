# Sourced by the bench scripts that report CPU time per operation.

# ticks PID...: the CPU time (user + system, in clock ticks) of processes.
ticks() {
  local t=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}

# pg_backends APP: the PostgreSQL backends whose connections carry the
# application_name APP.
pg_backends() {
  psql -h 127.0.0.1 -U postgres -d test -Atc "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'" | tr '\n' ' '
}
