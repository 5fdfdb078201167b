#!/usr/bin/env bash
# Runs the wasm32 browser tests (tests/store.rs, tests/net.rs, tests/engine_crypto.rs) in the
# headless browser ENGINE names (tests/support/engine.sh: chromium, firefox or webkit), with the
# local servers tests/net.rs needs. Extra arguments go to `wasm-pack test` instead (the node's
# tests need a devnet: tests/support/run_node_tests.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/support/engine.sh

servers_log=$(mktemp)
python3 -u tests/support/test_servers.py >"$servers_log" 2>&1 & servers=$!
websockify 127.0.0.1:18811 127.0.0.1:18801 >/dev/null 2>&1 & ws_echo=$!
websockify 127.0.0.1:18812 127.0.0.1:18802 >/dev/null 2>&1 & ws_pair=$!
websockify 127.0.0.1:18815 127.0.0.1:18805 >/dev/null 2>&1 & ws_flood=$!
trap 'kill $servers $ws_echo $ws_pair $ws_flood 2>/dev/null || true' EXIT
# Wait until every listener accepts (a condition, not a guess of how long they take). The Python
# servers say so on stdout once all their sockets are bound (a probe must not touch the pair
# relay: it would pair the probe with a test's connection); websockify is probed by a plain TCP
# connect, which it drops without dialing its target.
for _ in $(seq 1 100); do
  grep -q "test servers ready" "$servers_log" 2>/dev/null && break
  kill -0 $servers 2>/dev/null || { cat "$servers_log"; echo "test servers exited"; exit 1; }
  sleep 0.1
done
grep -q "test servers ready" "$servers_log" || { echo "test servers not ready"; exit 1; }
for port in 18811 18812 18815; do
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue 2
    sleep 0.1
  done
  echo "websockify does not listen on 127.0.0.1:$port"; exit 1
done

echo "engine: $ENGINE"
if [ $# -gt 0 ]; then
  wasm_pack_test "$@"
elif [ "$ENGINE" = webkit ]; then
  wasm_pack_test --test store --test net
  # WebKitGTK 2.50 gets libsecp256k1 wrong now and then in the debug build of the tests (about 1
  # signature in 2 000; README "Browser engines"): the engine check runs there on the code as
  # shipped (the package's profile), where it has found no wrong answer.
  echo "webkit: tests/engine_crypto.rs on the wasm-release profile (the debug build trips WebKitGTK's bug)"
  cargo_test_in_engine --profile wasm-release --test engine_crypto
else
  wasm_pack_test --test store --test net --test engine_crypto
fi
