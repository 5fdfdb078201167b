#!/usr/bin/env bash
# Runs the JIT receive browser tests (tests/jit_receive.rs) in headless Chromium against a fresh
# devnet: starts `devnet --any-ports`, bakes its control URL into the test build
# (TABNODE_DEVNET_CONTROL), runs `wasm-pack test --test jit_receive`, stops the devnet.
# DEVNET_BIN: the devnet binary (default: $CARGO_TARGET_DIR/debug/devnet; build it first with
# `cargo build -p devnet`). Extra arguments go to the test binary (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(pwd)/target}"
DEVNET_BIN="${DEVNET_BIN:-$CARGO_TARGET_DIR/debug/devnet}"
[ -x "$DEVNET_BIN" ] || { echo "no devnet binary at $DEVNET_BIN (cargo build -p devnet)" >&2; exit 2; }

work=$(mktemp -d)
"$DEVNET_BIN" --any-ports --endpoints "$work/endpoints.json" --data-dir "$work/data" \
  >"$work/devnet.log" 2>&1 & devnet=$!
trap 'kill $devnet 2>/dev/null || true; wait $devnet 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do
  [ -s "$work/endpoints.json" ] && break
  kill -0 $devnet 2>/dev/null || { cat "$work/devnet.log" >&2; exit 1; }
  sleep 0.5
done
[ -s "$work/endpoints.json" ] || { echo "devnet did not start" >&2; cat "$work/devnet.log" >&2; exit 1; }
TABNODE_DEVNET_CONTROL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["control_url"])' "$work/endpoints.json")
export TABNODE_DEVNET_CONTROL
echo "devnet up: control $TABNODE_DEVNET_CONTROL"

# The tests pay and wait for channels: give the runner time.
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-1800}"
CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}" \
  wasm-pack test --headless --chrome --mode no-install --test jit_receive -- "$@"
