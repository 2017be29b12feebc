#!/usr/bin/env bash
# The TypeScript SDK (sdk/ts), for bootstrap and `make test`.
#   scripts/sdk_ts.sh install   npm ci in sdk/ts (its "prepare" builds dist/ with tsc)
#   scripts/sdk_ts.sh check     tsc --strict, then the unit and shared-vector
#                               conformance tests (npm test: node --test)
# The end-to-end test against real relays is tests/system/test_sdk_ts.py
# (pytest); it is not run here.
source "$(dirname "$0")/lib.sh"

SDK_DIR="$PLAZA_ROOT/sdk/ts"
NODE_MIN_MAJOR=20

require_node() {
  command -v node >/dev/null || die "node is not installed (Node >= $NODE_MIN_MAJOR is needed for sdk/ts)"
  command -v npm >/dev/null || die "npm is not installed (it comes with Node)"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  ((major >= NODE_MIN_MAJOR)) || die "node $(node --version) is too old for sdk/ts: need >= $NODE_MIN_MAJOR"
}

cmd_install() {
  require_node
  log "sdk/ts: npm ci"
  (cd "$SDK_DIR" && npm ci --no-audit --no-fund)
}

cmd_check() {
  require_node
  [[ -d $SDK_DIR/node_modules/typescript ]] || die "sdk/ts/node_modules missing: run scripts/sdk_ts.sh install"
  log "sdk/ts: tsc --strict (noEmit), then npm test"
  (cd "$SDK_DIR" && npx --no-install tsc -p tsconfig.json --noEmit --strict && npm test)
}

case ${1:-} in
  install) cmd_install ;;
  check) cmd_check ;;
  *) die "usage: scripts/sdk_ts.sh install|check" ;;
esac
