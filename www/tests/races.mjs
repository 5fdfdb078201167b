// Two contexts racing to open one wallet: two pages of one browser profile, and a page and a
// dedicated worker, ROUNDS times each. Each time exactly one runs and the other is refused with
// ALREADY_RUNNING, and the wallet (a JIT channel and its balance) is intact after every round.
//
//   RACE_PKG        the package to serve (default ../pkg, the shipped build)
//   DEVNET_CONTROL  the devnet control API (default http://127.0.0.1:3003)
//
//   node --test tests/races.mjs
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { RESULTS_DIR, launch, waitFor } from "./lib/browser.mjs";
import { control, openPage, serveHarness, walletConfig } from "./lib/harness.mjs";

const PKG = process.env.RACE_PKG ?? fileURLToPath(new URL("../../pkg/", import.meta.url));
const ROUNDS = 20;
const RECEIVE_MSAT = 30_000_000;

/** One round's answers: exactly one opened (`nodeId`), the other refused ALREADY_RUNNING. */
function oneWinner(answers, nodeId, round) {
  const opened = answers.filter((a) => a.ok);
  assert.equal(opened.length, 1, `round ${round}: exactly one opens (${JSON.stringify(answers)})`);
  assert.equal(opened[0].ok, nodeId, `round ${round}: the same wallet`);
  assert.deepEqual(answers.filter((a) => !a.ok).map((a) => a.error), ["ALREADY_RUNNING"], `round ${round}`);
  return answers.indexOf(opened[0]);
}

describe("two contexts racing to open one wallet", () => {
  let browser, harness, context, config, nodeId, balanceMsat;
  const log = `${RESULTS_DIR}races.log`;

  before(async () => {
    rmSync(log, { force: true });
    const endpoints = await control("GET", "/endpoints");
    harness = await serveHarness(PKG);
    browser = await launch();
    context = await browser.newContext();
    // The wallet: a JIT channel from the flow LSP, then stopped.
    config = walletConfig(endpoints, "flow", `race-${Date.now()}`);
    const page = await openPage(context, harness.url, log);
    nodeId = await page.evaluate((c) => window.harness.open(c), config);
    const r = await page.evaluate((a) => window.harness.receive({ amountMsat: a, description: "races" }), RECEIVE_MSAT);
    const paid = await control("POST", "/pay", { invoice: r.invoice }, 200_000);
    assert.equal(paid.status, "succeeded");
    balanceMsat = await waitFor("the receive claimed", async () => {
      const b = await page.evaluate(() => window.harness.balance());
      return b.lightningMsat > 0 && b.lightningMsat;
    });
    assert.equal(balanceMsat, RECEIVE_MSAT - r.feeMsat);
    await page.evaluate(() => window.harness.stop());
    await page.close();
  });

  after(async () => {
    await browser?.close();
    harness?.server.close();
  });

  /** The wallet as `page` sees it once it runs there: its one channel and its balance. */
  async function intact(page, round) {
    const [balance, channels] = await Promise.all([page.evaluate(() => window.harness.balance()), page.evaluate(() => window.harness.channels())]);
    assert.equal(balance.lightningMsat, balanceMsat, `round ${round}: the balance`);
    assert.equal(channels.length, 1, `round ${round}: the channel`);
  }

  test(`two pages, ${ROUNDS} rounds`, { timeout: 600_000 }, async () => {
    const pages = [await openPage(context, harness.url, log), await openPage(context, harness.url, log)];
    const wins = [0, 0];
    for (let round = 1; round <= ROUNDS; round++) {
      const answers = await Promise.all(pages.map((p) => p.evaluate((c) => window.harness.tryOpen(c), config)));
      const winner = pages[oneWinner(answers, nodeId, round)];
      wins[pages.indexOf(winner)]++;
      await intact(winner, round);
      await winner.evaluate(() => window.harness.stop());
    }
    console.log(`two pages: ${ROUNDS} rounds, won ${wins[0]} and ${wins[1]} times, the other refused ALREADY_RUNNING each time`);
    await Promise.all(pages.map((p) => p.close()));
  });

  test(`a page and a worker, ${ROUNDS} rounds`, { timeout: 600_000 }, async () => {
    const page = await openPage(context, harness.url, log);
    await page.evaluate(() => window.harness.startWorker());
    const wins = { page: 0, worker: 0 };
    for (let round = 1; round <= ROUNDS; round++) {
      // Both asked from the page, one right after the other: the worker asked first in even
      // rounds, the page in odd ones.
      const pageOpen = () => page.evaluate((c) => window.harness.tryOpen(c), config);
      const workerOpen = () => page.evaluate((c) => window.harness.workerOpen(c), config);
      const answers = round % 2 ? await Promise.all([pageOpen(), workerOpen()]) : await Promise.all([workerOpen(), pageOpen()]).then(([w, p]) => [p, w]);
      if (oneWinner(answers, nodeId, round) === 0) {
        wins.page++;
        await intact(page, round);
        await page.evaluate(() => window.harness.stop());
      } else {
        wins.worker++;
        await page.evaluate(() => window.harness.workerStop());
      }
    }
    // Whoever won last, the data is the same from the page afterwards.
    assert.equal(await page.evaluate((c) => window.harness.open(c), config), nodeId);
    await intact(page, "after");
    console.log(`a page and a worker: ${ROUNDS} rounds, the page won ${wins.page} and the worker ${wins.worker} times, the other refused ALREADY_RUNNING each time`);
    await page.evaluate(() => window.harness.stop());
    await page.close();
  });
});
