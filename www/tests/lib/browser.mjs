// Launches Debian's Chromium through playwright-core (Playwright cannot download browsers here).
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-sync",
];

/** Where screenshots go: www/test-results/. */
export const RESULTS_DIR = fileURLToPath(new URL("../../test-results/", import.meta.url));

export async function launch() {
  mkdirSync(RESULTS_DIR, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * Esplora answers 404 for the merkle proof of a transaction that is not confirmed yet; the
 * wallet's chain sync asks for the proofs of the transactions it watches (as
 * lightning-transaction-sync does) and reads that 404 as "not confirmed". Not a problem.
 */
function expectedNotFound(response) {
  return response.status() === 404 && /\/tx\/[0-9a-f]{64}\/merkleblock-proof$/.test(new URL(response.url()).pathname);
}

/** A page that records console errors and uncaught exceptions into `page.problems`. */
export async function newPage(context) {
  const page = await context.newPage();
  page.problems = [];
  page.on("pageerror", (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") page.problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400 && !expectedNotFound(r)) page.problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return page;
}

export async function screenshot(page, name) {
  await page.screenshot({ path: `${RESULTS_DIR}${name}.png`, fullPage: true });
}

/**
 * An error that ends a wait at once: the awaited thing can no longer happen (the receive failed,
 * the wallet stopped, the payment was refused). Any other error thrown by a wait's `fn` is read
 * as "not yet" (an element still loading) and retried until the timeout.
 */
export function fatal(message) {
  const e = new Error(message);
  e.fatal = true;
  return e;
}

/**
 * Polls `fn` until it returns a truthy value (returned) or `timeoutMs` passes (throws `what`).
 * An error marked by `fatal()` (or a tabnode Error whose `fatal` is true) is rethrown at once.
 */
export async function waitFor(what, fn, timeoutMs = 30_000, everyMs = 250) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      if (e?.fatal === true) throw e;
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
