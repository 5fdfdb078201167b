// End to end: the real tabnode package (../pkg, from wasm-pack) in Debian's Chromium, driven
// through the demo wallet's page against a running devnet. A person's path: open the page,
// create a wallet, receive through each LSP (a JIT channel), see balance and history, reload and
// find them intact, pay an invoice of the devnet payer. Screenshots: www/test-results/e2e-*.png.
//
//   DEVNET_CONTROL  the devnet control API (default http://127.0.0.1:3003; start it with ./dev up)
//   WWW_URL         a served www (e.g. `npm run build && npm run preview`); when unset, this test
//                   builds www against ../pkg into a temp dir and serves it with `vite preview`
//
//   npm run test:e2e
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { launch, newPage, screenshot, waitFor } from "./lib/browser.mjs";
import { CONTROL, control } from "./lib/harness.mjs";
import { build, serve } from "./lib/serve.mjs";
import { createWallet, history, lightningBalance, nav, openApp, pay, receive, waitClaimed } from "./lib/wallet-page.mjs";

const RECEIVE_SAT = 50_000;
const PAY_MSAT = 10_000_000;
const STEP_TIMEOUT = 180_000;

/**
 * Creates a wallet on `preset` in a fresh browser context, receives RECEIVE_SAT through the
 * preset's LSP with the devnet payer paying, checks balance, history and channel, reloads and
 * checks them again. Returns the page (still open) and what was received.
 */
async function receiveThroughJit(browser, wwwUrl, { preset, lspLabel, tag }) {
  const context = await browser.newContext({ viewport: { width: 900, height: 1000 } });
  const page = await newPage(context);
  await openApp(page, wwwUrl, CONTROL);
  const words = await createWallet(page, { preset, storageName: `e2e-${tag}-${Date.now()}` });
  assert.equal(await lightningBalance(page), 0, "a new wallet starts empty");

  const r = await receive(page, RECEIVE_SAT);
  assert.equal(r.payerMsat, RECEIVE_SAT * 1000);
  assert.ok(r.feeMsat > 0 && r.feeMsat < r.payerMsat, `the LSP fee ${r.feeMsat} msat was shown before the invoice`);
  assert.match(r.invoice, /^lnbcrt/);
  const banner = page.locator(".banner");
  await waitFor("the keep-this-tab-open notice", () => banner.isVisible(), 10_000);
  await screenshot(page, `e2e-${tag}-invoice`);

  await page.getByRole("button", { name: "Pay me (devnet)" }).click();
  await waitClaimed(page, STEP_TIMEOUT);
  await page.getByText("The devnet payer paid").waitFor({ timeout: STEP_TIMEOUT });
  await waitFor("the notice to go once nothing is pending", async () => !(await banner.isVisible()), 10_000);
  await screenshot(page, `e2e-${tag}-claimed`);

  const check = async (when) => {
    assert.equal(await lightningBalance(page, r.receiveMsat, 30_000), r.receiveMsat, `balance = amount - fee (${when})`);
    const rows = await history(page);
    const row = rows.find((x) => x.direction === "inbound");
    assert.ok(row, `an inbound payment in the history (${when}): ${JSON.stringify(rows)}`);
    assert.deepEqual([row.status, row.amountMsat, row.via], ["succeeded", r.receiveMsat, `new channel (${lspLabel})`], when);
    await nav(page, "Channels");
    await page.getByRole("table", { name: "Channels" }).waitFor();
    assert.equal(await page.getByRole("table", { name: "Channels" }).locator("tbody tr").count(), 1, `one channel (${when})`);
  };
  await check("after receiving");
  await screenshot(page, `e2e-${tag}-channels`);

  await page.reload();
  await page.getByRole("heading", { name: "Balance" }).waitFor({ timeout: 60_000 });
  await check("after a reload");
  await history(page);
  await screenshot(page, `e2e-${tag}-history-after-reload`);
  assert.deepEqual(page.problems.filter((p) => !p.startsWith("console:")), [], "no page errors");
  return { page, context, received: r, words };
}

describe("e2e: the demo wallet on the real package against the devnet", () => {
  let browser, server, tmp, wwwUrl;
  let flow = null;

  before(async () => {
    try {
      await control("GET", "/status");
    } catch (e) {
      throw new Error(`no devnet at ${CONTROL} (start it with ./dev up, or set DEVNET_CONTROL): ${e.message}`);
    }
    wwwUrl = process.env.WWW_URL;
    if (!wwwUrl) {
      tmp = mkdtempSync(join(tmpdir(), "tabnode-www-e2e-"));
      build(join(tmp, "dist"));
      server = await serve({ outDir: join(tmp, "dist") });
      wwwUrl = server.url;
    }
    browser = await launch();
  });

  after(async () => {
    await flow?.context.close();
    await browser?.close();
    await server?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test("flow LSP: create a wallet, receive through a JIT channel, reload", { timeout: 600_000 }, async () => {
    flow = await receiveThroughJit(browser, wwwUrl, { preset: "devnet (flow LSP)", lspLabel: "flow", tag: "flow" });
  });

  test("LSPS2 LSP: create a wallet, receive through a JIT channel, reload", { timeout: 600_000 }, async () => {
    const { context } = await receiveThroughJit(browser, wwwUrl, { preset: "devnet (LSPS2 LSP)", lspLabel: "LSPS2", tag: "lsps2" });
    await context.close();
  });

  test("pay an invoice of the devnet payer", { timeout: 300_000 }, async () => {
    assert.ok(flow, "needs the funded wallet of the flow LSP test");
    const { page } = flow;
    const before = await lightningBalance(page);
    const { invoice } = await control("POST", "/invoice", { amount_msat: PAY_MSAT, description: "e2e: wallet pays the devnet payer" });
    const sent = await pay(page, invoice, STEP_TIMEOUT);
    assert.equal(sent.amountMsat, PAY_MSAT);
    await screenshot(page, "e2e-pay-sent");
    assert.equal(await lightningBalance(page, before - PAY_MSAT - sent.feeMsat), before - PAY_MSAT - sent.feeMsat);
    const rows = await history(page);
    const out = rows.find((x) => x.direction === "outbound");
    assert.ok(out, `an outbound payment in the history: ${JSON.stringify(rows)}`);
    assert.deepEqual([out.status, out.amountMsat, out.feeMsat], ["succeeded", PAY_MSAT, sent.feeMsat]);
    await screenshot(page, "e2e-pay-history");
  });

  test("on chain: funds arrive at the wallet's address, a quoted send goes out exactly", { timeout: 300_000 }, async () => {
    assert.ok(flow, "needs the running wallet of the flow LSP test");
    const { page } = flow;
    const esplora = (await control("GET", "/endpoints")).esplora_url;
    await nav(page, "On-chain");
    const addressEl = page.getByLabel("On-chain address", { exact: true });
    const own = await waitFor("the on-chain address", async () => {
      const t = (await addressEl.textContent())?.trim() ?? "";
      return t.startsWith("bcrt1") ? t : false;
    }, 30_000);
    await control("POST", "/send-onchain", { address: own, amount_sat: 40_000 });
    await control("POST", "/mine", { count: 1 });
    const onchain = page.locator('dd[aria-label="On-chain"]');
    const satOf = async (loc) => Number(await loc.getAttribute("data-sat"));
    await waitFor("40 000 sat on chain", async () => (await onchain.count()) > 0 && (await satOf(onchain)) === 40_000, 60_000);
    await waitFor("the reserve of the anchor channel shown", async () => (await page.locator("[data-reserve]").count()) > 0, 10_000);

    await page.getByLabel("Address", { exact: true }).fill("bcrt1qcr8te4kr609gcawutmrza0j4xv80jy8zeqchgx");
    await page.getByLabel("Amount (sat)").fill("15000");
    await page.getByRole("button", { name: "Review" }).click();
    await page.getByRole("heading", { name: "Confirm on-chain send" }).waitFor({ timeout: 30_000 });
    assert.equal(await satOf(page.getByLabel("Arrives", { exact: true })), 15_000);
    const quotedFee = await satOf(page.getByLabel("Network fee", { exact: true }));
    await screenshot(page, "e2e-onchain-confirm");
    await page.getByRole("button", { name: "Send on chain", exact: true }).click();
    const txidEl = page.getByLabel("Transaction id", { exact: true });
    await txidEl.waitFor({ timeout: 60_000 });
    const txid = (await txidEl.textContent()).trim();
    const fee = await satOf(page.getByLabel("Network fee", { exact: true }));
    assert.equal(fee, quotedFee, "the fee quoted is the fee paid");
    const tx = await (await fetch(`${esplora}/tx/${txid}`)).json();
    assert.equal(tx.fee, fee, "the chain's fee");
    assert.ok(tx.vout.some((o) => o.value === 15_000 && o.scriptpubkey_address === "bcrt1qcr8te4kr609gcawutmrza0j4xv80jy8zeqchgx"));
    await control("POST", "/mine", { count: 1 });
    await waitFor("the change confirmed", async () => (await satOf(onchain)) === 40_000 - 15_000 - fee, 60_000);
    await page.locator(`[data-txid="${txid}"]`).waitFor({ timeout: 30_000 });
    await screenshot(page, "e2e-onchain-sent");
  });

  test("the same recovery phrase under another storage name, in a second tab, is refused", { timeout: 300_000 }, async () => {
    assert.ok(flow, "needs the running wallet of the flow LSP test");
    // A second page of the same browser profile (same origin, so the same Web Locks), while the
    // first page's wallet runs: neither its storage name nor its recovery phrase under another
    // name opens a second node.
    const page = await newPage(flow.context);
    await openApp(page, wwwUrl, CONTROL);
    // The profile's saved settings name the first page's wallet: this page cannot open it.
    await page.getByRole("heading", { name: "The wallet could not start" }).waitFor({ timeout: 60_000 });
    await page.getByRole("alert").filter({ hasText: "already open in another tab" }).waitFor();
    await page.getByRole("button", { name: "Change settings" }).click();
    await page.getByRole("heading", { name: "Set up your wallet" }).waitFor({ timeout: 60_000 });
    await page.getByLabel("Network preset").selectOption({ label: "devnet (flow LSP)" });
    await page.locator("fieldset.settings-form:not([aria-busy='true'])").waitFor({ timeout: 15_000 });
    await page.getByText("Devnet found at").waitFor({ timeout: 15_000 });
    const details = page.locator("details.connection");
    if ((await details.getAttribute("open")) === null) await page.getByText("Connection settings").click();
    await page.getByLabel("Storage name").fill(`e2e-same-seed-${Date.now()}`);
    await page.getByRole("button", { name: "Restore from recovery phrase" }).click();
    await page.getByLabel("Recovery phrase").fill(flow.words.join(" "));
    await page.getByRole("button", { name: "Restore wallet" }).click();
    await page.getByRole("alert").filter({ hasText: "already open in another tab" }).waitFor({ timeout: 60_000 });
    await screenshot(page, "e2e-same-seed-refused");
    assert.equal(await page.getByRole("heading", { name: "Balance" }).count(), 0, "no second node runs");
    await page.close();
    // The first page's wallet still runs.
    assert.ok((await lightningBalance(flow.page)) > 0);
  });
});
