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

# Stricter than tsconfig.json, for the SDK's own sources only: flatc's
# generated code (schemas/gen/ts, compiled in the same program) has unused
# imports and unchecked index reads these flags refuse, and is not ours to edit.
EXTRA_STRICT=(--noUncheckedIndexedAccess --exactOptionalPropertyTypes --noUnusedLocals
  --noUnusedParameters --noImplicitReturns)

cmd_check() {
  require_node
  [[ -d $SDK_DIR/node_modules/typescript ]] || die "sdk/ts/node_modules missing: run scripts/sdk_ts.sh install"
  log "sdk/ts: tsc --strict (noEmit)"
  (cd "$SDK_DIR" && npx --no-install tsc -p tsconfig.json --noEmit --strict)
  log "sdk/ts: tsc ${EXTRA_STRICT[*]} on sdk/ts sources"
  local extra
  extra=$(cd "$SDK_DIR" && npx --no-install tsc -p tsconfig.json --noEmit --strict "${EXTRA_STRICT[@]}" 2>&1 |
    grep -E '^[^ ]' | grep -v '^\.\./\.\./schemas/gen/' || true)
  [[ -z $extra ]] || die "sdk/ts: stricter tsc found:"$'\n'"$extra"
  log "sdk/ts: npm test (tsc, then node --test: unit + shared-vector conformance)"
  (cd "$SDK_DIR" && npm test)
}

case ${1:-} in
  install) cmd_install ;;
  check) cmd_check ;;
  *) die "usage: scripts/sdk_ts.sh install|check" ;;
esac
