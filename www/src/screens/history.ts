/** History: every payment, newest first. */
import type { Payment } from "../api.js";
import { alertLine, h, replace } from "../dom.js";
import { friendlyError } from "../errors.js";
import type { Screen, WalletContext } from "../context.js";
import { formatTime } from "../format.js";
import { formatMsat } from "../money.js";

const STATUS: Record<Payment["status"], string> = { pending: "Pending", succeeded: "Succeeded", failed: "Failed" };

function row(p: Payment): HTMLTableRowElement {
  const sign = p.direction === "inbound" ? "+" : "−";
  return h(
    "tr",
    { "data-payment-hash": p.paymentHash, "data-direction": p.direction, "data-status": p.status },
    h("td", {}, formatTime(p.createdAt)),
    h("td", {}, p.direction === "inbound" ? "Received" : "Sent"),
    h("td", { class: "num", "data-msat": p.amountMsat ?? "" }, p.amountMsat === null ? "—" : `${sign}${formatMsat(p.amountMsat)}`),
    h("td", { class: "num", "data-msat": p.feeMsat ?? "" }, p.feeMsat === null ? "—" : formatMsat(p.feeMsat)),
    h("td", { class: `status ${p.status}` }, STATUS[p.status] ?? p.status),
    h("td", {}, p.viaJit === "flow" ? "new channel (flow)" : p.viaJit === "lsps2" ? "new channel (LSPS2)" : ""),
    h("td", {}, p.description ?? ""),
  );
}

export function historyScreen(ctx: WalletContext): Screen {
  const content = h("div", { "aria-busy": "true" });
  async function load(): Promise<void> {
    let payments: Payment[];
    try {
      payments = await ctx.wallet.payments();
    } catch (e) {
      replace(content, alertLine(friendlyError(e)));
      return;
    }
    content.setAttribute("aria-busy", "false");
    if (payments.length === 0) {
      replace(content, h("p", { class: "empty" }, "No payments yet. Receive your first one from the Receive screen."));
      return;
    }
    const sorted = [...payments].sort((a, b) => b.createdAt - a.createdAt);
    replace(
      content,
      h(
        "table",
        { "aria-label": "Payment history" },
        h("thead", {}, h("tr", {}, ...["Date", "Type", "Amount", "Fee", "Status", "Via", "Description"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, ...sorted.map(row)),
      ),
    );
  }
  const off = ctx.onChange(() => void load());
  void load();
  return { el: h("section", { class: "screen history", "aria-labelledby": "history-title" }, h("h2", { id: "history-title" }, "History"), content), dispose: off };
}
