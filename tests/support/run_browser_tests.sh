#!/usr/bin/env bash
# Runs the wasm32 browser tests (tests/store.rs, tests/net.rs) in headless Chromium, with the
# local servers tests/net.rs needs. Extra arguments go to `wasm-pack test` (default:
# `--test store --test net`; the node's tests need a devnet: tests/support/run_node_tests.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

python3 tests/support/test_servers.py & servers=$!
websockify 127.0.0.1:18811 127.0.0.1:18801 >/dev/null 2>&1 & ws_echo=$!
websockify 127.0.0.1:18812 127.0.0.1:18802 >/dev/null 2>&1 & ws_pair=$!
trap 'kill $servers $ws_echo $ws_pair 2>/dev/null || true' EXIT
sleep 1

args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--test store --test net)
CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}" \
  wasm-pack test --headless --chrome --mode no-install "${args[@]}"
