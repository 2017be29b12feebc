#!/usr/bin/env bash
# `make run`: installs what is missing, starts the whole system on loopback,
# prints where to look, and stops everything on Ctrl-C.
source "$(dirname "$0")/lib.sh"
cd "$PLAZA_ROOT"

LOG_DIR="$DATA_DIR/logs"
declare -a CHILDREN=()

cleanup() {
  trap - INT TERM EXIT
  log "stopping…"
  local pid
  for pid in "${CHILDREN[@]}"; do kill -TERM "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${CHILDREN[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  done
  scripts/services.sh stop
  log "everything stopped"
}

# spawn NAME CMD...: runs CMD in its own process group, logging to .data/logs/NAME.log.
spawn() {
  local name=$1
  shift
  setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
  CHILDREN+=($!)
}

scripts/bootstrap.sh
mkdir -p "$LOG_DIR"
trap cleanup INT TERM EXIT
scripts/services.sh start

cat <<INFO

  Plaza is running (loopback only). Ctrl-C stops everything.

  Redis      redis://127.0.0.1:$PLAZA_REDIS_PORT      (redis-cli -p $PLAZA_REDIS_PORT)
  FerretDB   mongodb://127.0.0.1:$PLAZA_MONGO_PORT/   (MongoDB wire protocol)
  Logs       $LOG_DIR/

INFO
while true; do
  for pid in "${CHILDREN[@]}"; do
    kill -0 "$pid" 2>/dev/null || die "a Plaza process (pid $pid) exited; see $LOG_DIR"
  done
  sleep 1
done
