#!/usr/bin/env bash
# `make faults`: the fault matrix under load (scripts/faults.py), with its own
# FerretDB; writes the "Fault matrix" section of docs/benchmarks.md.
source "$(dirname "$0")/lib.sh"
cd "$PLAZA_ROOT"
scripts/bootstrap.sh --run
exec uv run python scripts/faults.py --write-docs "$@"
