#!/usr/bin/env bash
# Builds the benchmark peer, Centrifugo, from its Go module into the
# git-ignored .tools/bin/centrifugo (idempotent; never vendored or committed).
# We build from a writable copy of the module directory (as bootstrap.sh does
# for FerretDB) because `go install pkg@version` refuses modules whose go.mod
# has replace directives, and a copy lets us stamp the version it reports.
source "$(dirname "$0")/lib.sh"

CENTRIFUGO_VERSION="${CENTRIFUGO_VERSION:-v6.9.1}"
bin="$TOOLS_DIR/bin/centrifugo"
if [[ -x $bin ]] && "$bin" version 2>/dev/null | grep -q "${CENTRIFUGO_VERSION#v}"; then
  log "centrifugo $CENTRIFUGO_VERSION already installed"
  exit 0
fi
log "building Centrifugo $CENTRIFUGO_VERSION from its Go module"
mkdir -p "$TOOLS_DIR/bin" "$TOOLS_DIR/src"
src="$TOOLS_DIR/src/centrifugo"
tmpmod="$(mktemp -d)"
trap 'rm -rf "$tmpmod"' EXIT
# A throwaway module so `go mod download` does not touch Plaza's go.mod/go.sum.
(cd "$tmpmod" && go mod init plaza-tools/centrifugo >/dev/null 2>&1 &&
  go mod download -json "github.com/centrifugal/centrifugo/v6@$CENTRIFUGO_VERSION" >"$tmpmod/dl.json")
dir=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Dir"])' "$tmpmod/dl.json")
rm -rf "$src" && cp -r "$dir" "$src" && chmod -R u+w "$src"
(cd "$src" && CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/centrifugal/centrifugo/v6/internal/build.Version=${CENTRIFUGO_VERSION#v}" \
  -o "$bin" .)
"$bin" version
log "centrifugo installed at $bin"
