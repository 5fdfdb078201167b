#!/usr/bin/env python3
"""Local servers for the browser network tests (tests/net.rs).

- TCP echo on 127.0.0.1:18801, behind websockify on ws://127.0.0.1:18811
- TCP pair relay on 127.0.0.1:18802 (every two connections are piped to each other), behind
  websockify on ws://127.0.0.1:18812: two in-page LDK peer managers talk BOLT8 through it
- HTTP on http://127.0.0.1:18803 with CORS: fetch-layer endpoints and a canned Esplora
  under /esplora built from mainnet block 80000
- a TCP flood on 127.0.0.1:18805 (6 MiB to every connection, nothing read), behind websockify
  on ws://127.0.0.1:18815: a peer past the wallet's inbound queue limit
- a silent TCP listener on 127.0.0.1:18804: it accepts every connection and never answers, so a
  websocket upgrade to it hangs and the client's connect timeout fires (on loopback: tests never
  dial a private-range or public address)

The websockify processes are started by run_browser_tests.sh; this script runs the TCP and
HTTP servers until killed.
"""
import hashlib
import http.server
import json
import socket
import socketserver
import sys
import threading
import time

ECHO_TCP, PAIR_TCP, HTTP_PORT, SILENT_TCP, FLOOD_TCP = 18801, 18802, 18803, 18804, 18805
ECHO_WS, PAIR_WS = 18811, 18812

BLOCK_80000 = bytes.fromhex(
    "01000000ba8b9cda965dd8e536670f9ddec10e53aab14b20bacad27b9137190000000000190760b278fe7b8565fda3b968b918d5fd997f993b23674c0af3b6fde300b38f33a5914ce6ed5b1b01e32f5702"
    "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff0704e6ed5b1b014effffffff0100f2052a01000000434104b68a50eaa0287eff855189f949c1c6e5f58b37c88231373d8a59809cbae83059cc6469d65c665ccfd1cfeb75c6e8e19413bba7fbff9bc762419a76d87b16086eac00000000"
    "0100000001a6b97044d03da79c005b20ea9c0e1a6d9dc12d9f7b91a5911c9030a439eed8f5000000004948304502206e21798a42fae0e854281abd38bacd1aeed3ee3738d9e1446618c4571d1090db022100e2ac980643b0b82c0e88ffdfec6b64e3e6ba35e7ba5fdd7d5d6cc8d25c6b241501ffffffff0100f2052a010000001976a914404371705fa9bd789a2fcd52d2c580b65d35549d88ac00000000"
)
HEADER = BLOCK_80000[:80]
TX0 = BLOCK_80000[81:81 + 134]
TX1 = BLOCK_80000[81 + 134:]


def sha256d(b):
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def display(h):
    return h[::-1].hex()


BLOCK_HASH = display(sha256d(HEADER))
TXID0, TXID1 = display(sha256d(TX0)), display(sha256d(TX1))
assert TXID1 == "5a4ebf66822b0b2d56bd9dc64ece0bc38ee7844a23ff1d7320a88c5fdb2ad3e2", TXID1
# BIP37 merkle block proving TX1: 2 transactions, hashes [tx0, tx1], flag bits 1,0,1.
MERKLE_BLOCK = HEADER + (2).to_bytes(4, "little") + b"\x02" + sha256d(TX0) + sha256d(TX1) + b"\x01\x05"
P2PKH = "76a914404371705fa9bd789a2fcd52d2c580b65d35549d88ac"
STATUS = {"confirmed": True, "block_height": 80000, "block_hash": BLOCK_HASH, "block_time": 1283711026}
TX1_JSON = {
    "txid": TXID1, "version": 1, "locktime": 0, "size": 215, "weight": 860, "fee": 0,
    "vin": [{
        "txid": "f5d8ee39a430901c91a5917b9f2dc19d6d1a0e9cea205b009ca73dd04470b9a6", "vout": 0,
        "prevout": {"scriptpubkey": P2PKH, "value": 5000000000},
        "scriptsig": TX1[42:42 + 73].hex(), "is_coinbase": False, "sequence": 4294967295,
    }],
    "vout": [{"scriptpubkey": P2PKH, "value": 5000000000}],
    "status": STATUS,
}
SCRIPT_HASH = hashlib.sha256(bytes.fromhex(P2PKH)).hexdigest()


class Http(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="text/plain"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_OPTIONS(self):
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST")
        self.send_header("Access-Control-Allow-Headers", "*")
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    def do_GET(self):
        p = self.path
        if p == "/text":
            return self.reply(200, "hello")
        if p == "/json":
            return self.reply(200, json.dumps({"a": 1, "b": "two"}), "application/json")
        if p == "/status/503":
            return self.reply(503, json.dumps({"error": "busy", "message": "try later"}), "application/json")
        if p == "/slow":
            time.sleep(3)
            return self.reply(200, "late")
        if p == "/headers":
            return self.reply(200, json.dumps({"x-test": self.headers.get("x-test")}), "application/json")
        if p.startswith("/esplora/"):
            return self.esplora(p[len("/esplora"):])
        if p.startswith("/big/"):
            # /big/<bytes>: a body of that size with its Content-Length
            return self.reply(200, b"x" * int(p[len("/big/"):]), "application/octet-stream")
        if p.startswith("/big-chunked/"):
            # /big-chunked/<bytes>: the same, chunked, with no Content-Length
            return self.chunked(int(p[len("/big-chunked/"):]))
        return self.reply(404, "no such test endpoint")

    def chunked(self, n):
        self.send_response(200)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = b"z" * 16384
        sent = 0
        try:
            while sent < n:
                part = chunk[: min(len(chunk), n - sent)]
                self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
                sent += len(part)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the client gave up (as it should past its limit)

    def esplora(self, p):
        routes = {
            "/blocks/tip/hash": lambda: (200, BLOCK_HASH),
            "/blocks/tip/height": lambda: (200, "80000"),
            "/block-height/80000": lambda: (200, BLOCK_HASH),
            f"/block/{BLOCK_HASH}/header": lambda: (200, HEADER.hex()),
            # A lying server: another block's header under the genesis hash.
            "/block/000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f/header": lambda: (200, HEADER.hex()),
            f"/block/{BLOCK_HASH}/status": lambda: (200, json.dumps({"in_best_chain": True, "height": 80000, "next_best": None})),
            f"/tx/{TXID1}/raw": lambda: (200, TX1),
            f"/tx/{TXID1}": lambda: (200, json.dumps(TX1_JSON)),
            f"/tx/{TXID1}/status": lambda: (200, json.dumps(STATUS)),
            f"/tx/{TXID1}/merkle-proof": lambda: (200, json.dumps({"block_height": 80000, "merkle": [TXID0], "pos": 1})),
            f"/tx/{TXID1}/merkleblock-proof": lambda: (200, MERKLE_BLOCK.hex()),
            f"/tx/{TXID1}/outspend/0": lambda: (200, json.dumps({"spent": False})),
            f"/scripthash/{SCRIPT_HASH}/txs": lambda: (200, json.dumps([TX1_JSON])),
            "/fee-estimates": lambda: (200, '{"1": 87.882, "6": 2.5, "144": 1.0}'),
        }
        if p in routes:
            status, body = routes[p]()
            return self.reply(status, body)
        if p.startswith("/tx/") or p.startswith("/block-height/"):
            return self.reply(404, "Transaction not found")
        return self.reply(400, "unexpected esplora path " + p)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path == "/echo":
            return self.reply(200, body, self.headers.get("Content-Type") or "application/octet-stream")
        if self.path == "/esplora/tx":
            try:
                raw = bytes.fromhex(body.decode())
            except ValueError:
                return self.reply(400, "sendrawtransaction RPC error: TX decode failed")
            return self.reply(200, display(sha256d(raw)))
        return self.reply(404, "no such test endpoint")


class ThreadingHttp(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def listen(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    return s


def echo_server(srv):
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=pipe, args=(conn, conn), daemon=True).start()


def pair_server(srv):
    waiting = None
    while True:
        conn, _ = srv.accept()
        if waiting is None:
            waiting = conn
            continue
        a, b, waiting = waiting, conn, None
        threading.Thread(target=pipe, args=(a, b), daemon=True).start()
        threading.Thread(target=pipe, args=(b, a), daemon=True).start()


def silent_server(srv):
    held = []  # keep the sockets open (and unanswered) until the client gives up
    while True:
        conn, _ = srv.accept()
        held.append(conn)
        del held[:-64]


FLOOD_BYTES = 6 * 1024 * 1024


def flood_server(srv):
    """Sends FLOOD_BYTES at once to every connection, reading nothing: a peer that floods."""
    while True:
        conn, _ = srv.accept()

        def flood(c):
            try:
                block = b"\x00" * 65536
                for _ in range(FLOOD_BYTES // len(block)):
                    c.sendall(block)
            except OSError:
                pass
            finally:
                time.sleep(5)
                c.close()

        threading.Thread(target=flood, args=(conn,), daemon=True).start()


def main():
    # Every socket is bound and listening before "ready" is printed (run_browser_tests.sh waits
    # for that line).
    threading.Thread(target=silent_server, args=(listen(SILENT_TCP),), daemon=True).start()
    threading.Thread(target=echo_server, args=(listen(ECHO_TCP),), daemon=True).start()
    threading.Thread(target=pair_server, args=(listen(PAIR_TCP),), daemon=True).start()
    threading.Thread(target=flood_server, args=(listen(FLOOD_TCP),), daemon=True).start()
    http_server = ThreadingHttp(("127.0.0.1", HTTP_PORT), Http)
    threading.Thread(target=http_server.serve_forever, daemon=True).start()
    print("test servers ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
