#!/usr/bin/env bash
# `make soak`: 30 minutes of W1-like traffic with churn (scripts/soak.py) against
# the dev FerretDB (started here); writes the "Soak" section of
# docs/benchmarks.md and docs/img/soak-*.png. PLAZA_SOAK_DURATION overrides 30m.
source "$(dirname "$0")/lib.sh"
cd "$PLAZA_ROOT"
scripts/bootstrap.sh --run
scripts/services.sh start
exec uv run python scripts/soak.py --duration "${PLAZA_SOAK_DURATION:-30m}" --write-docs "$@"
