// Launches Debian's Chromium, or Firefox ESR (ENGINE=firefox), through playwright-core
// (Playwright cannot download browsers here).
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
// Playwright 1.65 cannot drive the stock Firefox ESR (it sends a WebDriver BiDi command ESR 153
// does not know); 1.64.1 can, so Firefox gets its own pinned copy (package.json: an npm alias).
import { firefox } from "playwright-core-firefox";

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

export const FIREFOX = process.env.FIREFOX ?? "/usr/lib/firefox-esr/firefox-esr";

/** The engine ENGINE names (chromium, the default, or firefox), as a Playwright browser. */
export const ENGINE = process.env.ENGINE ?? "chromium";

export async function launch() {
  mkdirSync(RESULTS_DIR, { recursive: true });
  switch (ENGINE) {
    case "chromium":
      return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    case "firefox":
      return firefox.launch({ channel: "moz-firefox", executablePath: FIREFOX, headless: true });
    default:
      throw new Error(`ENGINE=${ENGINE}: Playwright drives chromium and firefox here (WebKit: tests/e2e-webkit.mjs)`);
  }
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
  page.on("pageerror", (e) => {
    if (!e.message.includes(PLAYWRIGHT_SCREENSHOT_STYLE)) page.problems.push(`pageerror: ${e.message}`);
  });
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
 * In Firefox, each Playwright screenshot inserts an inline <style> of Playwright's own, which the
 * page's CSP blocks and Firefox reports as an error of the page (without screenshots the e2e run
 * had none). Recognised by the blocked style's hash, so a style of the page's own still counts.
 */
const PLAYWRIGHT_SCREENSHOT_STYLE = "'sha256-YjaKGiklmzC6wjXA513HAMmzus8VE61XCOT+SmwNZWA='";

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
