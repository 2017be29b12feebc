#!/usr/bin/env bash
# A/B of the join path between two commits, in one run: W3 (scripts/bench_join.py,
# uvicorn, unpaced) alternates between a copy of control/ at BEFORE and one at
# AFTER, ROUNDS times, so both see the same machine load. Prints one line per run
# and the median CPU per join of each side and their ratio.
#
#   source scripts/lib.sh && scripts/services.sh start
#   scripts/bench_join_ab.sh BEFORE [AFTER=HEAD] [ROUNDS=3]
#
# CLIENTS (16), SECONDS (8) and USERS (20000) pass through to bench_join.py.
# Needs the local Redis and FerretDB (PLAZA_REDIS_URL, PLAZA_MONGO_URL).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
before=${1:?usage: bench_join_ab.sh BEFORE [AFTER] [ROUNDS]}
after=${2:-HEAD}
rounds=${3:-3}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for side in before after; do
  rev=${!side}
  mkdir -p "$work/$side"
  git -C "$ROOT" archive "$rev" control scripts schemas | tar -x -C "$work/$side"
done
python="$ROOT/.venv/bin/python"
export PLAZA_JOIN_RATE_PER_SECOND=0 # unpaced on both sides (a side without pacing ignores it)
echo "# before $(git -C "$ROOT" rev-parse --short "$before"), after $(git -C "$ROOT" rev-parse --short "$after"); $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)); load $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$rounds"); do
  for side in before after; do
    (cd "$work/$side" && PYTHONPATH="$work/$side/control" "$python" scripts/bench_join.py \
      --server uvicorn --clients "${CLIENTS:-16}" --seconds "${SECONDS_PER_RUN:-8}" --repeat 1 \
      --users "${USERS:-20000}" | grep "join .*/s" | sed "s/^/$side /")
  done
done | tee "$work/runs.txt"
echo "# load after $(cut -d' ' -f1-3 /proc/loadavg)"
"$python" - "$work/runs.txt" <<'PY'
import re, statistics, sys
cpu = {"before": [], "after": []}
rate = {"before": [], "after": []}
for line in open(sys.argv[1]):
    side = line.split()[0]
    cpu[side].append(float(re.search(r"cpu ([0-9.]+) ms/req errors", line).group(1)))
    rate[side].append(float(re.search(r"join ([0-9.]+)/s", line).group(1)))
b, a = statistics.median(cpu["before"]), statistics.median(cpu["after"])
print(f"cpu ms/join median: before {b:.2f} ({min(cpu['before']):.2f}-{max(cpu['before']):.2f}), "
      f"after {a:.2f} ({min(cpu['after']):.2f}-{max(cpu['after']):.2f}); after/before {a / b:.2f}")
print(f"joins/s median: before {statistics.median(rate['before']):.0f}, after {statistics.median(rate['after']):.0f}")
PY
