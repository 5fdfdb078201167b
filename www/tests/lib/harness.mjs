// The harness page (www/tests/harness/) served with a test package, and the devnet's control
// API, for the browser tests that drive a wallet directly rather than through the demo wallet
// (crash.mjs, races.mjs).
import { appendFileSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

export const CONTROL = (process.env.DEVNET_CONTROL ?? "http://127.0.0.1:3003").replace(/\/+$/, "");
const HARNESS_DIR = fileURLToPath(new URL("../harness/", import.meta.url));
/** What a crash point prints when reached (src/crash_point.rs), followed by its name. */
export const REACHED = "tabnode crash point reached: ";

/** Calls the devnet's control API; throws on an error answer. */
export async function control(method, path, body, timeoutMs = 30_000) {
  const res = await fetch(CONTROL + path, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`devnet ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".ts": "text/plain" };

/** Serves the harness page at / and the package in `pkgDir` at /pkg/ on a loopback port. */
export function serveHarness(pkgDir) {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    const file = path.startsWith("/pkg/") ? join(pkgDir, path.slice(5)) : join(HARNESS_DIR, path === "/" ? "harness.html" : path);
    try {
      const body = readFileSync(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${server.address().port}/` })));
}

/** A wallet config for the devnet of `endpoints`, receiving through `protocol` ("flow" or "lsps2"). */
export function walletConfig(endpoints, protocol, storageName) {
  const lsp =
    protocol === "flow"
      ? { protocol: "flow", url: endpoints.flow_lsp.url, nodeId: endpoints.flow_lsp.node_id }
      : { protocol: "lsps2", nodeId: endpoints.lsps2_lsp.node_id, address: `${endpoints.lsps2_lsp.host}:${endpoints.lsps2_lsp.port}` };
  return { network: "regtest", esploraUrl: endpoints.esplora_url, proxyUrl: endpoints.proxy_url, storageName, lsp };
}

/**
 * A harness page of `context`, loaded and ready; its console goes to the file `log`, and
 * `page.crashSeen` resolves to the name of the first crash point it reaches.
 */
export async function openPage(context, url, log) {
  const page = await context.newPage();
  page.crashSeen = new Promise((resolve) => {
    page.on("console", (m) => {
      appendFileSync(log, `${new Date().toISOString()} ${m.type()}: ${m.text()}\n`);
      if (m.text().startsWith(REACHED)) resolve(m.text().slice(REACHED.length));
    });
  });
  page.on("pageerror", (e) => appendFileSync(log, `pageerror: ${e.message}\n`));
  await page.goto(url);
  await page.waitForFunction(() => window.harnessReady === true, null, { timeout: 60_000 });
  return page;
}

