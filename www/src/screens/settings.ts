/** Settings: the connection settings (saving restarts the wallet), the node id, and the recovery phrase on request. */
import { alertLine, h, replace } from "../dom.js";
import { friendlyError } from "../errors.js";
import type { Screen, WalletContext } from "../context.js";
import { settingsForm } from "../settings-form.js";
import { validateSettings, type DevnetInfo } from "../settings.js";

export function settingsScreen(ctx: WalletContext, probeDevnet: (controlUrl: string) => Promise<DevnetInfo>, controlUrl: string): Screen {
  const form = settingsForm({ initial: ctx.settings, probeDevnet, controlUrl, open: true });
  const status = h("div", { class: "status-area" });
  const save = h("button", { type: "button", class: "primary" }, "Save and restart the wallet");
  save.addEventListener("click", async () => {
    if (form.blocked()) {
      replace(status, alertLine("The devnet is not reachable: start it, or choose another network preset."));
      return;
    }
    const s = form.read();
    const problems = validateSettings(s);
    form.showProblems(problems);
    if (problems.length > 0) {
      replace(status, alertLine("Some settings need fixing (see the marked fields)."));
      return;
    }
    save.disabled = true;
    await ctx.restart(s);
  });

  const phraseArea = h("div", { class: "phrase-area" });
  const show = h("button", { type: "button" }, "Show recovery phrase");
  show.addEventListener("click", () => {
    const yes = h("button", { type: "button", class: "danger" }, "Show it");
    const no = h("button", { type: "button" }, "Cancel");
    no.addEventListener("click", () => replace(phraseArea));
    yes.addEventListener("click", () => {
      try {
        const words = ctx.wallet.mnemonic().trim().split(/\s+/);
        replace(
          phraseArea,
          h("ol", { class: "words", "aria-label": "Recovery phrase" }, ...words.map((w) => h("li", {}, w))),
          h("button", { type: "button", onclick: () => replace(phraseArea) }, "Hide recovery phrase"),
        );
      } catch (e) {
        replace(phraseArea, alertLine(friendlyError(e)));
      }
    });
    replace(phraseArea, h("p", { role: "alert" }, "Make sure nobody can see your screen: anyone who sees these words can take your funds."), yes, no);
  });

  const el = h(
    "section",
    { class: "screen settings", "aria-labelledby": "settings-title" },
    h("h2", { id: "settings-title" }, "Settings"),
    h("dl", { class: "node-info" }, h("dt", {}, "Node id"), h("dd", { class: "mono", "aria-label": "Node id" }, ctx.wallet.nodeId), h("dt", {}, "Network"), h("dd", {}, ctx.wallet.network)),
    form.el,
    h("div", { class: "actions" }, save),
    status,
    h("h3", {}, "Backup"),
    show,
    phraseArea,
  );
  return { el };
}
