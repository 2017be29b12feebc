#!/usr/bin/env bash
# `make bench`: builds and runs relay-go/bench/cmd/benchrun (knobs: PLAZA_BENCH_*,
# listed by `benchrun -h`; results in .data/bench, report in docs/benchmarks.md).
source "$(dirname "$0")/lib.sh"
bin="$DATA_DIR/bench-bin/benchrun"
(cd "$PLAZA_ROOT/relay-go/bench" && go build -o "$bin" ./cmd/benchrun)
exec "$bin" --root "$PLAZA_ROOT" "$@"
