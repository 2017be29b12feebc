#!/usr/bin/env bash
# Local backing services on loopback: Redis and FerretDB (SQLite backend).
#   scripts/services.sh start|stop|status|restart-redis|restart-ferretdb
# Data, logs and pid files live under .data/ (git-ignored). `start` waits
# until both answer; `stop` leaves no process behind.
source "$(dirname "$0")/lib.sh"

REDIS_DIR="$DATA_DIR/redis"
FERRET_DIR="$DATA_DIR/ferretdb"

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_redis() {
  mkdir -p "$REDIS_DIR"
  if pid_alive "$REDIS_DIR/redis.pid"; then return 0; fi
  command -v redis-server >/dev/null || die "redis-server missing: run scripts/bootstrap.sh"
  redis-server --bind 127.0.0.1 --port "$PLAZA_REDIS_PORT" --protected-mode yes \
    --dir "$REDIS_DIR" --daemonize yes --pidfile "$REDIS_DIR/redis.pid" \
    --logfile "$REDIS_DIR/redis.log" --save "" --appendonly yes --appendfsync everysec
  wait_for_port 127.0.0.1 "$PLAZA_REDIS_PORT" 20 || die "Redis did not start; see $REDIS_DIR/redis.log"
  for _ in $(seq 1 100); do
    [[ $(redis-cli -p "$PLAZA_REDIS_PORT" ping 2>/dev/null) == PONG ]] && { log "redis ready on 127.0.0.1:$PLAZA_REDIS_PORT"; return 0; }
    sleep 0.1
  done
  die "Redis does not answer PING; see $REDIS_DIR/redis.log"
}

start_ferretdb() {
  mkdir -p "$FERRET_DIR/sqlite"
  if pid_alive "$FERRET_DIR/ferretdb.pid"; then return 0; fi
  [[ -x $TOOLS_DIR/bin/ferretdb ]] || die "FerretDB missing: run scripts/bootstrap.sh"
  setsid "$TOOLS_DIR/bin/ferretdb" --handler=sqlite --sqlite-url="file:$FERRET_DIR/sqlite/" \
    --state-dir="$FERRET_DIR" --listen-addr="127.0.0.1:$PLAZA_MONGO_PORT" \
    --debug-addr="127.0.0.1:$PLAZA_FERRETDB_DEBUG_PORT" --telemetry=disable \
    --log-level=warn --log-format=json >>"$FERRET_DIR/ferretdb.log" 2>&1 </dev/null &
  echo $! >"$FERRET_DIR/ferretdb.pid"
  wait_for_port 127.0.0.1 "$PLAZA_MONGO_PORT" 30 || die "FerretDB did not start; see $FERRET_DIR/ferretdb.log"
  log "ferretdb ready on 127.0.0.1:$PLAZA_MONGO_PORT (MongoDB wire protocol)"
}

stop_pidfile() {
  local pidfile=$1 name=$2 pid
  pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  log "$name stopped"
}

case "${1:-}" in
  start) start_redis; start_ferretdb ;;
  stop) stop_pidfile "$FERRET_DIR/ferretdb.pid" ferretdb; stop_pidfile "$REDIS_DIR/redis.pid" redis ;;
  status)
    pid_alive "$REDIS_DIR/redis.pid" && echo "redis: running (127.0.0.1:$PLAZA_REDIS_PORT)" || echo "redis: stopped"
    pid_alive "$FERRET_DIR/ferretdb.pid" && echo "ferretdb: running (127.0.0.1:$PLAZA_MONGO_PORT)" || echo "ferretdb: stopped" ;;
  restart-redis) stop_pidfile "$REDIS_DIR/redis.pid" redis; start_redis ;;
  restart-ferretdb) stop_pidfile "$FERRET_DIR/ferretdb.pid" ferretdb; start_ferretdb ;;
  *) die "usage: $0 start|stop|status|restart-redis|restart-ferretdb" ;;
esac
