#!/usr/bin/env bash
# A local Kubernetes control plane on loopback (etcd, kube-apiserver,
# kube-controller-manager; no kubelet, no scheduler: Pods stay Pending), the
# same one the tests start (tests/kube/apiserver.py), for trying the chart or
# the autoscaler by hand.
#   scripts/kube.sh start    start it in the background; prints the KUBECONFIG
#   scripts/kube.sh status   running or stopped, and the apiserver URL
#   scripts/kube.sh stop     SIGTERM, waits until every process has exited
# State (certificates, etcd data, logs, admin.kubeconfig) lives under
# $DATA_DIR/kube and is wiped at each start. The tools come from
# scripts/install_kube_tools.sh.
source "$(dirname "$0")/lib.sh"

KUBE_DIR="$DATA_DIR/kube"
PIDFILE="$KUBE_DIR/serve.pid"

pid_alive() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  if pid_alive; then
    log "already running; KUBECONFIG=$KUBE_DIR/admin.kubeconfig"
    return 0
  fi
  [[ -x $KUBE_BIN_DIR/kube-apiserver && -x $ETCD_BIN_DIR/etcd ]] ||
    die "Kubernetes test tools missing: run scripts/install_kube_tools.sh"
  [[ -x $VENV_DIR/bin/python ]] || die "Python environment missing: run scripts/bootstrap.sh"
  rm -rf "$KUBE_DIR" && mkdir -p "$KUBE_DIR"
  # Its own session, so `stop` can reach the children if the wrapper dies.
  setsid "$VENV_DIR/bin/python" "$PLAZA_ROOT/tests/kube/apiserver.py" serve "$KUBE_DIR" \
    >>"$KUBE_DIR/serve.log" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 1200); do
    if [[ -f $KUBE_DIR/ready ]]; then
      log "kube-apiserver ready: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["server"])' "$KUBE_DIR/ready")"
      echo "export KUBECONFIG=$KUBE_DIR/admin.kubeconfig"
      return 0
    fi
    pid_alive || die "the control plane did not start; see $KUBE_DIR/serve.log and $KUBE_DIR/*.log"
    sleep 0.1
  done
  stop
  die "the control plane was not ready after 120 s; see $KUBE_DIR/*.log"
}

stop() {
  pid_alive || { rm -f "$PIDFILE"; return 0; }
  local pid
  pid=$(cat "$PIDFILE")
  kill -TERM "$pid" 2>/dev/null || true
  # The apiserver takes 3-10 s to exit; the wrapper waits for each child.
  for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  log "Kubernetes control plane stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    if pid_alive && [[ -f $KUBE_DIR/ready ]]; then
      echo "kube: running ($(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["server"])' "$KUBE_DIR/ready")), KUBECONFIG=$KUBE_DIR/admin.kubeconfig"
    elif pid_alive; then
      echo "kube: starting"
    else
      echo "kube: stopped"
    fi
    ;;
  *) die "usage: $0 start|stop|status" ;;
esac
