#!/usr/bin/env bash
# `make bench`: builds and runs relay-go/bench/cmd/benchrun (knobs: PLAZA_BENCH_*,
# listed by `benchrun -h`; results in .data/bench, report in docs/benchmarks.md),
# then W5, relay scale-down under load on a real kube-apiserver
# (scripts/bench_w5.py, 3 runs, ~3 min; needs scripts/install_kube_tools.sh and
# FerretDB, which it starts with scripts/services.sh). PLAZA_BENCH_ONLY="w1 w5"
# picks workloads (default: all, W5 included); PLAZA_BENCH_W5=0 skips W5.
source "$(dirname "$0")/lib.sh"
bin="$DATA_DIR/bench-bin/benchrun"
want_w5=0
declare -a relay_workloads=()
for w in ${PLAZA_BENCH_ONLY:-}; do
  if [[ $w == w5 ]]; then want_w5=1; else relay_workloads+=("$w"); fi
done
[[ -z ${PLAZA_BENCH_ONLY:-} ]] && want_w5=1
[[ ${PLAZA_BENCH_W5:-1} == 0 ]] && want_w5=0
(cd "$PLAZA_ROOT/relay-go/bench" && go build -o "$bin" ./cmd/benchrun)
if [[ -z ${PLAZA_BENCH_ONLY:-} || ${#relay_workloads[@]} -gt 0 ]]; then
  PLAZA_BENCH_ONLY="${relay_workloads[*]}" "$bin" --root "$PLAZA_ROOT" "$@"
fi
if ((want_w5)); then
  "$PLAZA_ROOT/scripts/services.sh" start
  log "W5: relay scale-down under load (scripts/bench_w5.py --runs 3)"
  uv run python "$PLAZA_ROOT/scripts/bench_w5.py" --runs 3
fi
