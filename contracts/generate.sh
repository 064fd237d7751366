#!/usr/bin/env bash
# generate.sh regenerates the contracts' committed artifacts: build/*.abi and
# build/*.bin (compile.mjs, solc-js) and bindings/*.go (abigen v2, the
# version pinned as a tool in go.mod). With an argument it writes them under
# that directory instead, as contracts_test.go does to detect drift.
# Test-only contracts (src/test/) get build/ artifacts but no binding.
# Needs node_modules installed (npm ci) and Go; `make contracts` runs both.
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-.}"
GO="${GO:-go}"

node compile.mjs --out "$out/build"
mkdir -p "$out/bindings"
"$GO" tool abigen --v2 \
  --abi "$out/build/TesseraCredits.abi" --bin "$out/build/TesseraCredits.bin" \
  --pkg bindings --type TesseraCredits --out "$out/bindings/tessera_credits.go"
