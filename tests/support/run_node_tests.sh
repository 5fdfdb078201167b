#!/usr/bin/env bash
# Runs the wallet node's browser tests (the suites listed below) in the headless browser ENGINE
# names (tests/support/engine.sh: chromium, firefox or webkit) against a fresh devnet. The
# devnet's endpoints JSON reaches the tests at compile time in DEVNET_ENDPOINTS (read with
# option_env!). Extra arguments go to `wasm-pack test` instead of the default list.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/support/engine.sh

DEVNET="${DEVNET:-${CARGO_TARGET_DIR:-target}/devnet/devnet}"
[ -x "$DEVNET" ] || { echo "no devnet binary at $DEVNET (cargo test -p devnet --profile devnet --no-run, or set DEVNET)"; exit 1; }
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
echo "devnet up, log in $dir/devnet.log; engine: $ENGINE"

export DEVNET_ENDPOINTS="$(cat "$dir/endpoints.json")"
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-900}"
args=("$@")
run=(wasm_pack_test)
suites=(--test node_storage --test node_devnet --test jit_receive --test long_lived --test js_numbers --test api_input --test node_lifecycle)
if [ ${#args[@]} -eq 0 ]; then
  case "$ENGINE" in
    chromium) args=("${suites[@]}") ;;
    firefox)
      # Every suite but the tests whose subject is the chain, not the browser: force closes
      # (claims, sweeps and fee bumps over hundreds of mined blocks) and the trust-minimized
      # receive's funding waits. Their browser I/O (fetch to Esplora, IndexedDB, the LSP's
      # websocket) is what the other tests use too; they run in Chromium.
      args=("${suites[@]}" -- --skip force_close --skip trust_minimized)
      ;;
    webkit)
      # WebKitGTK 2.50 gets libsecp256k1 wrong now and then in the tests' debug build (README
      # "Browser engines"; tests/engine_crypto.rs): there, a JIT receive then a direct payment
      # through each LSP, built as the package ships (wasm-release). The debug suites run by hand
      # with arguments, e.g. `--test jit_receive`.
      echo "webkit: a JIT receive then a direct payment through each LSP, on the wasm-release profile"
      run=(cargo_test_in_engine --profile wasm-release)
      args=(--test jit_receive -- jit_receive_then_direct)
      ;;
  esac
fi
"${run[@]}" "${args[@]}" || {
    rc=$?
    echo "--- the devnet log's last 200 lines ($dir/devnet.log) ---"
    tail -n 200 "$dir/devnet.log" | cut -c1-400
    exit $rc
  }
