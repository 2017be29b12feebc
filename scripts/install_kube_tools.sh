#!/usr/bin/env bash
# Builds, once, the tools the Kubernetes tests need, from Go modules (no
# release downloads reachable here), into the git-ignored .tools/ folder,
# keyed by version:
#   .tools/kube/$KUBE_VERSION/bin/{kube-apiserver,kube-controller-manager,kubectl}
#   .tools/etcd/$ETCD_VERSION/bin/etcd
#   .tools/helm-plugins/unittest/ (helm-unittest: plugin.yaml + binary; lib.sh
#   exports HELM_PLUGINS pointing at .tools/helm-plugins)
# Each tool has a stamp file written after a successful build; a rerun with
# every stamp present does nothing (well under a second).
#
# Cold cost on 2 busy cores (docs/images.md): kube-apiserver ~8.5 min and
# ~2.4 GB peak RSS, kube-controller-manager ~6 min, kubectl ~2 min, etcd and
# helm-unittest ~1.5 min each: about 18 min, and ~4 GB of Go build cache.
# Binaries are built one at a time with `go build -p 2` to bound memory.
#
# The wrapper modules scripts/tools/{kube,etcd,helm-unittest} pin the versions
# in their go.mod/go.sum; this script refuses to build when a go.mod's version
# differs from lib.sh, and `--check` verifies the wrappers instead of building
# (go.mod matches lib.sh, `go mod tidy -diff` is empty, `go mod verify`).
#
# Usage: scripts/install_kube_tools.sh [--check]
source "$(dirname "$0")/lib.sh"

WRAPPERS_DIR="$PLAZA_ROOT/scripts/tools"
HELM_UNITTEST_DIR="$HELM_PLUGINS/unittest"

# require_version WRAPPER MODULE VERSION: the wrapper's go.mod requires MODULE
# at exactly VERSION (the version lib.sh pins).
require_version() {
  local wrapper=$1 module=$2 version=$3 have
  have=$(cd "$WRAPPERS_DIR/$wrapper" && go list -m -f '{{.Version}}' "$module")
  [[ $have == "$version" ]] ||
    die "scripts/tools/$wrapper/go.mod requires $module $have but lib.sh pins $version; update both together"
}

check_versions() {
  require_version kube k8s.io/kubernetes "$KUBE_VERSION"
  # Every staging module must be replaced by its published v0.x twin.
  local staging="v0.${KUBE_VERSION#v1.}" bad
  bad=$(cd "$WRAPPERS_DIR/kube" && go list -m -f '{{if .Replace}}{{.Path}} {{.Replace.Version}}{{end}}' all |
    awk -v want="$staging" '$1 ~ /^k8s.io\// && $2 != want')
  [[ -z $bad ]] || die "scripts/tools/kube/go.mod replaces staging modules at the wrong version (want $staging): $bad"
  require_version etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
  require_version helm-unittest github.com/helm-unittest/helm-unittest "$HELM_UNITTEST_VERSION"
  # Not built here (scripts/build_relay_image.sh builds it), but pinned the same way.
  require_version image github.com/google/go-containerregistry "$GO_CONTAINERREGISTRY_VERSION"
}

# --check: what CI runs on the committed wrappers (needs the modules, which the
# Go proxy or the module cache provides).
check_wrappers() {
  check_versions
  local w
  for w in kube etcd helm-unittest image; do
    [[ -f $WRAPPERS_DIR/$w/go.mod ]] || continue
    (cd "$WRAPPERS_DIR/$w" && go mod tidy -diff >/dev/null) ||
      die "scripts/tools/$w: go.mod/go.sum are not tidy (run: cd scripts/tools/$w && go mod tidy)"
    (cd "$WRAPPERS_DIR/$w" && go mod verify >/dev/null) ||
      die "scripts/tools/$w: go mod verify failed"
  done
  log "tool wrapper modules are tidy, verified and match lib.sh"
}

# build WRAPPER PACKAGE OUTPUT [LDFLAGS]: one static binary from a wrapper module.
build() {
  local wrapper=$1 package=$2 output=$3 ldflags=${4:-}
  local started=$SECONDS
  log "building $(basename "$output") from $package (once; see this script's header for the cost)"
  mkdir -p "$(dirname "$output")"
  (cd "$WRAPPERS_DIR/$wrapper" &&
    CGO_ENABLED=0 go build -p 2 -trimpath -ldflags "-s -w $ldflags" -o "$output.partial" "$package")
  mv "$output.partial" "$output"
  log "built $(basename "$output") in $((SECONDS - started)) s"
}

# Sets both version packages the way upstream's hack/lib/version.sh does, so
# `kubectl version` and the apiserver's /version report v1.37.2.
kube_ldflags() {
  local major minor pkg flags=""
  major=${KUBE_VERSION#v}
  major=${major%%.*}
  minor=${KUBE_VERSION#v*.}
  minor=${minor%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

install_kube() {
  local stamp="$KUBE_BIN_DIR/.complete" tool
  [[ -f $stamp ]] && return 0
  local ldflags
  ldflags=$(kube_ldflags)
  # The apiserver first: it is the longest build and warms the cache for the rest.
  for tool in kube-apiserver kube-controller-manager kubectl; do
    [[ -x $KUBE_BIN_DIR/$tool && -f $KUBE_BIN_DIR/.$tool ]] && continue
    build kube "k8s.io/kubernetes/cmd/$tool" "$KUBE_BIN_DIR/$tool" "$ldflags"
    touch "$KUBE_BIN_DIR/.$tool"
  done
  # Read the whole output first: `cmd | grep -q` under pipefail fails when
  # grep exits early and the writer gets SIGPIPE.
  local reported
  reported=$("$KUBE_BIN_DIR/kubectl" version --client 2>/dev/null || true)
  [[ $reported == *"$KUBE_VERSION"* ]] || die "kubectl does not report $KUBE_VERSION: $reported"
  touch "$stamp"
}

install_etcd() {
  local stamp="$ETCD_BIN_DIR/.complete"
  [[ -f $stamp ]] && return 0
  build etcd go.etcd.io/etcd/server/v3 "$ETCD_BIN_DIR/etcd"
  local reported
  reported=$("$ETCD_BIN_DIR/etcd" --version 2>/dev/null || true)
  [[ $reported == *"etcd Version: ${ETCD_VERSION#v}"* ]] ||
    die "etcd does not report ${ETCD_VERSION#v}: $reported"
  touch "$stamp"
}

# A helm plugin is a directory holding plugin.yaml; helm-unittest's upstream
# plugin.yaml runs "$HELM_PLUGIN_DIR/untt-<os>-<arch>" (macos for darwin).
# `helm plugin install` would download a release, so the plugin directory is
# assembled here: the upstream plugin.yaml, unchanged, and the binary we built.
install_helm_unittest() {
  local stamp="$HELM_UNITTEST_DIR/.complete-$HELM_UNITTEST_VERSION"
  [[ -f $stamp ]] && return 0
  local goos goarch src
  goos=$(go env GOOS)
  goarch=$(go env GOARCH)
  [[ $goos == darwin ]] && goos=macos
  rm -rf "$HELM_UNITTEST_DIR"
  build helm-unittest github.com/helm-unittest/helm-unittest/cmd/helm-unittest \
    "$HELM_UNITTEST_DIR/untt-$goos-$goarch"
  src=$(cd "$WRAPPERS_DIR/helm-unittest" &&
    go list -m -f '{{.Dir}}' github.com/helm-unittest/helm-unittest)
  install -m 0644 "$src/plugin.yaml" "$HELM_UNITTEST_DIR/plugin.yaml"
  grep -q "^version: \"${HELM_UNITTEST_VERSION#v}\"" "$HELM_UNITTEST_DIR/plugin.yaml" ||
    die "helm-unittest plugin.yaml is not version ${HELM_UNITTEST_VERSION#v}"
  touch "$stamp"
}

command -v go >/dev/null || die "Go is required (see go.mod for the version)"
if [[ ${1:-} == --check ]]; then
  check_wrappers
  exit 0
fi
[[ $# -eq 0 ]] || die "usage: scripts/install_kube_tools.sh [--check]"
if [[ -f $KUBE_BIN_DIR/.complete && -f $ETCD_BIN_DIR/.complete &&
  -f $HELM_UNITTEST_DIR/.complete-$HELM_UNITTEST_VERSION ]]; then
  exit 0
fi
check_versions
install_kube
install_etcd
install_helm_unittest
log "Kubernetes test tools ready: $KUBE_BIN_DIR, $ETCD_BIN_DIR, $HELM_UNITTEST_DIR"
