# Shared paths, pinned versions and ports for every Plaza script. Sourced, not run.
# shellcheck shell=bash
# Variables here are read by the scripts that source this file.
# shellcheck disable=SC2034
set -euo pipefail

PLAZA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$PLAZA_ROOT/.tools"       # git-ignored: uv, FerretDB, staticcheck
DATA_DIR="${PLAZA_DATA_DIR:-$PLAZA_ROOT/.data}"  # git-ignored: service data, logs, pid files
VENV_DIR="$PLAZA_ROOT/.venv"

# Pinned tool versions (the only place they are written down).
UV_VERSION="0.13.9"
FERRETDB_VERSION="v1.24.2"
STATICCHECK_VERSION="v0.7.0"
HELM_VERSION="v3.22.0"
HELM_K8S_MINOR="37"  # helm v3.22.0 requires k8s.io/client-go v0.37.0
PROMTOOL_VERSION="v0.316.0"  # github.com/prometheus/prometheus (Go module versions are v0.x)
KUBE_VERSION="v1.37.2"            # kube-apiserver, kube-controller-manager, kubectl (scripts/tools/kube)
ETCD_VERSION="v3.6.16"            # go.etcd.io/etcd/server/v3 (scripts/tools/etcd)
HELM_UNITTEST_VERSION="v1.1.2"    # helm plugin (scripts/tools/helm-unittest)
GO_CONTAINERREGISTRY_VERSION="v0.22.1"  # relay image writer (scripts/tools/image)

# Test-cluster tools built by scripts/install_kube_tools.sh, keyed by version.
KUBE_BIN_DIR="$TOOLS_DIR/kube/$KUBE_VERSION/bin"
ETCD_BIN_DIR="$TOOLS_DIR/etcd/$ETCD_VERSION/bin"
export HELM_PLUGINS="$TOOLS_DIR/helm-plugins"

# Loopback ports, chosen below the Linux ephemeral range (32768+) and away
# from the defaults (6379, 27017, 8080) of services a machine may already run.
# Override any of them through the environment.
: "${PLAZA_REDIS_PORT:=16379}"
: "${PLAZA_MONGO_PORT:=27217}"
: "${PLAZA_FERRETDB_DEBUG_PORT:=27218}"
: "${PLAZA_CONTROL_PORT:=18080}"
: "${PLAZA_RELAY_PORT_BASE:=18100}"
: "${PLAZA_RELAY_ADMIN_PORT_BASE:=18200}"
export PLAZA_REDIS_PORT PLAZA_MONGO_PORT PLAZA_FERRETDB_DEBUG_PORT PLAZA_CONTROL_PORT \
  PLAZA_RELAY_PORT_BASE PLAZA_RELAY_ADMIN_PORT_BASE

export PLAZA_REDIS_URL="redis://127.0.0.1:${PLAZA_REDIS_PORT}/0"
export PLAZA_MONGO_URL="mongodb://127.0.0.1:${PLAZA_MONGO_PORT}/"

export UV_PYTHON_DOWNLOADS=never
export UV_PROJECT_ENVIRONMENT="$VENV_DIR"
GO_ROOT_DIR="$(go env GOROOT 2>/dev/null || echo /usr/local/go)"
export PATH="$TOOLS_DIR/bin:$TOOLS_DIR/uv/bin:$VENV_DIR/bin:$GO_ROOT_DIR/bin:$PATH"

# Colours only when stderr is a terminal (not in CI logs, pipes or log files).
log() {
  if [[ -t 2 ]]; then printf '\033[1;34m[plaza]\033[0m %s\n' "$*" >&2; else printf '[plaza] %s\n' "$*" >&2; fi
}
die() {
  if [[ -t 2 ]]; then printf '\033[1;31m[plaza] error:\033[0m %s\n' "$*" >&2; else printf '[plaza] error: %s\n' "$*" >&2; fi
  exit 1
}

# wait_for_port HOST PORT SECONDS: true once a TCP connect succeeds.
wait_for_port() {
  local host=$1 port=$2 deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# python interpreter for uv's environment: 3.11, as pinned in pyproject.toml.
find_python311() {
  local c
  for c in python3.11 python3; do
    if command -v "$c" >/dev/null && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      command -v "$c"; return 0
    fi
  done
  die "Python 3.11 is required (found: $(python3 --version 2>&1))"
}
