#!/usr/bin/env bash
# `make bench`: every workload of docs/benchmarks-workloads.md against Plaza's
# relay and, where it applies, Centrifugo — one server at a time, each freshly
# started, on loopback — then writes the "Relay vs Centrifugo" section of
# docs/benchmarks.md and the PNG plots under docs/img/.
#
# Bounded: every load run is under `timeout`, capped so the whole script ends
# within PLAZA_BENCH_HARD_LIMIT seconds (default 1680 = 28 min); no new
# workload starts after PLAZA_BENCH_BUDGET seconds (default 1200); every
# process this script starts is stopped on exit, whatever happens.
#
# Knobs (environment):
#   PLAZA_BENCH_ONLY="w1 w2"      run a subset (default: w1 w2 w3 w4)
#   PLAZA_BENCH_W1_DURATION=60s   W1 window
#   PLAZA_BENCH_W4_DURATION=30s   W4 window
#   PLAZA_BENCH_TICK=10           relay tick rate (Hz), = the 10 Hz movement rate; the latency target is one tick + 10 ms
#   PLAZA_BENCH_W1_TICK20=1       also run W1 on Plaza at the relay's default 20 Hz tick (w1-plaza-tick20)
#   PLAZA_BENCH_INTEREST=50       interest radius (m) for W4 "interest on"
#   PLAZA_BENCH_W3_CLIENTS=5000   W3 clients (multiple of 50)
#   PLAZA_BENCH_CONTROL_URL=...   W3: a running control plane (+ relays it assigns to), e.g. from `make run`
#   PLAZA_BENCH_NOTE="..."        a note printed with the results (e.g. "shared machine")
#   PLAZA_BENCH_PPROF=1           profile the relay for 20 s during W1 (default 1)
#   PLAZA_BENCH_NO_DOCS=1         keep results in .data/bench only
#   PLAZA_BENCH_PEER=0            Plaza only, no Centrifugo runs (a quick check
#                                 while working on the relay; implies NO_DOCS)
source "$(dirname "$0")/lib.sh"
cd "$PLAZA_ROOT"

: "${PLAZA_BENCH_ONLY:=w1 w2 w3 w4}"
: "${PLAZA_BENCH_W1_DURATION:=60s}"
: "${PLAZA_BENCH_W4_DURATION:=30s}"
: "${PLAZA_BENCH_TICK:=10}"
: "${PLAZA_BENCH_W1_TICK20:=1}"
: "${PLAZA_BENCH_INTEREST:=50}"
: "${PLAZA_BENCH_BUDGET:=1200}"
: "${PLAZA_BENCH_HARD_LIMIT:=1680}"
: "${PLAZA_BENCH_PPROF:=1}"
: "${PLAZA_BENCH_W3_CLIENTS:=5000}"
: "${PLAZA_BENCH_NOTE:=}"
: "${PLAZA_BENCH_PEER:=1}"
[[ $PLAZA_BENCH_PEER == 1 ]] || PLAZA_BENCH_NO_DOCS=1
: "${PLAZA_CENTRIFUGO_PORT:=18300}"
RELAY_PORT=$PLAZA_RELAY_PORT_BASE
ADMIN_PORT=$PLAZA_RELAY_ADMIN_PORT_BASE
RUN_DIR="$DATA_DIR/bench/$(date -u +%Y%m%dT%H%M%SZ)"
BIN="$RUN_DIR/bin"
RELAY_ID="bench-relay"
mkdir -p "$BIN"

declare -a STARTED=()
SERVER_PID=""
declare -A SKIPPED=()
RELAY_KEYS=()

W3_ENV=(PLAZA_DATA_DIR="$RUN_DIR/w3-data" PLAZA_REDIS_PORT=16579 PLAZA_MONGO_PORT=27517 PLAZA_FERRETDB_DEBUG_PORT=27518)
W3_SERVICES=""
w3_stop_services() { [[ -z $W3_SERVICES ]] || env "${W3_ENV[@]}" scripts/services.sh stop >/dev/null 2>&1 || true; W3_SERVICES=""; }

cleanup() {
  trap - INT TERM EXIT
  local pid
  for pid in "${STARTED[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${STARTED[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  w3_stop_services
}
trap cleanup INT TERM EXIT

wants() { [[ " $PLAZA_BENCH_ONLY " == *" $1 "* ]]; }

budget_left() {
  if ((SECONDS > PLAZA_BENCH_BUDGET)); then
    log "time budget (${PLAZA_BENCH_BUDGET}s) spent: skipping $1"
    SKIPPED[$1]="time budget of ${PLAZA_BENCH_BUDGET}s spent before it could start"
    return 1
  fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# stop_server: SIGTERM the current server, SIGKILL after 10 s.
stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# start_relay NAME [relay flags...]
start_relay() {
  local name=$1
  shift
  port_free "$RELAY_PORT" || die "port $RELAY_PORT is taken (is \`make run\` running? stop it first)"
  "$BIN/relay" --listen "127.0.0.1:$RELAY_PORT" --admin-listen "127.0.0.1:$ADMIN_PORT" \
    --relay-id "$RELAY_ID" "${RELAY_KEYS[@]}" \
    --tick-rate "$PLAZA_BENCH_TICK" --room-capacity 1000 \
    --max-connections 50000 --log-level warn "$@" >"$RUN_DIR/relay-$name.log" 2>&1 &
  SERVER_PID=$!
  STARTED+=("$SERVER_PID")
  wait_for_port 127.0.0.1 "$RELAY_PORT" 20 || { tail -20 "$RUN_DIR/relay-$name.log" >&2; die "relay did not listen on $RELAY_PORT"; }
}

start_centrifugo() {
  local name=$1
  port_free "$PLAZA_CENTRIFUGO_PORT" || die "port $PLAZA_CENTRIFUGO_PORT is taken"
  "$TOOLS_DIR/bin/centrifugo" --config "$RUN_DIR/centrifugo.json" >"$RUN_DIR/centrifugo-$name.log" 2>&1 &
  SERVER_PID=$!
  STARTED+=("$SERVER_PID")
  wait_for_port 127.0.0.1 "$PLAZA_CENTRIFUGO_PORT" 20 || { tail -20 "$RUN_DIR/centrifugo-$name.log" >&2; die "centrifugo did not listen"; }
}

# loadgen NAME TIMEOUT_S [run flags...]: one measured run, JSON in $RUN_DIR/NAME.json.
loadgen() {
  local name=$1 limit=$2 left=$((PLAZA_BENCH_HARD_LIMIT - 60 - SECONDS))
  shift 2
  if ((left < 30)); then
    log "no time left for $name"
    SKIPPED[${name%%-*}]="the ${PLAZA_BENCH_HARD_LIMIT}s limit of the whole run was reached before $name"
    return 1
  fi
  ((limit < left)) || limit=$left
  log "── $name (at most ${limit}s)"
  if ! timeout --kill-after=10 "$limit" "$BIN/loadgen" run --server-pid "$SERVER_PID" \
    --json "$RUN_DIR/$name.json" "$@" 2>"$RUN_DIR/$name.err" | tee "$RUN_DIR/$name.txt"; then
    tail -20 "$RUN_DIR/$name.err" >&2
    SKIPPED[${name%%-*}]="the $name run failed: $(tail -1 "$RUN_DIR/$name.err")"
    rm -f "$RUN_DIR/$name.json"
    return 1
  fi
}

# peer WORKLOAD TIMEOUT_S [run flags...]: the same workload against Centrifugo.
peer() {
  local w=$1 limit=$2
  shift 2
  if [[ $PLAZA_BENCH_PEER != 1 ]]; then
    log "── $w-centrifugo skipped (PLAZA_BENCH_PEER=0)"
    return 0
  fi
  start_centrifugo "$w"
  loadgen "$w-centrifugo" "$limit" "${centrifugo_args[@]}" "$@" || true
  stop_server
}

plaza_args=(--target plaza --url "ws://127.0.0.1:$RELAY_PORT/ws" --key-dir "$RUN_DIR/keys" --relay-id "$RELAY_ID")
centrifugo_args=(--target centrifugo --url "ws://127.0.0.1:$PLAZA_CENTRIFUGO_PORT/connection/websocket")

# ---------------------------------------------------------------- setup
log "bench run directory: $RUN_DIR"
# The commit the binaries are built from (other work may land during the run).
COMMIT="$(git rev-parse HEAD)$(git diff --quiet HEAD -- relay-go go.mod go.sum 2>/dev/null || echo ' + uncommitted changes in relay-go')"
go build -o "$BIN/relay" ./relay-go/cmd/relay || die "the relay does not build (relay-go/cmd/relay)"
(cd relay-go/bench && go build -o "$BIN/loadgen" ./cmd/loadgen)
[[ $PLAZA_BENCH_PEER != 1 ]] || scripts/install_centrifugo.sh
"$BIN/loadgen" keygen --dir "$RUN_DIR/keys"
RELAY_KEYS=(--jwks-file "$RUN_DIR/keys/jwks.json")
CENTRIFUGO_SECRET="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$RUN_DIR/centrifugo.json" <<JSON
{
  "client": {
    "token": {"hmac_secret_key": "$CENTRIFUGO_SECRET"},
    "allowed_origins": ["http://127.0.0.1"]
  },
  "channel": {
    "without_namespace": {"allow_subscribe_for_client": true, "allow_publish_for_subscriber": true}
  },
  "http_server": {"address": "127.0.0.1", "port": $PLAZA_CENTRIFUGO_PORT,
                  "internal_address": "127.0.0.1", "internal_port": "$((PLAZA_CENTRIFUGO_PORT + 1))"},
  "http_api": {"key": "bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"},
  "log": {"level": "warn"},
  "debug": {"enabled": true}
}
JSON
centrifugo_args+=(--centrifugo-secret "$CENTRIFUGO_SECRET")
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- W1
if wants w1 && budget_left w1; then
  start_relay w1
  if [[ $PLAZA_BENCH_PPROF == 1 ]]; then
    # 20 s CPU profile from the middle of the window (loadgen settles ~2 s first).
    (sleep 15 && curl -sf -o "$RUN_DIR/relay-w1.pprof" \
      "http://127.0.0.1:$ADMIN_PORT/debug/pprof/profile?seconds=20") &
    STARTED+=($!)
  fi
  loadgen w1-plaza 200 "${plaza_args[@]}" --workload w1 --duration "$PLAZA_BENCH_W1_DURATION" || true
  stop_server
  if [[ $PLAZA_BENCH_W1_TICK20 == 1 ]]; then
    start_relay w1-tick20 --tick-rate 20
    loadgen w1-plaza-tick20 200 "${plaza_args[@]}" --workload w1 --label tick20 --duration "$PLAZA_BENCH_W1_DURATION" || true
    stop_server
  fi
  if [[ -s $RUN_DIR/relay-w1.pprof ]]; then
    go tool pprof -top -nodecount=25 "$BIN/relay" "$RUN_DIR/relay-w1.pprof" 2>/dev/null |
      sed -n '1,40p' >"$RUN_DIR/relay-w1-pprof.txt" || true
  fi
  peer w1 200 --workload w1 --duration "$PLAZA_BENCH_W1_DURATION"
fi

# ---------------------------------------------------------------- W2
if wants w2 && budget_left w2; then
  start_relay w2
  loadgen w2-plaza 200 "${plaza_args[@]}" --workload w2 \
    --server-gc-url "http://127.0.0.1:$ADMIN_PORT/debug/pprof/heap?gc=1" --server-heap-out "$RUN_DIR/relay-w2.heap" || true
  stop_server
  if [[ -s $RUN_DIR/relay-w2.heap ]]; then
    go tool pprof -top -sample_index=inuse_space -nodecount=20 "$BIN/relay" "$RUN_DIR/relay-w2.heap" 2>/dev/null |
      sed -n '1,30p' >"$RUN_DIR/relay-w2-heap.txt" || true
  fi
  peer w2 200 --workload w2 --server-gc-url "http://127.0.0.1:$((PLAZA_CENTRIFUGO_PORT + 1))/debug/pprof/heap?gc=1"
fi

# ---------------------------------------------------------------- W3
# W3 needs the whole join path: Redis and FerretDB, the control plane, and a
# relay registered in Redis so the control plane can place rooms on it. The
# script starts its own stack on separate ports and data (never touching a
# `make run` session) with the control plane's per-IP/per-user rate limits
# raised: a storm from one machine is otherwise capped at 60 sign-ins a minute
# per address. Until the relay writes its own heartbeat to Redis (its Redis
# half is a later issue; detected by a --redis-url flag), a stand-in loop
# writes that heartbeat for it (`loadgen heartbeat`: the same PLZH bytes, key
# and TTL as docs/redis.md); everything else on the path is real.
# With PLAZA_BENCH_CONTROL_URL it runs against a system you started instead.
W3_CTL_PORT=18090
w3_stack() {
  local relay_help redis_url="redis://127.0.0.1:16579/0"
  local ctl_env=("${W3_ENV[@]}" PLAZA_PORT=$W3_CTL_PORT PLAZA_REDIS_URL="$redis_url"
    PLAZA_MONGO_URL="mongodb://127.0.0.1:27517/" PLAZA_KEY_DIR="$RUN_DIR/w3-keys"
    PLAZA_SIGNIN_PER_IP=1000000 PLAZA_SIGNIN_PER_DEVICE=1000000 PLAZA_JOIN_PER_IP=1000000
    PLAZA_JOIN_PER_USER=1000000 PLAZA_ACCESS_LOG=false PLAZA_LOG_LEVEL=info)
  port_free $W3_CTL_PORT || { SKIPPED[w3]="port $W3_CTL_PORT is taken"; return 1; }
  # Fresh services only: a Redis or FerretDB left running from an earlier
  # run would carry its users, seats and stream into this one.
  port_free 16579 && port_free 27517 || { SKIPPED[w3]="the W3 Redis/FerretDB ports (16579/27517) are taken: stop the earlier run's services"; return 1; }
  W3_SERVICES=1
  env "${W3_ENV[@]}" scripts/services.sh start || return 1
  env "${ctl_env[@]}" "$VENV_DIR/bin/python" -m plaza_control gen-signing-key >/dev/null || return 1
  env "${ctl_env[@]}" "$VENV_DIR/bin/python" -m plaza_control create-world --id bench --capacity 50 \
    --tick-rate "$PLAZA_BENCH_TICK" --exist-ok >/dev/null || return 1
  env "${ctl_env[@]}" "$VENV_DIR/bin/python" -m plaza_control serve >"$RUN_DIR/control-w3.log" 2>&1 &
  CONTROL_PID=$!
  STARTED+=("$CONTROL_PID")
  wait_for_port 127.0.0.1 $W3_CTL_PORT 60 || { tail -20 "$RUN_DIR/control-w3.log" >&2; return 1; }
  RELAY_KEYS=(--jwks-url "http://127.0.0.1:$W3_CTL_PORT/.well-known/jwks.json")
  relay_help=$("$BIN/relay" -h 2>&1 || true)
  if [[ $relay_help == *--redis-url* ]]; then
    start_relay w3 --redis-url "$redis_url" --public-url "ws://127.0.0.1:$RELAY_PORT/ws"
    W3_HEARTBEAT="the relay's own"
  else
    start_relay w3 --public-url "ws://127.0.0.1:$RELAY_PORT/ws"
    (
      started=$(date +%s%3N)
      while :; do
        "$BIN/loadgen" heartbeat --relay-id "$RELAY_ID" --public-url "ws://127.0.0.1:$RELAY_PORT/ws" \
          --started-at-ms "$started" | redis-cli -p 16579 -x SETEX "plaza:{alloc}:relay:$RELAY_ID:hb" 6 >/dev/null
        redis-cli -p 16579 SADD "plaza:{alloc}:relays" "$RELAY_ID" >/dev/null
        sleep 2
      done
    ) &
    STARTED+=($!)
    W3_HEARTBEAT="a stand-in (loadgen heartbeat), the relay has no Redis registration yet"
  fi
  RELAY_KEYS=(--jwks-file "$RUN_DIR/keys/jwks.json")
  sleep 3 # a heartbeat is in Redis, the control plane's relay cache (500 ms) has it
  W3_URL="http://127.0.0.1:$W3_CTL_PORT"
}
W3_HEARTBEAT=""
if wants w3 && budget_left w3; then
  if [[ -n ${PLAZA_BENCH_CONTROL_URL:-} ]]; then
    SERVER_PID=0
    loadgen w3-plaza 480 --target plaza --workload w3 --rooms $((PLAZA_BENCH_W3_CLIENTS / 50)) --control-url "$PLAZA_BENCH_CONTROL_URL" \
      --control-world "${PLAZA_BENCH_W3_WORLD:-bench}" --connect-concurrency 16 --join-timeout 400s || true
    SERVER_PID=""
  elif w3_stack; then
    loadgen w3-plaza 480 --target plaza --workload w3 --rooms $((PLAZA_BENCH_W3_CLIENTS / 50)) --control-url "$W3_URL" --control-world bench \
      --connect-concurrency 16 --join-timeout 400s || true
    stop_server
    kill -TERM "$CONTROL_PID" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$CONTROL_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CONTROL_PID" 2>/dev/null && log "the W3 control plane ignored SIGTERM for 15 s: killed"
    wait "$CONTROL_PID" 2>/dev/null || true
    w3_stop_services
  else
    w3_stop_services
    [[ -n ${SKIPPED[w3]:-} ]] || SKIPPED[w3]="the W3 stack did not start; see $RUN_DIR/control-w3.log"
    log "W3 skipped: ${SKIPPED[w3]}"
  fi
fi

# ---------------------------------------------------------------- W4
if wants w4 && budget_left w4; then
  start_relay w4-im-on --interest-radius "$PLAZA_BENCH_INTEREST"
  loadgen w4-plaza-im-on 150 "${plaza_args[@]}" --workload w4 --label im-on --interest-radius "$PLAZA_BENCH_INTEREST" \
    --duration "$PLAZA_BENCH_W4_DURATION" || true
  stop_server
  start_relay w4-im-off --interest-radius 0
  loadgen w4-plaza-im-off 150 "${plaza_args[@]}" --workload w4 --label im-off --duration "$PLAZA_BENCH_W4_DURATION" || true
  stop_server
  peer w4 150 --workload w4 --duration "$PLAZA_BENCH_W4_DURATION"
fi

# ---------------------------------------------------------------- report
skipped_json="{"
for k in "${!SKIPPED[@]}"; do
  skipped_json+="$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1])+":"+json.dumps(sys.argv[2]))' "$k" "${SKIPPED[$k]}"),"
done
skipped_json="${skipped_json%,}}"
python3 - "$RUN_DIR/meta.json" "$skipped_json" <<PY
import json, sys
notes = [n for n in [$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$PLAZA_BENCH_NOTE")] if n]
meta = {
  "date": "$(date -u +%Y-%m-%dT%H:%MZ)",
  "commit": "$COMMIT",
  "nproc": "$(nproc)",
  "kernel": "$(uname -r)",
  "go_version": "$(go version)",
  "cpu_model": $(python3 -c 'import json; print(json.dumps(next((l.split(":",1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")))'),
  "load_before": "$LOAD_BEFORE",
  "tick_hz": $PLAZA_BENCH_TICK,
  "centrifugo_version": $(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$("$TOOLS_DIR/bin/centrifugo" version 2>/dev/null | head -1)"),
  "w3_heartbeat": $(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$W3_HEARTBEAT"),
  "relay_flags": "--tick-rate $PLAZA_BENCH_TICK --room-capacity 1000 --max-connections 50000 --log-level warn (W4 interest on: --interest-radius $PLAZA_BENCH_INTEREST)",
  "skipped": json.loads(sys.argv[2]),
  "notes": notes,
}
json.dump(meta, open(sys.argv[1], "w"), indent=2)
PY
if [[ ${PLAZA_BENCH_NO_DOCS:-} == 1 ]]; then
  log "results in $RUN_DIR (docs untouched)"
else
  "$BIN/loadgen" report --dir "$RUN_DIR" --md docs/benchmarks.md --img docs/img
  log "wrote docs/benchmarks.md (section \"Relay vs Centrifugo\") and docs/img/bench-*.png; raw results in $RUN_DIR"
fi
log "bench finished in ${SECONDS}s"
