// The crash matrix: a tab killed at each step of a JIT receive, of a payment and of a cooperative
// close, through each LSP protocol, then the same wallet reopened in a new page. Every receive
// must end claimed (the exact amount in the history and the balance) or failed back (the payer
// told); every payment sent (the merchant paid, the history and the balance exact) or failed (the
// merchant unpaid, the balance intact, and the invoice payable again); every close closed
// cooperatively (closed again by the user if it was still open) with the channel's balance on
// chain; all with no force close and 0 msat lost, as the devnet's nodes and chain see it. Prints
// the matrix; fails if any case does not hold.
//
// The wallet is the package built with the test-only `crash-points` feature (src/crash_point.rs):
// the page sets `__tabnodeCrashAt`, the node freezes there, and the page is closed, which kills
// its renderer (IndexedDB transactions not yet committed are lost with it, as in a real crash).
//
//   CRASH_PKG       the wasm-bindgen output of that build (./dev test crash makes it)
//   DEVNET_CONTROL  the devnet control API (default http://127.0.0.1:3003)
//
//   node --test tests/crash.mjs
import assert from "node:assert/strict";
import { appendFileSync, rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { RESULTS_DIR, launch, waitFor } from "./lib/browser.mjs";
import { REACHED, control, openPage, serveHarness, walletConfig } from "./lib/harness.mjs";

const CRASH_PKG = process.env.CRASH_PKG;
const AMOUNT_MSAT = 40_000_000;
/** Where the node freezes; `receive_returned` is the harness's own (right after `receive()`). */
const POINTS = [
  "receive_returned",
  "channel_offered",
  "first_monitor_write",
  "channel_ready",
  "payment_claimable",
  "claim_monitor_write",
  "payment_claimed",
];
const PROTOCOLS = ["flow", "lsps2"];
/** Where the node freezes during `pay()` (src/crash_point.rs). */
const PAY_POINTS = ["pay_issued", "pay_monitor_durable", "pay_htlc_committed", "payment_sent"];
/**
 * What each pay point must end in: before anything left, the payment fails (`not_sent`) and is
 * paid again; from the HTLC's first monitor write on, the manager on disk knows it and it is sent.
 * Another outcome means the point fired at another step (or the wallet is wrong).
 */
const PAY_EXPECTED = { pay_issued: "failed, paid again", pay_monitor_durable: "sent", pay_htlc_committed: "sent", payment_sent: "sent" };
const PAY_MSAT = 10_000_000;
/** The devnet's announced channels (payer–LSPs, LSPS2–merchant, payer–merchant): the merchant is reachable. */
const ANNOUNCED_CHANNELS = 4;
/** Where the node freezes during a cooperative `closeChannel()` (src/crash_point.rs). */
const CLOSE_POINTS = ["close_issued", "closed_cooperatively"];

/** The LSP's channels with `nodeId`, as the devnet's LSP node sees them. */
async function lspChannels(protocol, nodeId) {
  const status = await control("GET", "/status");
  if (protocol === "flow") return status.flow_lsp.channels.filter((c) => c.counterparty === nodeId);
  return status.lsps2_lsp.channels.filter((c) => c.counterparty_node_id === nodeId);
}

/**
 * The payer's outcome (`paid`, its pending `/pay`). An HTLC nobody settles is held until it nears
 * its expiry: when the payer has none after 15 s, blocks are mined, 20 at a time, until the HTLC is
 * failed back (or 400 blocks). `mined`: how many that took.
 */
async function payerOutcome(paid) {
  const within = (ms) => Promise.race([paid, new Promise((r) => setTimeout(() => r(null), ms))]);
  let outcome = await within(15_000);
  let mined = 0;
  while (!outcome && mined < 400) {
    await control("POST", "/mine", { count: 20 });
    mined += 20;
    outcome = await within(1_000);
  }
  assert.ok(outcome, `the payer has no outcome after ${mined} blocks`);
  return { outcome, mined };
}

/**
 * One case: a new wallet receives AMOUNT_MSAT through `protocol`; the tab is killed at `point`;
 * the wallet is reopened in a new page of the same profile. Returns the matrix row.
 */
async function crashCase(browser, url, endpoints, protocol, point) {
  const { config, log, context } = await newCase(browser, endpoints, protocol, point, { graph: false });
  try {
    const page = await openPage(context, url, log);
    const nodeId = await page.evaluate((c) => window.harness.open(c), config);
    if (point !== "receive_returned") await page.evaluate((p) => (globalThis.__tabnodeCrashAt = p), point);
    const r = await page.evaluate((a) => window.harness.receive({ amountMsat: a, description: "crash matrix" }), AMOUNT_MSAT);
    let paid;
    if (point === "receive_returned") {
      await page.close();
      paid = control("POST", "/pay", { invoice: r.invoice }, 200_000);
    } else {
      paid = control("POST", "/pay", { invoice: r.invoice }, 200_000);
      const reached = await Promise.race([page.crashSeen, paid.then((p) => `none (the payment ended first: ${p.status})`)]);
      assert.equal(reached, point, `${protocol}: the node reached ${point}`);
      await page.close();
    }
    paid.catch(() => {});

    // The same wallet in a new page: the killed page's lock went with its renderer.
    appendFileSync(log, "--- killed; reopening ---\n");
    const reopened = await openPage(context, url, log);
    assert.equal(await reopened.evaluate((c) => window.harness.open(c), config), nodeId, "the same wallet reopens");
    const { outcome: payer, mined } = await payerOutcome(paid);
    const row = { protocol, point, outcome: payer.status === "succeeded" ? "claimed" : "failed back", forceCloses: 0, lostMsat: 0, detail: "" };
    if (mined > 0) row.outcome += " at expiry";

    // A payment the payer saw fail leaves the invoice payable until it expires: its record may
    // stay pending. One the payer saw succeed must be in the history as received.
    const record = await waitFor(
      `the payment's record (payer: ${payer.status})`,
      async () => {
        const mine = (await reopened.evaluate(() => window.harness.payments())).find((p) => p.paymentHash === r.paymentHash);
        if (payer.status !== "succeeded") return mine ?? { status: "absent" };
        return mine?.status === "succeeded" ? mine : false;
      },
      60_000,
    );
    const balance = await reopened.evaluate(() => window.harness.balance());
    const walletChannels = await reopened.evaluate(() => window.harness.channels());
    const theirs = await lspChannels(protocol, nodeId);
    // A channel one side has and the other has not, or that is not usable, was closed or broken.
    row.forceCloses =
      Math.abs(theirs.length - walletChannels.length) + walletChannels.filter((c) => !c.isUsable).length + theirs.filter((c) => !c.is_usable).length;
    if (payer.status === "succeeded") {
      // What the payer paid (the invoice amount) = the wallet's balance + the LSP's fee quoted.
      row.lostMsat = AMOUNT_MSAT - balance.lightningMsat - r.feeMsat;
      assert.equal(record.status, "succeeded", `${protocol}/${point}: the payer was paid, so the history says received`);
      assert.equal(record.amountMsat, balance.lightningMsat, `${protocol}/${point}: the history's amount is the balance`);
      assert.equal(theirs.length, 1, `${protocol}/${point}: the LSP's channel is still open`);
      assert.ok(theirs[0].is_usable, `${protocol}/${point}: the LSP's channel is usable`);
    } else {
      row.lostMsat = balance.lightningMsat;
      row.detail = `${payer.failure ?? ""}${mined > 0 ? `, after ${mined} blocks` : ""}`;
      assert.notEqual(record.status, "succeeded", `${protocol}/${point}: the payer was failed, the history must not say received`);
    }
    assert.equal(row.lostMsat, 0, `${protocol}/${point}: msat lost`);
    assert.equal(row.forceCloses, 0, `${protocol}/${point}: force closes`);
    await reopened.evaluate(() => window.harness.stop());
    return row;
  } finally {
    await context.close();
  }
}

/**
 * A new wallet's config for one case (its own storage; with `graph`, the routing graph from the
 * devnet's RGS server, for cases that pay the merchant, found through it), its log file (emptied)
 * and a new browser context.
 */
async function newCase(browser, endpoints, protocol, point, { graph }) {
  const storageName = `crash-${protocol}-${point}-${Date.now()}`;
  const config = walletConfig(endpoints, protocol, storageName);
  if (graph) config.rgsUrl = endpoints.rgs_url;
  const log = `${RESULTS_DIR}crash-${point}-${protocol}.log`;
  rmSync(log, { force: true });
  return { config, log, context: await browser.newContext() };
}

/**
 * Has `page` freeze at `point` while it runs `action(arg)` (whose promise then never settles),
 * closes the page (its renderer dies with what it had not committed) and opens the same wallet in
 * a new page of the case's context. Returns that page.
 */
async function killAt(point, page, action, arg, { context, url, config, log, nodeId }) {
  await page.evaluate((p) => (globalThis.__tabnodeCrashAt = p), point);
  page.evaluate(action, arg).catch(() => {});
  const reached = await Promise.race([page.crashSeen, new Promise((r) => setTimeout(() => r("none within 60 s"), 60_000))]);
  assert.equal(reached, point, `the node reached ${point}`);
  await page.close();
  appendFileSync(log, "--- killed; reopening ---\n");
  const reopened = await openPage(context, url, log);
  assert.equal(await reopened.evaluate((c) => window.harness.open(c), config), nodeId, "the same wallet reopens");
  return reopened;
}

/**
 * A wallet of `config` in a new page of `context` with a channel from `protocol`'s LSP (a JIT
 * receive of AMOUNT_MSAT), the routing graph in, and the channel quiet.
 */
async function openFunded(context, url, config, protocol, log) {
  const page = await openPage(context, url, log);
  const nodeId = await page.evaluate((c) => window.harness.open(c), config);
  const funds = await page.evaluate((a) => window.harness.receive({ amountMsat: a, description: "crash matrix funds" }), AMOUNT_MSAT);
  const funded = await control("POST", "/pay", { invoice: funds.invoice }, 200_000);
  assert.equal(funded.status, "succeeded", `${protocol}: the wallet's channel: ${JSON.stringify(funded)}`);
  await waitFor("the funds in the history", async () => (await page.evaluate(() => window.harness.payments())).some((p) => p.paymentHash === funds.paymentHash && p.status === "succeeded"), 60_000);
  await waitFor("the merchant in the routing graph", () => page.evaluate((n) => window.harness.graphHas(n), ANNOUNCED_CHANNELS), 60_000);
  // The funding HTLC's last commitment updates may trail its record: the pay points watch the
  // monitor writes after pay(), and a close waits for a quiet channel, so start from one.
  await waitFor(
    "the funding HTLC gone from both sides",
    async () => {
      const [mine] = await page.evaluate(() => window.harness.channels());
      const [theirs] = await lspChannels(protocol, nodeId);
      return mine?.pendingInboundMsat === 0 && (theirs?.pending_htlcs ?? 0) === 0;
    },
    30_000,
  );
  return { page, nodeId };
}

/** The wallet's balance a payment of `amountMsat` + `feeMsat` leaves: channel balances count whole sat. */
const balanceAfter = (beforeMsat, amountMsat, feeMsat) => Math.floor((beforeMsat - amountMsat - feeMsat) / 1000) * 1000;

/**
 * One payment case: a new wallet gets a channel through `protocol` (a JIT receive), pays the
 * merchant PAY_MSAT and is killed at `point`; reopened, the payment must end sent or failed as the
 * merchant sees it, and a failed one must be payable again. Returns the matrix row.
 */
async function payCase(browser, url, endpoints, protocol, point) {
  const { config, log, context } = await newCase(browser, endpoints, protocol, point, { graph: true });
  try {
    const { page, nodeId } = await openFunded(context, url, config, protocol, log);
    const before = (await page.evaluate(() => window.harness.balance())).lightningMsat;

    const { invoice } = await control("POST", "/invoice", { amount_msat: PAY_MSAT, description: "crash matrix", node: "merchant" });
    const reopened = await killAt(point, page, (i) => window.harness.pay(i), invoice, { context, url, config, log, nodeId });
    const record = await waitFor(
      "the payment settled in the history",
      async () => {
        const mine = (await reopened.evaluate(() => window.harness.payments())).find((p) => p.invoice === invoice);
        return mine && mine.status !== "pending" ? mine : false;
      },
      90_000,
    );
    const merchant = await control("POST", "/merchant/received", { payment_hash: record.paymentHash });
    const row = { protocol, point, outcome: "", forceCloses: 0, lostMsat: 0, detail: "" };
    // The history can settle before the LSP is connected again (a replayed `PaymentSent`): the
    // channel is judged once it is back (or not, after 30 s), and paid over only then.
    const usable = async () => {
      const mine = await reopened.evaluate(() => window.harness.channels());
      const theirs = await lspChannels(protocol, nodeId);
      return mine.length === 1 && mine[0].isUsable && theirs.length === 1 && theirs[0].is_usable;
    };
    await waitFor("the channel usable again on both sides", usable, 30_000).catch(() => {});
    if (merchant.status === "succeeded") {
      row.outcome = "sent";
      assert.equal(record.status, "succeeded", `${protocol}/${point}: the merchant was paid, so the history says sent`);
      assert.equal(merchant.amount_msat, PAY_MSAT, `${protocol}/${point}: the merchant got the amount`);
      assert.equal(record.amountMsat, PAY_MSAT, `${protocol}/${point}: the history's amount`);
      const after = (await reopened.evaluate(() => window.harness.balance())).lightningMsat;
      row.lostMsat = balanceAfter(before, PAY_MSAT, record.feeMsat) - after;
    } else {
      row.outcome = "failed";
      row.detail = record.failure ?? "";
      assert.equal(record.status, "failed", `${protocol}/${point}: the merchant was not paid, so the history says failed`);
      const after = (await reopened.evaluate(() => window.harness.balance())).lightningMsat;
      row.lostMsat = before - after;
      // Nothing is stuck: the same invoice is paid now.
      const again = await reopened.evaluate((i) => window.harness.pay(i), invoice);
      const paid = await control("POST", "/merchant/received", { payment_hash: record.paymentHash });
      assert.equal(paid.status, "succeeded", `${protocol}/${point}: paid again: ${JSON.stringify(again)}`);
      const final = (await reopened.evaluate(() => window.harness.balance())).lightningMsat;
      assert.equal(final, balanceAfter(before, PAY_MSAT, again.feeMsat), `${protocol}/${point}: the balance after paying again`);
      row.outcome = "failed, paid again";
    }
    const walletChannels = await reopened.evaluate(() => window.harness.channels());
    const theirs = await lspChannels(protocol, nodeId);
    row.forceCloses =
      Math.abs(theirs.length - walletChannels.length) + walletChannels.filter((c) => !c.isUsable).length + theirs.filter((c) => !c.is_usable).length;
    assert.equal(theirs.length, 1, `${protocol}/${point}: the LSP's channel is still open`);
    assert.equal(row.lostMsat, 0, `${protocol}/${point}: msat lost`);
    assert.equal(row.outcome, PAY_EXPECTED[point], `${protocol}/${point}: the outcome of this step`);
    assert.equal(row.forceCloses, 0, `${protocol}/${point}: force closes`);
    await reopened.evaluate(() => window.harness.stop());
    return row;
  } finally {
    await context.close();
  }
}

/** GET `path` from the devnet's Esplora. */
async function esplora(endpoints, path) {
  const res = await fetch(endpoints.esplora_url.replace(/\/+$/, "") + path);
  assert.ok(res.ok, `esplora ${path}: HTTP ${res.status}`);
  return res.json();
}

/**
 * The transaction that spent the channel's funding output, once one did: `{ txid, commitment }`,
 * `commitment` true for a commitment transaction (a force close: BOLT3 puts 0x20 in the top byte
 * of its locktime) and false for a cooperative closing transaction.
 */
async function closingTx(endpoints, fundingTxid) {
  const funding = await esplora(endpoints, `/tx/${fundingTxid}`);
  const vout = funding.vout.findIndex((o) => o.scriptpubkey_type === "v0_p2wsh");
  assert.ok(vout >= 0, `no 2-of-2 output in ${fundingTxid}`);
  const spend = await esplora(endpoints, `/tx/${fundingTxid}/outspend/${vout}`);
  if (!spend.spent) return null;
  const tx = await esplora(endpoints, `/tx/${spend.txid}`);
  return { txid: spend.txid, commitment: tx.locktime >>> 24 === 0x20 };
}

/**
 * One close case: a new wallet with a channel from `protocol`'s LSP closes it cooperatively and
 * is killed at `point`; reopened, the channel must end closed cooperatively (closed again by the
 * user if it was still open), the wallet's whole channel balance on chain, no commitment
 * transaction broadcast. Returns the matrix row.
 */
async function closeCase(browser, url, endpoints, protocol, point) {
  const { config, log, context } = await newCase(browser, endpoints, protocol, point, { graph: true });
  try {
    const { page, nodeId } = await openFunded(context, url, config, protocol, log);
    const [channel] = await page.evaluate(() => window.harness.channels());
    const before = (await page.evaluate(() => window.harness.balance())).lightningMsat;
    const reopened = await killAt(point, page, (id) => window.harness.close(id), channel.channelId, { context, url, config, log, nodeId });
    const row = { protocol, point, outcome: "", forceCloses: 0, lostMsat: 0, detail: "" };
    // Closed on both sides, or open and usable on both: anything else is not settled yet.
    const state = async () => {
      const mine = await reopened.evaluate(() => window.harness.channels());
      const theirs = await lspChannels(protocol, nodeId);
      if (mine.length === 0 && theirs.length === 0) return "closed";
      if (mine.length === 1 && theirs.length === 1 && mine[0].isUsable && theirs[0].is_usable) return "open";
      return false;
    };
    const settled = await waitFor("the channel closed, or open and usable, on both sides", state, 60_000);
    if (settled === "open") {
      row.outcome = "open, closed again";
      await reopened.evaluate((id) => window.harness.close(id), channel.channelId);
      await waitFor("the channel closed on both sides after closing again", async () => (await state()) === "closed", 60_000);
    } else {
      row.outcome = "closed";
    }
    const closing = await waitFor("the closing transaction", () => closingTx(endpoints, channel.fundingTxid), 60_000);
    row.forceCloses = closing.commitment ? 1 : 0;
    const onchainSat = await waitFor(
      "the channel's balance in the on-chain wallet",
      async () => {
        await control("POST", "/mine", { count: 1 });
        await reopened.evaluate(() => window.harness.sync());
        const b = await reopened.evaluate(() => window.harness.balance());
        return b.onchainSat > 0 && b.lightningMsat === 0 ? b.onchainSat : false;
      },
      60_000,
      1_000,
    );
    row.lostMsat = before - onchainSat * 1000;
    row.detail = `${onchainSat} sat on chain`;
    assert.equal(row.forceCloses, 0, `${protocol}/${point}: closed by a commitment transaction (${closing.txid})`);
    assert.equal(row.lostMsat, 0, `${protocol}/${point}: msat lost (${before} msat in the channel, ${onchainSat} sat on chain)`);
    await reopened.evaluate(() => window.harness.stop());
    return row;
  } finally {
    await context.close();
  }
}

describe("crash matrix: a tab killed at each step of a JIT receive, a payment and a close", () => {
  let browser, harness, endpoints;
  const rows = [];

  before(async () => {
    assert.ok(CRASH_PKG, "CRASH_PKG: the crash-points build of the package (./dev test crash)");
    endpoints = await control("GET", "/endpoints");
    harness = await serveHarness(CRASH_PKG);
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    harness?.server.close();
    if (rows.length) {
      console.log("\npoint                 protocol  outcome                force closes  msat lost");
      for (const r of rows) {
        console.log(`${r.point.padEnd(22)}${r.protocol.padEnd(10)}${r.outcome.padEnd(23)}${String(r.forceCloses).padEnd(14)}${r.lostMsat}${r.detail ? `  (${r.detail})` : ""}`);
      }
    }
  });

  // Each kind of case with its steps: the matrix's rows, in this order.
  const kinds = [
    [POINTS, crashCase],
    [CLOSE_POINTS, closeCase],
    [PAY_POINTS, payCase],
  ];
  for (const [points, runCase] of kinds) {
    for (const point of points) {
      for (const protocol of PROTOCOLS) {
        test(`${point} × ${protocol}`, { timeout: 400_000 }, async () => {
          try {
            rows.push(await runCase(browser, harness.url, endpoints, protocol, point));
          } catch (e) {
            rows.push({ protocol, point, outcome: "BROKEN", forceCloses: "?", lostMsat: "?", detail: e.message.split("\n")[0] });
            throw e;
          }
        });
      }
    }
  }
});
