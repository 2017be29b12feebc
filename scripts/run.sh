#!/usr/bin/env bash
# `make run`: installs what is missing, starts the whole system on loopback,
# prints where to look, and stops everything on Ctrl-C.
source "$(dirname "$0")/lib.sh"
cd "$PLAZA_ROOT"

LOG_DIR="$DATA_DIR/logs"
declare -a CHILDREN=()

cleanup() {
  # Keep cleaning up even if whatever reads our output (a pipe, e.g.
  # `make run | tee log` after Ctrl-C) is gone: a failed log line must not
  # end the clean-up under `set -e`.
  set +e
  trap '' PIPE INT TERM HUP
  trap - EXIT
  # With the reader gone, send the rest (ours and services.sh's, which runs
  # under `set -e` too) to a log file instead.
  if ! log "stopping…"; then
    exec >>"$LOG_DIR/run.log" 2>&1
    log "stopping… (the terminal or pipe went away)"
  fi
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

# wait_http URL SECONDS: true once URL answers 2xx.
wait_http() {
  local url=$1 deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

RELAYS=(relay-a relay-b)
BOTS="${PLAZA_DEMO_BOTS:-6}"
BIN_DIR="$PLAZA_ROOT/bin"

# port_free PORT: true when nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$PLAZA_CONTROL_PORT" "$PLAZA_RELAY_PORT_BASE" "$((PLAZA_RELAY_PORT_BASE + 1))" \
  "$PLAZA_RELAY_ADMIN_PORT_BASE" "$((PLAZA_RELAY_ADMIN_PORT_BASE + 1))"; do
  port_free "$p" || die "127.0.0.1:$p is already in use (another 'make run'?); stop it or set the PLAZA_*_PORT variables"
done

scripts/bootstrap.sh --run
mkdir -p "$LOG_DIR" "$BIN_DIR"
log "building relay and demo bots"
go build -o "$BIN_DIR/relay" ./relay-go/cmd/relay
go build -o "$BIN_DIR/demobots" ./relay-go/cmd/demobots
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
scripts/services.sh start

export PLAZA_KEY_DIR="$DATA_DIR/keys"
CONTROL=("$VENV_DIR/bin/python" -m plaza_control)
"${CONTROL[@]}" gen-signing-key >/dev/null
"${CONTROL[@]}" create-world --id lobby --name "Lobby" --capacity 50 --tick-rate 20 --exist-ok >/dev/null
ADMIN_KEY_FILE="$DATA_DIR/admin-api-key"
if [[ ! -s $ADMIN_KEY_FILE ]]; then
  "${CONTROL[@]}" create-api-key --role admin --name make-run >"$ADMIN_KEY_FILE" 2>/dev/null
  chmod 600 "$ADMIN_KEY_FILE"
fi

log "building the web world and ops console (web/)"
scripts/web.sh build
# The control plane serves them at /play/ and /console/ (routes/web.py).
export PLAZA_WEB_DIR="$PLAZA_ROOT/web/dist"

CONTROL_URL="http://127.0.0.1:$PLAZA_CONTROL_PORT"
PLAZA_PORT="$PLAZA_CONTROL_PORT" spawn control "${CONTROL[@]}" serve
wait_http "$CONTROL_URL/readyz" 60 || die "control plane did not become ready; see $LOG_DIR/control.log"

declare -A RELAY_PID=()
EVER_RELAY_PIDS=" "
# start_relay I: starts relay number I (ports from the bases) and records its pid.
start_relay() {
  local i=$1 id=${RELAYS[$1]}
  local port=$((PLAZA_RELAY_PORT_BASE + i)) admin=$((PLAZA_RELAY_ADMIN_PORT_BASE + i))
  spawn "$id" "$BIN_DIR/relay" --relay-id "$id" --listen "127.0.0.1:$port" \
    --admin-listen "127.0.0.1:$admin" --public-url "ws://127.0.0.1:$port/ws" \
    --jwks-url "$CONTROL_URL/.well-known/jwks.json" --redis-url "$PLAZA_REDIS_URL"
  RELAY_PID[$id]=${CHILDREN[-1]}
  EVER_RELAY_PIDS+=" ${CHILDREN[-1]} "
}
for i in "${!RELAYS[@]}"; do start_relay "$i"; done
for i in "${!RELAYS[@]}"; do
  wait_http "http://127.0.0.1:$((PLAZA_RELAY_ADMIN_PORT_BASE + i))/readyz" 30 ||
    die "${RELAYS[$i]} did not become ready; see $LOG_DIR/${RELAYS[$i]}.log"
done
spawn demobots "$BIN_DIR/demobots" --control-url "$CONTROL_URL" --world lobby --bots "$BOTS"

# Bold URLs only on a terminal (not in pipes or log files).
B="" N=""
if [[ -t 1 ]]; then B=$'\033[1m' N=$'\033[0m'; fi
cat <<INFO

  Plaza is running (loopback only). Ctrl-C stops everything.

  Web world      ${B}$CONTROL_URL/play/${N}      (a second tab is a second player)
  Ops console    ${B}$CONTROL_URL/console/${N}   operator key: cat $ADMIN_KEY_FILE

  Control plane  $CONTROL_URL          OpenAPI: $CONTROL_URL/schema/swagger
                 metrics: $CONTROL_URL/metrics   health: /healthz /readyz
  Relays         ws://127.0.0.1:$PLAZA_RELAY_PORT_BASE/ws (relay-a), ws://127.0.0.1:$((PLAZA_RELAY_PORT_BASE + 1))/ws (relay-b)
                 metrics/pprof: http://127.0.0.1:$PLAZA_RELAY_ADMIN_PORT_BASE/metrics, /debug/pprof (admin port per relay)
  Demo bots      $BOTS bots walking and chatting in world "lobby"
  Redis          redis://127.0.0.1:$PLAZA_REDIS_PORT      (redis-cli -p $PLAZA_REDIS_PORT)
  FerretDB       mongodb://127.0.0.1:$PLAZA_MONGO_PORT/   (MongoDB wire protocol)
  Logs           $LOG_DIR/

  Connect a client (docs/protocol.md):
    T=\$(curl -s -X POST $CONTROL_URL/v1/auth/guest -H 'content-type: application/json' \\
          -d '{"device_id":"my-device-0000000001","display_name":"Me"}' | jq -r .session_token)
    curl -s -X POST $CONTROL_URL/v1/join -H "authorization: Bearer \$T" \\
          -H 'content-type: application/json' -d '{"world_id":"lobby"}'
    → open the returned relay_url and send Hello{ticket} as the first binary frame.

  Operator API key (admin): $ADMIN_KEY_FILE
    curl -s $CONTROL_URL/v1/ops/relays -H "x-api-key: \$(cat $ADMIN_KEY_FILE)"
    curl -s -X POST $CONTROL_URL/v1/ops/relays/${RELAYS[0]}/drain -H "x-api-key: \$(cat $ADMIN_KEY_FILE)" \\
          -H 'content-type: application/json' -d '{"reason":"try a drain"}'

INFO
while true; do
  for i in "${!RELAYS[@]}"; do
    id=${RELAYS[$i]}
    if ! kill -0 "${RELAY_PID[$id]}" 2>/dev/null; then
      # A drained relay exits; like Kubernetes, start a fresh one in its place.
      log "$id exited (drained or crashed; see $LOG_DIR/$id.log) — starting a new one"
      start_relay "$i"
    fi
  done
  for pid in "${CHILDREN[@]}"; do
    [[ $EVER_RELAY_PIDS == *" $pid "* ]] && continue
    kill -0 "$pid" 2>/dev/null || die "a Plaza process (pid $pid) exited; see $LOG_DIR"
  done
  sleep 1
done
