#!/usr/bin/env bash
# Builds wslibbench and runs every measurement; prints markdown tables on
# stdout (progress on stderr). Loopback only (server 127.0.0.1, clients bind
# 127.0.0.2-5). Bounded: the whole run is killed after $WSLIBBENCH_TIMEOUT
# seconds (default 600; a normal run with REPS=5 takes about 4 minutes on 2 cores).
# Every child process is started by the orchestrator with PDEATHSIG=KILL and
# torn down after its phase; the trap below kills the process group anyway.
#
# Usage: relay-go/bench/cmd/wslibbench/run.sh [extra flags for `wslibbench run`]
#   e.g. run.sh -reps 3 -libs nbio,gws
set -euo pipefail
cd "$(dirname "$0")"
: "${WSLIBBENCH_TIMEOUT:=600}"
: "${REPS:=5}"

bin="$(mktemp -d)/wslibbench"
pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  fi
  rm -rf "$(dirname "$bin")"
}
trap cleanup EXIT INT TERM

go build -o "$bin" .
echo "# machine: nproc=$(nproc) $(go version) kernel=$(uname -r)" >&2
echo "# command: relay-go/bench/cmd/wslibbench/run.sh $* (REPS=$REPS; a -reps flag overrides it)" >&2

# Own process group so cleanup can take down the orchestrator and its children.
set -m
timeout --kill-after=5 "$WSLIBBENCH_TIMEOUT" "$bin" run -reps "$REPS" "$@" &
pid=$!
set +m
wait "$pid"
