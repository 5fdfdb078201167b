/** Send: paste an invoice → review its amount and network → pay → the result. */
import { networkName, readInvoice, type InvoiceSummary } from "../bolt11.js";
import { alertLine, field, h, replace } from "../dom.js";
import { friendlyError } from "../errors.js";
import type { Screen, WalletContext } from "../context.js";
import { formatMsat, parseSatToMsat } from "../money.js";

export function sendScreen(ctx: WalletContext): Screen {
  const body = h("div", { class: "send-body" });
  const el = h("section", { class: "screen send", "aria-labelledby": "send-title" }, h("h2", { id: "send-title" }, "Send"), body);

  function showForm(prefill = ""): void {
    const invoice = h("textarea", { rows: 4, name: "invoice", spellcheck: "false", autocomplete: "off", placeholder: "lnbc…" });
    invoice.value = prefill;
    const amount = h("input", { type: "text", inputmode: "numeric", name: "amount", autocomplete: "off" });
    const amountField = field("Amount (sat)", amount, "This invoice leaves the amount to you.");
    amountField.hidden = true;
    const review = h("button", { type: "submit", class: "primary" }, "Review");
    const status = h("div", { class: "status-area" });
    const form = h("form", { novalidate: true }, field("Invoice", invoice, "Paste a Lightning invoice."), amountField, h("div", { class: "actions" }, review), status);

    const check = (): InvoiceSummary | string => {
      const r = readInvoice(invoice.value);
      if (!r.ok) return r.problem;
      if (r.summary.network !== ctx.wallet.network) {
        return `This invoice is for ${networkName(r.summary.network)}; this wallet is on ${networkName(ctx.wallet.network)}.`;
      }
      return r.summary;
    };
    invoice.addEventListener("input", () => {
      const r = check();
      amountField.hidden = typeof r === "string" || r.amountMsat !== null;
    });
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const r = check();
      if (typeof r === "string") {
        replace(status, alertLine(r));
        return;
      }
      let amountMsat = r.amountMsat;
      let chosen = false;
      if (amountMsat === null) {
        amountField.hidden = false;
        const a = parseSatToMsat(amount.value);
        if (!a.ok) {
          replace(status, alertLine(a.problem));
          amount.focus();
          return;
        }
        amountMsat = a.msat;
        chosen = true;
      }
      showConfirm(r, amountMsat, chosen);
    });
    replace(body, form);
    invoice.focus();
  }

  function showConfirm(inv: InvoiceSummary, amountMsat: number, chosen: boolean): void {
    const pay = h("button", { type: "button", class: "primary" }, "Pay");
    const cancel = h("button", { type: "button" }, "Cancel");
    const status = h("div", { class: "status-area" });
    cancel.addEventListener("click", () => showForm(inv.invoice));
    pay.addEventListener("click", async () => {
      pay.disabled = true;
      cancel.disabled = true;
      replace(status, h("p", { class: "busy", role: "status" }, "Paying…"));
      try {
        const res = await ctx.wallet.pay(inv.invoice, chosen ? { amountMsat } : undefined);
        showResult(res.amountMsat, res.feeMsat);
      } catch (e) {
        replace(status, alertLine(friendlyError(e)), h("button", { type: "button", onclick: () => showForm(inv.invoice) }, "Back"));
      }
    });
    replace(
      body,
      h(
        "section",
        { class: "confirm", "aria-labelledby": "confirm-title" },
        h("h3", { id: "confirm-title" }, "Confirm payment"),
        h("dl", { class: "amounts" }, h("div", { class: "amount-row main" }, h("dt", {}, "Amount"), h("dd", { "aria-label": "Amount to pay", "data-msat": amountMsat }, formatMsat(amountMsat)))),
        h("p", { class: "hint" }, "A small routing fee may be added."),
        h("p", { class: "mono invoice-text" }, inv.invoice),
        h("div", { class: "actions" }, pay, cancel),
        status,
      ),
    );
    pay.focus();
  }

  function showResult(amountMsat: number, feeMsat: number): void {
    replace(
      body,
      h(
        "section",
        { class: "result", "aria-labelledby": "result-title" },
        h("h3", { id: "result-title" }, "Payment sent"),
        h(
          "p",
          { role: "status" },
          "Sent ",
          h("strong", { "aria-label": "Amount sent", "data-msat": amountMsat }, formatMsat(amountMsat)),
          " with a routing fee of ",
          h("strong", { "aria-label": "Routing fee", "data-msat": feeMsat }, formatMsat(feeMsat)),
          ".",
        ),
        h("div", { class: "actions" }, h("button", { type: "button", class: "primary", onclick: () => showForm() }, "Send another"), h("button", { type: "button", onclick: () => ctx.navigate("history") }, "View history")),
      ),
    );
  }

  showForm();
  return { el };
}
