// Smoke test of the page itself, runnable without the real package or a devnet. NOT end to end:
// the wallet here is a stand-in module (tests/lib/standin-tabnode.js) copied into a temp dir
// (never in pkg/), speaking the docs/js-api.md contract with canned answers, next to a stand-in
// devnet control API. It checks that the page loads, renders, explains a missing or broken
// package, and that its screens drive the contract as the end-to-end test expects.
//
//   npm run test:smoke        (screenshots in www/test-results/smoke-*.png)
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { launch, newPage, screenshot, waitFor } from "./lib/browser.mjs";
import { build, serve } from "./lib/serve.mjs";
import { createWallet, history, lightningBalance, nav, openApp, pay, receive, waitClaimed } from "./lib/wallet-page.mjs";

// The stand-in package's module (type-checked against the contract by `npm run typecheck`).
const STANDIN_JS = readFileSync(new URL("./lib/standin-tabnode.js", import.meta.url), "utf8");

function writeStandinPackage(dir) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "tabnode", version: "0.0.0-smoke-standin", type: "module", main: "tabnode.js", files: ["tabnode.js", "tabnode_bg.wasm"] }));
  writeFileSync(join(dir, "tabnode.js"), STANDIN_JS);
  // A valid, empty wasm module (magic number, version) with a 5000-byte custom section, so that
  // Vite emits it as a file (as it does the real multi-MB wasm) instead of inlining it.
  const pad = Buffer.alloc(5000);
  const payload = Buffer.concat([Buffer.from([3]), Buffer.from("pad"), pad]); // name length, name, bytes
  const size = payload.length; // 5004 < 2^14: two LEB128 bytes
  const section = Buffer.concat([Buffer.from([0x00, (size & 0x7f) | 0x80, size >> 7]), payload]);
  writeFileSync(join(dir, "tabnode_bg.wasm"), Buffer.concat([Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]), section]));
}

/** A stand-in devnet control API (and the one Esplora call the page makes) on a free port. */
function startStandinControl() {
  const calls = [];
  const srv = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      res.setHeader("access-control-allow-origin", "*");
      res.setHeader("access-control-allow-headers", "content-type");
      if (req.method === "OPTIONS") return res.writeHead(204).end();
      calls.push({ method: req.method, url: req.url, body });
      const base = `http://127.0.0.1:${srv.address().port}`;
      const json = (v) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(v));
      if (req.url === "/endpoints") {
        return json({
          network: "regtest",
          esplora_url: `${base}/esplora`,
          control_url: base,
          proxy_url: "ws://127.0.0.1:9",
          flow_lsp: { url: `${base}/flow`, node_id: "02" + "aa".repeat(32), host: "127.0.0.1", port: 9736 },
          lsps2_lsp: { node_id: "03" + "bb".repeat(32), host: "127.0.0.1", port: 9735 },
          payer: { node_id: "02" + "cc".repeat(32), host: "127.0.0.1", port: 9737 },
        });
      }
      if (req.url === "/esplora/block-height/1") return res.writeHead(200).end("ab".repeat(32));
      if (req.url === "/pay") {
        return json({ status: "succeeded", payment_hash: "00".repeat(32), preimage: "11".repeat(32), fee_msat: 0, amount_msat: 50_000_000, failure: null, elapsed_ms: 7 });
      }
      if (req.url === "/invoice") return json({ invoice: "lnbcrt100000n1" + "q".repeat(150) });
      res.writeHead(404).end("{}");
    });
  });
  return new Promise((resolve) => srv.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${srv.address().port}`, calls, stop: () => new Promise((r) => srv.close(r)) })));
}

describe("smoke: the page against a stand-in package (not end to end)", () => {
  let tmp, browser, server, control;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "tabnode-www-smoke-"));
    writeStandinPackage(join(tmp, "pkg"));
    build(join(tmp, "dist"), { TABNODE_PKG: join(tmp, "pkg") });
    server = await serve({ outDir: join(tmp, "dist") });
    control = await startStandinControl();
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await control?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test("create, back up, receive with the fee shown first, guard the tab, reload, send", async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 1000 } });
    const page = await newPage(context);
    await openApp(page, server.url, control.url);
    await page.getByRole("heading", { name: "Set up your wallet" }).waitFor();
    await screenshot(page, "smoke-setup");

    const words = await createWallet(page, { preset: "devnet (flow LSP)", storageName: "smoke-flow" });
    assert.equal(words.length, 12);
    assert.equal(await lightningBalance(page), 0);
    await screenshot(page, "smoke-home-empty");

    const r = await receive(page, 50_000);
    assert.deepEqual([r.payerMsat, r.feeMsat, r.receiveMsat], [50_000_000, 1_000_000, 49_000_000]);
    assert.match(r.invoice, /^lnbcrt500000n1/);
    // While the receive is pending: the notice and the unload guard.
    const banner = page.locator(".banner");
    await waitFor("the keep-this-tab-open banner", () => banner.isVisible());
    assert.match(await banner.textContent(), /Keep this tab open/);
    await page.getByText("Keep this tab open until the payment arrives").waitFor();
    await screenshot(page, "smoke-receive-invoice");
    const dialogs = [];
    page.on("dialog", (d) => {
      dialogs.push(d.type());
      void d.dismiss();
    });
    await page.evaluate(() => location.reload()).catch(() => {});
    await waitFor("the beforeunload prompt", () => dialogs.includes("beforeunload"), 5_000);
    assert.ok(await page.getByRole("img", { name: "Invoice QR code" }).isVisible(), "the page stayed after dismissing the prompt");

    await page.getByRole("button", { name: "Pay me (devnet)" }).click();
    await page.getByText("The devnet payer paid 50,000 sat in 7 ms.").waitFor();
    assert.ok(control.calls.some((c) => c.url === "/pay" && JSON.parse(c.body).invoice === r.invoice), "pay-me sent the shown invoice");
    await page.evaluate(() => globalThis.__standin.settleForTest());
    await waitClaimed(page);
    await page.getByText("Payment received: 49,000 sat.").waitFor();
    await waitFor("the banner to go", async () => !(await banner.isVisible()));
    await screenshot(page, "smoke-receive-claimed");

    assert.equal(await lightningBalance(page, 49_000_000), 49_000_000);
    let rows = await history(page);
    assert.deepEqual(rows.map((x) => [x.direction, x.status, x.amountMsat, x.feeMsat, x.via]), [["inbound", "succeeded", 49_000_000, 1_000_000, "new channel (flow)"]]);
    await screenshot(page, "smoke-history");

    await page.reload();
    assert.equal(await lightningBalance(page, 49_000_000), 49_000_000);
    rows = await history(page);
    assert.equal(rows.length, 1);

    await nav(page, "Channels");
    await page.getByRole("table", { name: "Channels" }).waitFor();
    await screenshot(page, "smoke-channels");

    const sent = await pay(page, "lnbcrt100000n1" + "q".repeat(150));
    assert.deepEqual(sent, { amountMsat: 10_000_000, feeMsat: 1000 });
    assert.equal(await lightningBalance(page, 38_999_000), 38_999_000);
    rows = await history(page);
    assert.deepEqual(rows.map((x) => x.direction).sort(), ["inbound", "outbound"]);

    // A wrong-network invoice is refused before any payment is attempted.
    await nav(page, "Send");
    await page.getByLabel("Invoice", { exact: true }).fill("lnbc2500u1" + "q".repeat(100));
    await page.getByRole("button", { name: "Review" }).click();
    await page.getByRole("alert").filter({ hasText: "This invoice is for Bitcoin mainnet" }).waitFor();

    await nav(page, "Settings");
    await page.getByRole("button", { name: "Show recovery phrase" }).click();
    await page.getByRole("button", { name: "Show it" }).click();
    assert.deepEqual(await page.getByRole("list", { name: "Recovery phrase" }).getByRole("listitem").allTextContents(), words);
    await screenshot(page, "smoke-settings");
    assert.deepEqual(page.problems, []);
    await context.close();
  });

  test("LSPS2 preset and restore from a recovery phrase", async () => {
    const context = await browser.newContext();
    const page = await newPage(context);
    await openApp(page, server.url, control.url);
    await page.getByRole("heading", { name: "Set up your wallet" }).waitFor();
    await page.getByLabel("Network preset").selectOption({ label: "devnet (LSPS2 LSP)" });
    await page.locator("fieldset.settings-form:not([aria-busy='true'])").waitFor();
    await page.getByText("Connection settings").click();
    assert.equal(await page.getByLabel("LSP address").inputValue(), "127.0.0.1:9735");
    await page.getByLabel("Storage name").fill("smoke-restored");
    await page.getByRole("button", { name: "Restore from recovery phrase" }).click();
    await page.getByLabel("Recovery phrase").fill("only three words");
    await page.getByRole("button", { name: "Restore wallet" }).click();
    await page.getByRole("alert").filter({ hasText: "Enter all the words" }).waitFor();
    const phrase = "zoo ".repeat(11) + "wrong";
    await page.getByLabel("Recovery phrase").fill(phrase);
    await page.getByRole("button", { name: "Restore wallet" }).click();
    await page.getByRole("heading", { name: "Balance" }).waitFor();
    const r = await receive(page, 20_000);
    assert.equal(r.feeMsat, 1_000_000);
    await page.evaluate(() => globalThis.__standin.settleForTest());
    await waitClaimed(page);
    const rows = await history(page);
    assert.equal(rows[0].via, "new channel (LSPS2)");
    assert.deepEqual(page.problems, []);
    // A fatal wallet error (storage failed) stops the app's use of the wallet and says so.
    await page.evaluate(() => globalThis.__standin.emit("error", { code: "STORAGE_FAILED", message: "x", fatal: true }));
    await page.getByRole("heading", { name: "The wallet stopped" }).waitFor();
    await page.getByText("The wallet stopped to protect your funds").waitFor();
    await context.close();
  });

  test("a mainnet preset demands a websocket proxy and shows no devnet tools", async () => {
    const context = await browser.newContext();
    const page = await newPage(context);
    await openApp(page, server.url, control.url);
    await page.getByRole("heading", { name: "Set up your wallet" }).waitFor();
    await page.getByLabel("Network preset").selectOption({ label: "mainnet (flow LSP)" });
    await page.getByRole("button", { name: "Create new wallet" }).click();
    await page.getByText("Enter a websocket proxy URL").waitFor();
    assert.equal(await page.getByLabel("Websocket proxy URL").getAttribute("aria-invalid"), "true");
    await page.getByLabel("Websocket proxy URL").fill("ws://proxy.example.com");
    await page.getByRole("button", { name: "Create new wallet" }).click();
    await page.getByText("outside regtest, connections must be encrypted").waitFor();
    await page.getByLabel("Websocket proxy URL").fill("wss://proxy.example.com");
    await page.getByRole("button", { name: "Create new wallet" }).click();
    await page.getByLabel("I have written down my recovery phrase").check();
    await page.getByRole("button", { name: "Continue" }).click();
    await nav(page, "Receive");
    await page.getByLabel("Amount (sat)").fill("1.5");
    await page.getByRole("button", { name: "Create invoice" }).click();
    await page.getByRole("alert").filter({ hasText: "whole number" }).waitFor();
    await page.getByLabel("Amount (sat)").fill("20000");
    await page.getByRole("button", { name: "Create invoice" }).click();
    await page.getByRole("button", { name: "Accept fee and show invoice" }).click();
    await page.getByLabel("Invoice", { exact: true }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Pay me (devnet)" }).count(), 0);
    // Leaving the page stops the wallet (pagehide), as the stand-in records.
    const storageName = await page.evaluate(() => globalThis.__standin.config.storageName);
    await page.goto("about:blank");
    await page.goto(server.url + "/missing-page-for-the-origin");
    assert.equal(await page.evaluate(() => localStorage.getItem("standin-tabnode:stopped")), storageName);
    await context.close();
  });

  test("the built page: a Content-Security-Policy, no source maps, not frameable", async () => {
    const html = readFileSync(join(tmp, "dist", "index.html"), "utf8");
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html);
    assert.ok(meta, "a CSP meta in index.html");
    const policy = meta[1].replaceAll("&#39;", "'");
    for (const d of ["default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "object-src 'none'", "base-uri 'none'", "connect-src 'self' http://127.0.0.1:* ws://127.0.0.1:*"]) {
      assert.ok(policy.includes(d), `CSP has ${d}: ${policy}`);
    }
    const files = readdirSync(join(tmp, "dist"), { recursive: true }).map(String);
    assert.deepEqual(files.filter((f) => f.endsWith(".map")), [], "no source maps shipped");
    for (const f of files.filter((f) => f.endsWith(".js"))) {
      assert.ok(!readFileSync(join(tmp, "dist", f), "utf8").includes("sourceMappingURL"), `${f} names no source map`);
    }
    const res = await fetch(server.url);
    assert.equal(res.headers.get("content-security-policy"), "frame-ancestors 'none'");
    assert.equal(res.headers.get("x-frame-options"), "DENY");

    // In the page: the app runs under it (the wasm starts), while an inline script and a
    // connection anywhere else (another loopback address) are refused.
    const context = await browser.newContext();
    const page = await newPage(context);
    await openApp(page, server.url, control.url);
    await page.getByRole("heading", { name: "Set up your wallet" }).waitFor();
    const refused = await page.evaluate(async () => {
      const violations = [];
      document.addEventListener("securitypolicyviolation", (e) => violations.push(e.effectiveDirective));
      // An injected inline script (what an XSS would add) does not run.
      const inline = document.createElement("script");
      inline.textContent = "window.__inlineRan = true;";
      document.head.append(inline);
      const inlineRefused = window.__inlineRan !== true;
      let fetchRefused = false;
      try {
        await fetch("http://127.0.0.2:9/");
      } catch {
        fetchRefused = true;
      }
      await new Promise((r) => setTimeout(r, 100));
      return { inlineRefused, fetchRefused, violations };
    });
    assert.deepEqual(refused, { inlineRefused: true, fetchRefused: true, violations: ["script-src-elem", "connect-src"] });
    await context.close();
  });

  test("a wasm that does not start is explained, not a blank page", async () => {
    const context = await browser.newContext();
    const page = await newPage(context);
    await page.route("**/*.wasm", (route) => route.fulfill({ status: 200, contentType: "application/wasm", body: Buffer.from("not wasm") }));
    await openApp(page, server.url, control.url);
    await page.getByRole("heading", { name: "The wallet could not start" }).waitFor();
    await page.getByText("could not start in this browser").waitFor();
    await screenshot(page, "smoke-wasm-broken");
    await context.close();
  });

  test("the dev server serves the package and its wasm from outside www/", async () => {
    const dev = await serve({ env: { TABNODE_PKG: join(tmp, "pkg") } });
    try {
      const context = await browser.newContext();
      const page = await newPage(context);
      const wasm = page.waitForResponse((r) => r.url().endsWith(".wasm"));
      await openApp(page, dev.url, control.url);
      assert.equal((await wasm).status(), 200);
      await page.getByRole("heading", { name: "Set up your wallet" }).waitFor({ timeout: 30_000 });
      assert.deepEqual(page.problems, []);
      await context.close();
    } finally {
      await dev.stop();
    }
  });

  test("a missing package is explained by the dev server's page", async () => {
    const empty = join(tmp, "no-package-here");
    mkdirSync(empty);
    const dev = await serve({ env: { TABNODE_PKG: empty } });
    try {
      const context = await browser.newContext();
      const page = await newPage(context);
      await page.goto(dev.url);
      await page.getByRole("heading", { name: "The wallet could not start" }).waitFor({ timeout: 30_000 });
      await page.getByText("The tabnode package has not been built").waitFor();
      await screenshot(page, "smoke-package-missing");
      await context.close();
    } finally {
      await dev.stop();
    }
  });
});
