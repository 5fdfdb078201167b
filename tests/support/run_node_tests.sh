#!/usr/bin/env bash
# Runs the wallet node's browser tests (tests/node_storage.rs, tests/node_devnet.rs) and the JIT
# receive's (tests/jit_receive.rs) in headless
# Chromium against a fresh devnet. The devnet's endpoints JSON reaches the tests at compile time
# in DEVNET_ENDPOINTS (read with option_env!). Extra arguments go to `wasm-pack test`
# (default: --test node_storage --test node_devnet --test jit_receive --test long_lived --test js_numbers --test api_input).
set -euo pipefail
cd "$(dirname "$0")/../.."

DEVNET="${DEVNET:-${CARGO_TARGET_DIR:-target}/debug/devnet}"
[ -x "$DEVNET" ] || { echo "no devnet binary at $DEVNET (cargo build -p devnet, or set DEVNET)"; exit 1; }
dir=$(mktemp -d /tmp/tabnode-node-tests.XXXXXX)
# LDK's peer and channel logs of both LSPs go to the devnet log; its tail is printed on failure.
export RUST_LOG="${RUST_LOG:-devnet=debug,lsp_flow=debug,lsp_flow::ldk=debug,ldk=info}"
"$DEVNET" --any-ports --endpoints "$dir/endpoints.json" --data-dir "$dir/data" >"$dir/devnet.log" 2>&1 &
devnet=$!
trap 'kill $devnet 2>/dev/null || true; wait $devnet 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do
  [ -s "$dir/endpoints.json" ] && break
  kill -0 $devnet 2>/dev/null || { cat "$dir/devnet.log"; exit 1; }
  sleep 0.5
done
[ -s "$dir/endpoints.json" ] || { echo "devnet did not come up"; cat "$dir/devnet.log"; exit 1; }
echo "devnet up, log in $dir/devnet.log"

export DEVNET_ENDPOINTS="$(cat "$dir/endpoints.json")"
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-900}"
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--test node_storage --test node_devnet --test jit_receive --test long_lived --test js_numbers --test api_input --test node_lifecycle)
CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}" \
  wasm-pack test --headless --chrome --mode no-install "${args[@]}" || {
    rc=$?
    echo "--- the devnet log's last 200 lines ($dir/devnet.log) ---"
    tail -n 200 "$dir/devnet.log" | cut -c1-400
    exit $rc
  }
