/** Channels: the wallet's channels with their capacity and state; close one on request. */
import type { Channel } from "../api.js";
import { alertLine, h, replace } from "../dom.js";
import { friendlyError } from "../errors.js";
import type { Screen, WalletContext } from "../context.js";
import { shortId } from "../format.js";
import { formatMsat, formatSat } from "../money.js";

function stateText(c: Channel): string {
  if (c.isUsable) return c.confirmations === null || c.confirmations === 0 ? "Usable (0-conf)" : `Usable (${c.confirmations} conf.)`;
  if (c.isReady) return "Ready, peer offline";
  return "Opening";
}

export function channelsScreen(ctx: WalletContext): Screen {
  const content = h("div", { "aria-busy": "true" });
  const status = h("div", { class: "status-area" });
  const lspId = ctx.settings.lspNodeId;

  function closeButton(c: Channel): HTMLElement {
    const btn = h("button", { type: "button", "aria-label": `Close channel ${shortId(c.channelId)}` }, "Close");
    btn.addEventListener("click", () => {
      const yes = h("button", { type: "button", class: "danger" }, "Close channel");
      const no = h("button", { type: "button" }, "Keep it");
      replace(
        status,
        h("p", { role: "alert" }, `Close the channel with ${formatMsat(c.outboundMsat)} of yours? The funds move on-chain, and receiving again will need a new channel and its fee.`),
        yes,
        no,
      );
      no.addEventListener("click", () => replace(status));
      yes.addEventListener("click", async () => {
        yes.disabled = true;
        no.disabled = true;
        try {
          await ctx.wallet.closeChannel(c.channelId);
          replace(status, h("p", { role: "status" }, "Closing the channel. Its funds appear on-chain once the closing transaction confirms."));
          await load();
        } catch (e) {
          replace(status, alertLine(friendlyError(e)));
        }
      });
    });
    return btn;
  }

  async function load(): Promise<void> {
    let channels: Channel[];
    try {
      channels = await ctx.wallet.channels();
    } catch (e) {
      replace(content, alertLine(friendlyError(e)));
      return;
    }
    content.setAttribute("aria-busy", "false");
    if (channels.length === 0) {
      replace(content, h("p", { class: "empty" }, "No channels yet. The LSP opens one when your first payment arrives."));
      return;
    }
    replace(
      content,
      h(
        "table",
        { "aria-label": "Channels" },
        h("thead", {}, h("tr", {}, ...["Peer", "Capacity", "You can send", "You can receive", "State", "Short channel id", ""].map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          {},
          ...channels.map((c) =>
            h(
              "tr",
              { "data-channel-id": c.channelId },
              h("td", { title: c.counterpartyNodeId }, c.counterpartyNodeId === lspId ? `LSP ${shortId(c.counterpartyNodeId, 4)}` : shortId(c.counterpartyNodeId)),
              h("td", { class: "num", "data-sat": c.capacitySat }, formatSat(c.capacitySat)),
              h("td", { class: "num", "data-msat": c.outboundMsat }, formatMsat(c.outboundMsat)),
              h("td", { class: "num", "data-msat": c.inboundMsat }, formatMsat(c.inboundMsat)),
              h("td", {}, stateText(c)),
              h("td", { class: "mono" }, c.shortChannelId ?? "—"),
              h("td", {}, closeButton(c)),
            ),
          ),
        ),
      ),
    );
  }
  const off = ctx.onChange(() => void load());
  void load();
  return {
    el: h("section", { class: "screen channels", "aria-labelledby": "channels-title" }, h("h2", { id: "channels-title" }, "Channels"), content, status),
    dispose: off,
  };
}
