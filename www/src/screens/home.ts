/** The wallet's front page: balances, and shortcuts to receive and send. */
import type { Balance } from "../api.js";
import { alertLine, h, replace } from "../dom.js";
import { friendlyError } from "../errors.js";
import type { Screen, WalletContext } from "../context.js";
import { formatMsat, formatSat } from "../money.js";
import { reserveNote } from "./onchain.js";

function msatRow(label: string, msat: number): HTMLElement {
  return h("div", { class: "amount-row" }, h("dt", {}, label), h("dd", { "aria-label": label, "data-msat": msat }, formatMsat(msat)));
}

function satRow(label: string, sat: number): HTMLElement {
  return h("div", { class: "amount-row" }, h("dt", {}, label), h("dd", { "aria-label": label, "data-sat": sat }, formatSat(sat)));
}

export function homeScreen(ctx: WalletContext): Screen {
  const balances = h("dl", { class: "balances", "aria-busy": "true" });
  const status = h("div", { class: "status-area" });
  const syncBtn = h("button", { type: "button" }, "Sync now");

  async function load(): Promise<void> {
    let b: Balance;
    try {
      b = await ctx.wallet.balance();
    } catch (e) {
      replace(status, alertLine(friendlyError(e)));
      return;
    }
    balances.setAttribute("aria-busy", "false");
    replace(
      balances,
      h(
        "div",
        { class: "amount-row main" },
        h("dt", {}, "Lightning balance"),
        h("dd", { "aria-label": "Lightning balance", "data-msat": b.lightningMsat }, formatMsat(b.lightningMsat)),
      ),
      satRow("On-chain", b.onchainSat),
      b.onchainPendingSat > 0 ? satRow("On-chain, unconfirmed", b.onchainPendingSat) : null,
      reserveNote(b),
      msatRow("Can receive without a new channel", b.inboundMsat),
    );
  }

  syncBtn.addEventListener("click", async () => {
    syncBtn.disabled = true;
    replace(status, h("p", { role: "status" }, "Syncing…"));
    try {
      await ctx.wallet.sync();
      replace(status, h("p", { role: "status" }, "Synced."));
      await load();
    } catch (e) {
      replace(status, alertLine(friendlyError(e)));
    } finally {
      syncBtn.disabled = false;
    }
  });

  const devTools = ctx.devnet ? devnetTools(ctx) : null;
  const el = h(
    "section",
    { class: "screen home", "aria-labelledby": "home-title" },
    h("h2", { id: "home-title" }, "Balance"),
    balances,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "primary", onclick: () => ctx.navigate("receive") }, "Receive"),
      h("button", { type: "button", onclick: () => ctx.navigate("send") }, "Send"),
      h("button", { type: "button", onclick: () => ctx.navigate("onchain") }, "On-chain"),
      syncBtn,
    ),
    status,
    devTools,
  );
  const off = ctx.onChange(() => void load());
  void load();
  return { el, dispose: off };
}

/** Devnet-only helpers: mine blocks so channels and on-chain funds confirm. */
function devnetTools(ctx: WalletContext): HTMLElement {
  const out = h("p", { role: "status" });
  const mine = h("button", { type: "button" }, "Mine 6 blocks (devnet)");
  mine.addEventListener("click", async () => {
    mine.disabled = true;
    try {
      const height = await ctx.devnet!.mine(6);
      replace(out, `Mined 6 blocks; the devnet is at height ${height}.`);
    } catch (e) {
      replace(out, (e as Error).message);
    } finally {
      mine.disabled = false;
    }
  });
  return h("details", { class: "devtools" }, h("summary", {}, "Devnet tools"), mine, out);
}
