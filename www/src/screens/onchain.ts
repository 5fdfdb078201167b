/**
 * On-chain: the on-chain balance and the reserve kept for the channels' fee bumps, the receive
 * address, a send (address, amount or everything → the wallet's quote → confirm → txid), and the
 * on-chain transactions. Amounts are whole sats from the wallet; nothing is computed here.
 */
import type { Balance, OnchainQuote, OnchainSendRequest, OnchainTransaction } from "../api.js";
import { alertLine, field, h, replace } from "../dom.js";
import { friendlyError } from "../errors.js";
import type { Screen, WalletContext } from "../context.js";
import { formatSat, parseSatToMsat } from "../money.js";
import { shortId } from "../format.js";

function row(label: string, sat: number): HTMLElement {
  return h("div", { class: "amount-row" }, h("dt", {}, label), h("dd", { "aria-label": label, "data-sat": sat }, formatSat(sat)));
}

/** What the user sees about the reserve: how much, and what is missing. */
export function reserveNote(b: Balance): HTMLElement | null {
  if (b.anchorReserveSat === 0) return null;
  const missing = b.anchorReserveSat - b.onchainSat;
  return h(
    "p",
    { class: "hint", "data-reserve": b.anchorReserveSat },
    `${formatSat(b.anchorReserveSat)} stay on chain to pay the fees of closing your channel without the provider, should that ever be needed.`,
    missing > 0
      ? ` ${formatSat(missing)} of it are missing: until then such a close may wait longer to confirm. Receiving is not affected.`
      : "",
  );
}

export function onchainScreen(ctx: WalletContext): Screen {
  const balances = h("dl", { class: "balances", "aria-busy": "true" });
  const address = h("p", { class: "mono", "aria-label": "On-chain address" }, "…");
  const body = h("div", { class: "send-body" });
  const txList = h("ul", { class: "tx-list", "aria-label": "On-chain transactions" });

  async function load(): Promise<void> {
    try {
      const [b, txs] = await Promise.all([ctx.wallet.balance(), ctx.wallet.onchainTransactions()]);
      balances.setAttribute("aria-busy", "false");
      replace(
        balances,
        row("On-chain", b.onchainSat),
        b.onchainPendingSat > 0 ? row("On-chain, unconfirmed", b.onchainPendingSat) : null,
        b.anchorReserveSat > 0 ? row("Kept for fee bumps", b.anchorReserveSat) : null,
        reserveNote(b),
      );
      replace(txList, ...(txs.length ? txs.map(txItem) : [h("li", {}, "No on-chain transactions yet.")]));
    } catch (e) {
      replace(balances, alertLine(friendlyError(e)));
    }
  }

  function txItem(t: OnchainTransaction): HTMLElement {
    const net = t.receivedSat - t.sentSat;
    return h(
      "li",
      { "data-txid": t.txid },
      h("span", { class: "mono" }, shortId(t.txid, 10)),
      " ",
      h("strong", { "data-sat": net }, formatSat(net)),
      // A receipt's fee was the sender's.
      t.feeSat !== null && t.sentSat > 0 ? ` (fee ${formatSat(t.feeSat)})` : "",
      " · ",
      t.confirmations > 0 ? `${t.confirmations} confirmation${t.confirmations === 1 ? "" : "s"}` : "unconfirmed",
    );
  }

  function showForm(): void {
    const to = h("input", { type: "text", name: "address", spellcheck: "false", autocomplete: "off", placeholder: "bc1…" });
    const amount = h("input", { type: "text", inputmode: "numeric", name: "amount", autocomplete: "off" });
    const all = h("input", { type: "checkbox", name: "all" });
    all.addEventListener("change", () => {
      amount.disabled = all.checked;
    });
    const status = h("div", { class: "status-area" });
    const form = h(
      "form",
      { novalidate: true },
      field("Address", to),
      field("Amount (sat)", amount),
      h("label", {}, all, " Send everything (less the fee and what is kept for fee bumps)"),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Review")),
      status,
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      let req: OnchainSendRequest;
      if (all.checked) {
        req = { address: to.value.trim(), all: true };
      } else {
        const a = parseSatToMsat(amount.value);
        if (!a.ok) {
          replace(status, alertLine(a.problem));
          return;
        }
        req = { address: to.value.trim(), amountSat: a.msat / 1000 };
      }
      try {
        showConfirm(req, await ctx.wallet.quoteOnchain(req));
      } catch (e) {
        replace(status, alertLine(friendlyError(e)));
      }
    });
    replace(body, form);
  }

  function showConfirm(req: OnchainSendRequest, q: OnchainQuote): void {
    const send = h("button", { type: "button", class: "primary" }, "Send on chain");
    const cancel = h("button", { type: "button", onclick: () => showForm() }, "Cancel");
    const status = h("div", { class: "status-area" });
    send.addEventListener("click", async () => {
      send.disabled = true;
      cancel.disabled = true;
      replace(status, h("p", { class: "busy", role: "status" }, "Sending…"));
      try {
        // The same feerate source as the quote: what is sent is shown again below.
        const sent = await ctx.wallet.sendOnchain(req);
        replace(
          body,
          h(
            "p",
            { role: "status" },
            "Sent ",
            h("strong", { "aria-label": "Amount sent", "data-sat": sent.amountSat }, formatSat(sent.amountSat)),
            " with a network fee of ",
            h("strong", { "aria-label": "Network fee", "data-sat": sent.feeSat }, formatSat(sent.feeSat)),
            " in ",
            h("span", { class: "mono", "aria-label": "Transaction id" }, sent.txid),
            ".",
          ),
          h("button", { type: "button", onclick: () => showForm() }, "Send more"),
        );
        void load();
      } catch (e) {
        replace(status, alertLine(friendlyError(e)));
        cancel.disabled = false;
      }
    });
    replace(
      body,
      h(
        "section",
        { class: "confirm", "aria-labelledby": "onchain-confirm-title" },
        h("h3", { id: "onchain-confirm-title" }, "Confirm on-chain send"),
        h(
          "dl",
          { class: "amounts" },
          row("Arrives", q.amountSat),
          row("Network fee", q.feeSat),
          q.changeSat > 0 ? row("Comes back to this wallet", q.changeSat) : null,
        ),
        h("p", { class: "mono" }, q.address),
        h("div", { class: "actions" }, send, cancel),
        status,
      ),
    );
  }

  const el = h(
    "section",
    { class: "screen onchain", "aria-labelledby": "onchain-title" },
    h("h2", { id: "onchain-title" }, "On-chain"),
    balances,
    h("h3", {}, "Receive on chain"),
    address,
    h("h3", {}, "Send on chain"),
    body,
    h("h3", {}, "Transactions"),
    txList,
  );
  ctx.wallet.onchainAddress().then(
    (a) => replace(address, a),
    (e) => replace(address, alertLine(friendlyError(e))),
  );
  showForm();
  const off = ctx.onChange(() => void load());
  void load();
  return { el, dispose: off };
}
