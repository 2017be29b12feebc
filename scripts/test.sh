#!/usr/bin/env bash
# Every check Plaza has, from nothing: installs what is missing, then lint,
# types, generated-code freshness, Go tests with the race detector, fuzzing
# smoke runs, and pytest against real Redis and FerretDB (started here and
# stopped on exit). Fails on the first failing step.
# Tests get their own service instances (ports, data) so `make test` never
# touches a `make run` session on the same machine.
export PLAZA_REDIS_PORT="${PLAZA_TEST_REDIS_PORT:-16479}"
export PLAZA_MONGO_PORT="${PLAZA_TEST_MONGO_PORT:-27317}"
export PLAZA_FERRETDB_DEBUG_PORT="${PLAZA_TEST_FERRETDB_DEBUG_PORT:-27318}"
export PLAZA_DATA_DIR="$(cd "$(dirname "$0")/.." && pwd)/.data/test"
source "$(dirname "$0")/lib.sh"
cd "$PLAZA_ROOT"

FUZZ_TIME="${PLAZA_FUZZ_TIME:-3s}"
declare -a TIMINGS=()

step() {
  local name=$1 start=$SECONDS
  shift
  log "── $name"
  "$@" || die "step failed: $name"
  TIMINGS+=("$(printf '%-28s %4ds' "$name" $((SECONDS - start)))")
}

# Runs every Fuzz target of the root module for FUZZ_TIME each, so fuzzers
# and their committed seed corpora never rot.
fuzz_smoke() {
  local pkg target count=0
  mkdir -p "$DATA_DIR"
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
  log "$count fuzz targets ran"
}

gofmt_clean() {
  local unformatted
  unformatted=$(gofmt -l relay-go tests)
  [[ -z $unformatted ]] || { echo "not gofmt-ed (run gofmt -w):" >&2; echo "$unformatted" >&2; return 1; }
}

go_tests() { go test -race -count=1 -timeout 15m ./...; }

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
step "gofmt" gofmt_clean
step "go vet" go vet ./...
step "staticcheck" staticcheck ./...
step "go test -race" go_tests
step "go fuzz smoke" fuzz_smoke
step "pytest (Redis+FerretDB)" pytest_with_services
echo >&2; printf '%s\n' "${TIMINGS[@]}" >&2
log "all checks passed in $((SECONDS - start_all))s"
