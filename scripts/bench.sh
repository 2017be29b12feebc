#!/usr/bin/env bash
# `make bench`: builds and runs relay-go/bench/cmd/benchrun (knobs: PLAZA_BENCH_*,
# listed by `benchrun -h`; results in .data/bench, report in docs/benchmarks.md),
# then W5, relay scale-down under load on a real kube-apiserver
# (scripts/bench_w5.py, 3 runs, ~3 min; needs scripts/install_kube_tools.sh and
# FerretDB, which it starts with scripts/services.sh), then W3r, the rejoin storm
# with the Go load generator, unpaced and paced (scripts/bench_w3r.py,
# PLAZA_BENCH_W3R_PLAYERS players, default 5000, 2 storms per mode, ~6 min;
# rewrites its section of docs/benchmarks.md and docs/img/w3r-*.png).
# PLAZA_BENCH_ONLY="w1 w5 w3r" picks workloads (default: all, W5 and W3r
# included); PLAZA_BENCH_W5=0 skips W5, PLAZA_BENCH_W3R=0 skips W3r.
source "$(dirname "$0")/lib.sh"
bin="$DATA_DIR/bench-bin/benchrun"
want_w5=0
want_w3r=0
declare -a relay_workloads=()
for w in ${PLAZA_BENCH_ONLY:-}; do
  case $w in
    w5) want_w5=1 ;;
    w3r) want_w3r=1 ;;
    *) relay_workloads+=("$w") ;;
  esac
done
if [[ -z ${PLAZA_BENCH_ONLY:-} ]]; then want_w5=1; want_w3r=1; fi
[[ ${PLAZA_BENCH_W5:-1} == 0 ]] && want_w5=0
[[ ${PLAZA_BENCH_W3R:-1} == 0 ]] && want_w3r=0
(cd "$PLAZA_ROOT/relay-go/bench" && go build -o "$bin" ./cmd/benchrun)
if [[ -z ${PLAZA_BENCH_ONLY:-} || ${#relay_workloads[@]} -gt 0 ]]; then
  PLAZA_BENCH_ONLY="${relay_workloads[*]}" "$bin" --root "$PLAZA_ROOT" "$@"
fi
if ((want_w5)); then
  "$PLAZA_ROOT/scripts/services.sh" start
  log "W5: relay scale-down under load (scripts/bench_w5.py --runs 3)"
  uv run python "$PLAZA_ROOT/scripts/bench_w5.py" --runs 3
fi
if ((want_w3r)); then
  "$PLAZA_ROOT/scripts/services.sh" start
  log "W3r: rejoin storm after relay kill -9, unpaced and paced (scripts/bench_w3r.py --runs 2)"
  uv run python "$PLAZA_ROOT/scripts/bench_w3r.py" --players "${PLAZA_BENCH_W3R_PLAYERS:-5000}" \
    --mode both --runs 2 --write-docs
fi
