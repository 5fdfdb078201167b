/**
 * Receive: amount → the LSP's fee, shown before the invoice → QR code and invoice text → live
 * progress from `receive_state` events until the payment is claimed, fails or expires.
 */
import type { Payment, ReceiveResult, ReceiveStateDetail, WalletEventListener } from "../api.js";
import { alertLine, field, h, replace } from "../dom.js";
import { friendlyError } from "../errors.js";
import type { Screen, WalletContext } from "../context.js";
import { timeLeft } from "../format.js";
import { formatMsat, parseSatToMsat, subMsat } from "../money.js";
import { renderInvoiceQr } from "../qr.js";
import { progressOf } from "../receive-progress.js";

export function receiveScreen(ctx: WalletContext): Screen {
  const events: ReceiveStateDetail[] = [];
  const received = new Map<string, Payment>();
  let redraw: (() => void) | null = null;
  let ticker: number | undefined;

  const onState: WalletEventListener<"receive_state"> = (e) => {
    events.push(e.detail);
    redraw?.();
  };
  const onReceived: WalletEventListener<"payment_received"> = (e) => {
    received.set(e.detail.paymentHash, e.detail);
    redraw?.();
  };
  ctx.wallet.addEventListener("receive_state", onState);
  ctx.wallet.addEventListener("payment_received", onReceived);

  const body = h("div", { class: "receive-body" });
  const el = h("section", { class: "screen receive", "aria-labelledby": "receive-title" }, h("h2", { id: "receive-title" }, "Receive"), body);

  function showForm(error?: string): void {
    redraw = null;
    window.clearInterval(ticker);
    const amount = h("input", { type: "text", inputmode: "numeric", name: "amount", autocomplete: "off", placeholder: "50,000" });
    const description = h("input", { type: "text", name: "description", maxlength: 100, placeholder: "What is it for?" });
    const submit = h("button", { type: "submit", class: "primary" }, "Create invoice");
    const status = h("div", { class: "status-area" });
    const form = h("form", { class: "receive-form", novalidate: true }, field("Amount (sat)", amount), field("Description (optional)", description), h("div", { class: "actions" }, submit), status);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const parsed = parseSatToMsat(amount.value);
      if (!parsed.ok) {
        amount.setAttribute("aria-invalid", "true");
        replace(status, alertLine(parsed.problem));
        amount.focus();
        return;
      }
      amount.removeAttribute("aria-invalid");
      submit.disabled = true;
      replace(status, h("p", { class: "busy", role: "status" }, "Asking the LSP for its fee…"));
      try {
        const result = await ctx.wallet.receive({ amountMsat: parsed.msat, description: description.value.trim() || "tabnode wallet" });
        if (result.protocol === "direct" || result.feeMsat === 0) showInvoice(result);
        else showFee(result);
      } catch (e) {
        submit.disabled = false;
        replace(status, alertLine(friendlyError(e)));
      }
    });
    replace(body, form, error ? alertLine(error) : null);
    amount.focus();
  }

  function showFee(r: ReceiveResult): void {
    const payerPays = r.amountMsat;
    const youGet = payerPays === null ? null : subMsat(payerPays, r.feeMsat);
    const accept = h("button", { type: "button", class: "primary" }, "Accept fee and show invoice");
    const cancel = h("button", { type: "button" }, "Cancel");
    accept.addEventListener("click", () => showInvoice(r));
    cancel.addEventListener("click", () => showForm());
    replace(
      body,
      h(
        "section",
        { class: "fee-review", "aria-labelledby": "fee-title" },
        h("h3", { id: "fee-title" }, "Channel opening fee"),
        h(
          "p",
          {},
          `You have no channel that can take this payment yet, so the LSP (${r.protocol === "lsps2" ? "LSPS2" : "flow"}) will open one when it arrives, and keeps a fee for it.`,
        ),
        h(
          "dl",
          { class: "amounts" },
          payerPays === null ? null : h("div", { class: "amount-row" }, h("dt", {}, "The payer pays"), h("dd", { "aria-label": "The payer pays", "data-msat": payerPays }, formatMsat(payerPays))),
          h("div", { class: "amount-row" }, h("dt", {}, "LSP fee"), h("dd", { "aria-label": "LSP fee", "data-msat": r.feeMsat }, formatMsat(r.feeMsat))),
          youGet === null ? null : h("div", { class: "amount-row main" }, h("dt", {}, "You receive"), h("dd", { "aria-label": "You receive", "data-msat": youGet }, formatMsat(youGet))),
        ),
        h("div", { class: "actions" }, accept, cancel),
      ),
    );
    accept.focus();
  }

  function showInvoice(r: ReceiveResult): void {
    const youGet = r.amountMsat === null ? null : subMsat(r.amountMsat, r.feeMsat);
    const canvas = h("canvas", { role: "img", "aria-label": "Invoice QR code", width: 280, height: 280 });
    const text = h("textarea", { readonly: true, rows: 4, "aria-label": "Invoice", spellcheck: "false" });
    text.value = r.invoice;
    const copy = h("button", { type: "button" }, "Copy invoice");
    const copyNote = h("span", { role: "status", class: "hint" });
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(r.invoice);
        copyNote.textContent = "Copied.";
      } catch {
        text.select();
        copyNote.textContent = "Select the text and copy it.";
      }
    });
    const expiry = h("p", { class: "hint" });
    const steps = h("ol", { class: "progress", "aria-label": "Progress" });
    const headline = h("p", { class: "headline", role: "status", "aria-live": "polite" });
    const keepOpen = h("p", { class: "keep-open" }, "Keep this tab open until the payment arrives: the wallet must be online to receive it.");
    const after = h("div", { class: "actions" });
    const devnetOut = h("p", { class: "devnet-out", role: "status" });
    const payMe = ctx.devnet ? h("button", { type: "button" }, "Pay me (devnet)") : null;
    payMe?.addEventListener("click", async () => {
      payMe.disabled = true;
      devnetOut.textContent = "The devnet payer is paying…";
      try {
        const res = await ctx.devnet!.pay(r.invoice);
        devnetOut.textContent =
          res.status === "succeeded"
            ? `The devnet payer paid ${formatMsat(res.amount_msat)} in ${res.elapsed_ms} ms.`
            : `The devnet payer's payment failed${res.failure ? ` (${res.failure})` : ""}.`;
      } catch (e) {
        devnetOut.textContent = (e as Error).message;
        payMe.disabled = false;
      }
    });

    redraw = () => {
      // A payment_received for this hash means claimed, even if its receive_state was missed.
      const seen: ReceiveStateDetail[] = received.has(r.paymentHash) ? [...events, { paymentHash: r.paymentHash, state: "claimed" }] : events;
      const p = progressOf(r, seen);
      replace(
        steps,
        ...p.steps.map((s) => h("li", { class: s.status, "data-state": s.state, "aria-current": s.status === "current" ? "step" : null }, s.label)),
      );
      steps.dataset.state = p.state;
      let line = p.headline;
      if (p.state === "claimed") {
        const got = received.get(r.paymentHash)?.amountMsat ?? youGet;
        if (got !== null && got !== undefined) line = `Payment received: ${formatMsat(got)}.`;
      }
      if (headline.textContent !== line) headline.textContent = line;
      keepOpen.hidden = p.finished;
      expiry.textContent = p.finished ? "" : `Expires ${timeLeft(r.expiresAt, Date.now())}.`;
      if (p.finished && after.childElementCount === 0) {
        after.append(h("button", { type: "button", class: "primary", onclick: () => showForm() }, "New invoice"));
        if (payMe) payMe.disabled = true;
      }
    };

    replace(
      body,
      h(
        "div",
        { class: "invoice" },
        h("figure", { class: "qr" }, canvas),
        h(
          "div",
          { class: "invoice-side" },
          youGet === null
            ? h("p", {}, "Any amount.")
            : h("p", { class: "you-get" }, "You receive ", h("strong", { "aria-label": "Amount you receive", "data-msat": youGet }, formatMsat(youGet)), r.feeMsat > 0 ? ` (after the LSP's ${formatMsat(r.feeMsat)} fee).` : " (no fee)."),
          text,
          h("div", { class: "actions" }, copy, copyNote),
          expiry,
          payMe ? h("div", { class: "devnet-pay" }, payMe, devnetOut) : null,
        ),
      ),
      keepOpen,
      headline,
      steps,
      after,
    );
    renderInvoiceQr(canvas, r.invoice).catch(() => {
      canvas.replaceWith(h("p", { class: "hint" }, "The QR code could not be drawn; copy the invoice text instead."));
    });
    redraw();
    window.clearInterval(ticker);
    ticker = window.setInterval(() => redraw?.(), 1000);
  }

  showForm();
  return {
    el,
    dispose: () => {
      window.clearInterval(ticker);
      ctx.wallet.removeEventListener("receive_state", onState);
      ctx.wallet.removeEventListener("payment_received", onReceived);
    },
  };
}
