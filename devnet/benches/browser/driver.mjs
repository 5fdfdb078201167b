// The browser half of `cargo bench -p devnet --bench jit_receive` (and `--bench rgs_graph`):
// serves index.html, round.js, graph.js
// and the npm package (../../../pkg, or $TABNODE_PKG) on a free loopback port, starts Debian's
// Chromium headless through playwright-core (from www/node_modules), then runs one JIT receive
// per request, each in a fresh browser context with a fresh storageName (a wallet with no
// channel), and answers with the page's figures.
//
//   node driver.mjs <devnet control URL>
//
// stdin, one JSON per line: {"protocol": "lsps2"|"flow", "amountMsat", "maxFeeMsat",
//                            "expectedFeeMsat", "tag"} (a JIT receive, round.js), or
//                           {"kind": "graph", "rgsUrl", "mutateUrl", "tag"} (graph.js)
// stdout, one JSON per line: first {"ready": true, "browser"} or {"ready": false, "error"},
//   then per request {"ok": true, "elapsedMs", "receivedMsat", "feeMsat", "setup", ...}
//   or {"ok": false, "error", "problems"}. It exits when stdin closes.
// By hand against `./dev up`: echo '{"protocol":"flow","amountMsat":50000000,"maxFeeMsat":10000000,
//   "expectedFeeMsat":1000000,"tag":"x"}' | node devnet/benches/browser/driver.mjs http://127.0.0.1:3003
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { basename, extname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, "../../..");
const PKG = process.env.TABNODE_PKG ?? join(ROOT, "pkg");
// The Chromium www/tests/lib/browser.mjs launches (it reads the same variable).
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ROUND_TIMEOUT_MS = 240_000;
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };

const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

/** Why the browser side cannot run, or null. */
function missing() {
  for (const f of ["tabnode.js", "tabnode_bg.wasm"]) {
    if (!existsSync(join(PKG, f))) return `no ${join(PKG, f)} (build the package: ./dev up builds pkg/)`;
  }
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt install chromium, or set CHROMIUM)`;
  return null;
}

/** www's browser launcher: playwright-core from www/node_modules, Debian's Chromium, its flags. */
async function loadLauncher() {
  try {
    return await import(pathToFileURL(join(ROOT, "www/tests/lib/browser.mjs")).href);
  } catch (e) {
    throw new Error(`playwright-core not found from www/ (cd www && npm ci): ${e.message}`);
  }
}

/** index.html and round.js from here, /pkg/<file> from the package; nothing else. */
function serve() {
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    let file = null;
    if (path === "/" || path === "/index.html") file = join(HERE, "index.html");
    else if (path === "/round.js" || path === "/graph.js") file = join(HERE, path.slice(1));
    else if (path.startsWith("/pkg/") && basename(path) === path.slice(5)) file = join(PKG, path.slice(5));
    if (!file || !existsSync(file)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    res.end(readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

async function main() {
  const control = (process.argv[2] ?? "").replace(/\/+$/, "");
  if (!control) throw new Error("usage: node driver.mjs <devnet control URL>");
  const why = missing();
  if (why) return say({ ready: false, error: why });
  const { launch } = await loadLauncher();
  const endpoints = await (await fetch(`${control}/endpoints`)).json();
  const server = await serve();
  const url = `http://127.0.0.1:${server.address().port}/`;
  const browser = await launch();
  try {
    say({ ready: true, browser: `Chromium ${browser.version()}`, url });
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line.trim()) continue;
      say(await round(browser, url, endpoints, JSON.parse(line)));
    }
  } finally {
    await browser.close();
    server.close();
  }
}

async function round(browser, url, endpoints, req) {
  const context = await browser.newContext();
  const problems = [];
  try {
    const page = await context.newPage();
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
    page.setDefaultTimeout(ROUND_TIMEOUT_MS);
    await page.goto(url);
    const fn = req.kind === "graph" ? "graphRound" : "jitRound";
    await page.waitForFunction((name) => typeof window[name] === "function", fn);
    const storageName = `bench-${req.kind ?? req.protocol}-${req.tag}-${Date.now()}`;
    const result = await page.evaluate(([name, args]) => window[name](args), [fn, { ...req, endpoints, storageName }]);
    return { ok: true, ...result };
  } catch (e) {
    return { ok: false, error: e.message.split("\n")[0], problems: problems.slice(-10) };
  } finally {
    await context.close();
  }
}

main().catch((e) => {
  say({ ready: false, error: e.message });
  process.exitCode = 1;
});
