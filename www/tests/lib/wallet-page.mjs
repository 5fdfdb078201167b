// Drives the demo wallet page the way a person does: by roles, labels and visible names.
// Shared by the smoke test (stand-in package) and the end-to-end test (real package + devnet).
import { fatal, waitFor } from "./browser.mjs";

export async function openApp(page, wwwUrl, controlUrl) {
  const u = new URL(wwwUrl);
  if (controlUrl) u.searchParams.set("control", controlUrl);
  await page.goto(u.toString());
}

export async function nav(page, name) {
  await page.getByRole("navigation", { name: "Wallet" }).getByRole("button", { name, exact: true }).click();
}

/** The number in an element's data-msat attribute (a Playwright locator or a webdriverio element). */
export async function msatOf(locator) {
  const v = await locator.getAttribute("data-msat");
  const n = Number(v);
  if (v === null || v === "" || !Number.isSafeInteger(n)) throw new Error(`no msat amount on element (data-msat=${v})`);
  return n;
}

/**
 * Sets up a new wallet: picks `preset` (a label of the "Network preset" list), sets the storage
 * name, creates the wallet, checks the recovery phrase is shown and confirms it. Returns its words.
 */
export async function createWallet(page, { preset, storageName, extra = {} }) {
  await page.getByRole("heading", { name: "Set up your wallet" }).waitFor({ timeout: 60_000 });
  await page.getByLabel("Network preset").selectOption({ label: preset });
  // Picking a devnet preset asks the devnet for its endpoints and then fills the fields.
  await page.locator("fieldset.settings-form:not([aria-busy='true'])").waitFor({ timeout: 15_000 });
  if (preset.startsWith("devnet")) await page.getByText("Devnet found at").waitFor({ timeout: 15_000 });
  const details = page.locator("details.connection");
  if ((await details.getAttribute("open")) === null) await page.getByText("Connection settings").click();
  await page.getByLabel("Storage name").fill(storageName);
  for (const [label, value] of Object.entries(extra)) await page.getByLabel(label, { exact: true }).fill(value);
  await page.getByRole("button", { name: "Create new wallet" }).click();
  await page.getByRole("heading", { name: "Write down your recovery phrase" }).waitFor({ timeout: 120_000 });
  const words = await page.getByRole("list", { name: "Recovery phrase" }).getByRole("listitem").allTextContents();
  if (words.length !== 12 && words.length !== 24) throw new Error(`recovery phrase has ${words.length} words`);
  const cont = page.getByRole("button", { name: "Continue" });
  if (await cont.isEnabled()) throw new Error("Continue is enabled before the backup was confirmed");
  await page.getByLabel("I have written down my recovery phrase").check();
  await cont.click();
  await page.getByRole("heading", { name: "Balance" }).waitFor();
  return words;
}

/** The Lightning balance shown on the Wallet screen, in msat, once it equals `expected` when given. */
export async function lightningBalance(page, expected = null, timeoutMs = 30_000) {
  await nav(page, "Wallet");
  const dd = page.getByLabel("Lightning balance", { exact: true });
  await dd.waitFor();
  if (expected === null) return msatOf(dd);
  return waitFor(`Lightning balance = ${expected} msat`, async () => ((await msatOf(dd)) === expected ? expected : false), timeoutMs);
}

/**
 * Asks for an invoice of `sat` and checks that the fee is shown before the invoice. Returns what
 * the page showed: { payerMsat, feeMsat, receiveMsat, invoice }.
 */
export async function receive(page, sat) {
  await nav(page, "Receive");
  await page.getByLabel("Amount (sat)").fill(String(sat));
  await page.getByRole("button", { name: "Create invoice" }).click();
  const feeHeading = page.getByRole("heading", { name: "Channel opening fee" });
  const invoiceBox = page.getByLabel("Invoice", { exact: true });
  await waitFor("the fee review or the invoice", async () => (await feeHeading.isVisible()) || (await invoiceBox.isVisible()), 120_000);
  let feeMsat = 0;
  let payerMsat = sat * 1000;
  if (await feeHeading.isVisible()) {
    if (await invoiceBox.isVisible()) throw new Error("the invoice is shown before the fee was accepted");
    feeMsat = await msatOf(page.getByLabel("LSP fee", { exact: true }));
    payerMsat = await msatOf(page.getByLabel("The payer pays", { exact: true }));
    const shown = await msatOf(page.getByLabel("You receive", { exact: true }));
    if (shown !== payerMsat - feeMsat) throw new Error(`"You receive" shows ${shown}, expected ${payerMsat - feeMsat}`);
    await page.getByRole("button", { name: "Accept fee and show invoice" }).click();
  }
  await invoiceBox.waitFor();
  await page.getByRole("img", { name: "Invoice QR code" }).waitFor();
  const invoice = await invoiceBox.inputValue();
  return { payerMsat, feeMsat, receiveMsat: payerMsat - feeMsat, invoice };
}

/** Waits until the receive in view is claimed; throws with the page's headline if it failed. */
export async function waitClaimed(page, timeoutMs = 120_000) {
  const progress = page.getByRole("list", { name: "Progress" });
  await waitFor(
    "the receive to be claimed",
    async () => {
      const state = await progress.getAttribute("data-state");
      if (state === "failed" || state === "expired") {
        throw fatal(`receive ${state}: ${await page.locator(".headline").textContent()}`);
      }
      return state === "claimed";
    },
    timeoutMs,
  );
}

/** The rows of the History table: [{ hash, direction, status, amountMsat, feeMsat, via }]. */
export async function history(page) {
  await nav(page, "History");
  await page.getByRole("heading", { name: "History" }).waitFor();
  await waitFor("history to load", async () => (await page.locator("section.history > div").getAttribute("aria-busy")) === "false");
  const table = page.getByRole("table", { name: "Payment history" });
  if (!(await table.isVisible())) return [];
  return table.locator("tbody tr").evaluateAll((rows) =>
    rows.map((r) => ({
      hash: r.dataset.paymentHash,
      direction: r.dataset.direction,
      status: r.dataset.status,
      amountMsat: r.children[2].dataset.msat === "" ? null : Number(r.children[2].dataset.msat),
      feeMsat: r.children[3].dataset.msat === "" ? null : Number(r.children[3].dataset.msat),
      via: r.children[5].textContent,
    })),
  );
}

/** Pays `invoice` from the Send screen; returns { amountMsat, feeMsat } as the page shows them. */
export async function pay(page, invoice, timeoutMs = 120_000) {
  await nav(page, "Send");
  await page.getByLabel("Invoice", { exact: true }).fill(invoice);
  await page.getByRole("button", { name: "Review" }).click();
  await page.getByRole("heading", { name: "Confirm payment" }).waitFor();
  const reviewed = await msatOf(page.getByLabel("Amount to pay", { exact: true }));
  await page.getByRole("button", { name: "Pay", exact: true }).click();
  const sent = page.getByRole("heading", { name: "Payment sent" });
  await waitFor(
    "the payment to be sent",
    async () => {
      const alert = page.getByRole("alert");
      if (await alert.isVisible()) throw fatal(`payment failed: ${await alert.textContent()}`);
      return sent.isVisible();
    },
    timeoutMs,
  );
  const amountMsat = await msatOf(page.getByLabel("Amount sent", { exact: true }));
  const feeMsat = await msatOf(page.getByLabel("Routing fee", { exact: true }));
  if (amountMsat !== reviewed) throw new Error(`reviewed ${reviewed} msat but sent ${amountMsat}`);
  return { amountMsat, feeMsat };
}
