#!/usr/bin/env bash
# The web world (/play/) and ops console (/console/) in web/:
#   web.sh install   Debian's chromium (apt) if missing, then `npm ci` in web/
#   web.sh build     esbuild bundle into web/dist/ (git-ignored), which the
#                    control plane serves when PLAZA_WEB_DIR points at it
#   web.sh check     tsc --strict over the app and its tests, then the unit tests
#   web.sh browser   the browser scenario alone (pytest tests/browser; needs
#                    the services of scripts/test.sh: FerretDB on PLAZA_MONGO_URL)
# Called by scripts/bootstrap.sh, scripts/run.sh and scripts/test.sh.
source "$(dirname "$0")/lib.sh"

WEB_DIR="$PLAZA_ROOT/web"
# The browser the tests and the printed URLs assume; playwright-core drives
# this binary (no browser download: none is reachable here).
CHROMIUM="${PLAZA_CHROMIUM:-/usr/bin/chromium}"

install_chromium() {
  [[ -x $CHROMIUM ]] && return 0
  log "installing chromium from apt (the browser tests drive it)"
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
}

install_node_modules() {
  command -v npm >/dev/null || die "npm (Node.js 20 or later) is required for web/"
  # npm ci wipes node_modules; skip it when the lock file has not changed since.
  local stamp="$WEB_DIR/node_modules/.plaza-lock"
  if [[ -f $stamp ]] && cmp -s "$stamp" "$WEB_DIR/package-lock.json"; then return 0; fi
  log "installing web/ npm packages (npm ci)"
  (cd "$WEB_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$WEB_DIR/package-lock.json" "$stamp"
}

case "${1:-}" in
install)
  install_chromium
  install_node_modules
  ;;
build)
  install_node_modules
  (cd "$WEB_DIR" && node build.mjs)
  ;;
check)
  install_node_modules
  (cd "$WEB_DIR" && npm run --silent check)
  ;;
browser)
  install_chromium
  install_node_modules
  (cd "$WEB_DIR" && node build.mjs)
  (cd "$PLAZA_ROOT" && uv run pytest -q -p no:cacheprovider tests/browser)
  ;;
*)
  die "usage: scripts/web.sh install|build|check|browser"
  ;;
esac
