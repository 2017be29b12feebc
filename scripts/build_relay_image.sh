#!/usr/bin/env bash
# Builds the relay container image without a container engine: a static
# relay binary (CGO_ENABLED=0) in one layer on an empty base, written by
# scripts/tools/image (go-containerregistry) as
#   OUT/plaza-relay/       an OCI image layout (skopeo/crane/oras can push it)
#   OUT/plaza-relay.tar    a tarball for `docker load` / `podman load`
# and prints REF@DIGEST. The image matches relay-go/Dockerfile's final stage:
# /plaza-relay as entrypoint, user 65532:65532, ports 8100 and 8200, the
# org.opencontainers.image.* labels, no shell; /etc/ssl/certs holds this
# machine's CA bundle (distroless ships Debian's). docs/images.md.
#
# Usage: scripts/build_relay_image.sh [OUT]   (default: dist/images)
# Environment: PLAZA_RELAY_IMAGE (default ghcr.io/plaza-dev/plaza-relay),
# PLAZA_IMAGE_TAG (default: the chart's appVersion), SOURCE_DATE_EPOCH
# (default: the last commit's time; makes the image reproducible).
source "$(dirname "$0")/lib.sh"

[[ $# -le 1 ]] || die "usage: scripts/build_relay_image.sh [OUT]"
OUT=$(mkdir -p "${1:-$PLAZA_ROOT/dist/images}" && cd "${1:-$PLAZA_ROOT/dist/images}" && pwd)
APP_VERSION=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$PLAZA_ROOT/charts/plaza/Chart.yaml")
[[ -n $APP_VERSION ]] || die "no appVersion in charts/plaza/Chart.yaml"
TAG="${PLAZA_IMAGE_TAG:-$APP_VERSION}"
REF="${PLAZA_RELAY_IMAGE:-ghcr.io/plaza-dev/plaza-relay}:$TAG"
REVISION=$(git -C "$PLAZA_ROOT" rev-parse HEAD)
EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$PLAZA_ROOT" log -1 --format=%ct)}"
CREATED=$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

log "building the static relay binary"
(cd "$PLAZA_ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$WORK/plaza-relay" ./relay-go/cmd/relay)
# The image writer: its own module, pinned in scripts/tools/image/go.mod.
(cd "$PLAZA_ROOT/scripts/tools/image" && go build -trimpath -o "$WORK/image" .)

files=(-file "$WORK/plaza-relay=/plaza-relay:0755")
if [[ -f $CA_BUNDLE ]]; then
  files+=(-file "$CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt:0644")
else
  log "warning: no $CA_BUNDLE here; the image will not verify https:// JWKS URLs"
fi

rm -rf "$OUT/plaza-relay" "$OUT/plaza-relay.tar"
"$WORK/image" -layout "$OUT/plaza-relay" -tarball "$OUT/plaza-relay.tar" -tag "$REF" \
  -entrypoint /plaza-relay -user 65532:65532 -created "$CREATED" "${files[@]}" \
  -port 8100/tcp -port 8200/tcp \
  -label "org.opencontainers.image.title=plaza-relay" \
  -label "org.opencontainers.image.description=Plaza relay: WebSocket sessions, rooms, movement, chat and room state" \
  -label "org.opencontainers.image.version=$TAG" \
  -label "org.opencontainers.image.revision=$REVISION" \
  -label "org.opencontainers.image.created=$CREATED" \
  -label "org.opencontainers.image.source=https://github.com/plaza-dev/plaza" \
  -label "org.opencontainers.image.licenses=Apache-2.0"
log "wrote $OUT/plaza-relay (OCI layout) and $OUT/plaza-relay.tar"
