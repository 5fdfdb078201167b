/**
 * First run: choose the network, then create a new wallet or restore one from its recovery
 * phrase. Opening the wallet itself is the app's job (`onOpen`).
 */
import { alertLine, field, h, replace } from "../dom.js";
import type { Screen } from "../context.js";
import { settingsForm } from "../settings-form.js";
import { validateSettings, type DevnetInfo, type Settings } from "../settings.js";

export interface SetupOptions {
  settings: Settings;
  controlUrl: string;
  probeDevnet(controlUrl: string): Promise<DevnetInfo>;
  /** Whether a wallet is stored under `storageName` in this browser. */
  exists(storageName: string): Promise<boolean>;
  /** Opens (creating or restoring) the wallet; resolves to an error text when that failed. */
  onOpen(settings: Settings, mnemonic: string | null): Promise<string | null>;
  /** Shown above the form (e.g. why the setup is shown again). */
  notice?: string | null;
  error?: string | null;
}

export function setupScreen(opts: SetupOptions): Screen {
  const form = settingsForm({ initial: opts.settings, probeDevnet: opts.probeDevnet, controlUrl: opts.controlUrl, open: false });
  const status = h("div", { class: "status-area" });
  const createBtn = h("button", { type: "button", class: "primary" }, "Create new wallet");
  const restoreToggle = h("button", { type: "button", "aria-expanded": "false" }, "Restore from recovery phrase");
  const phrase = h("textarea", { rows: 3, autocomplete: "off", spellcheck: "false", autocapitalize: "none" });
  const restoreBtn = h("button", { type: "button", class: "primary" }, "Restore wallet");
  const restorePanel = h(
    "div",
    { class: "restore", hidden: true },
    field("Recovery phrase", phrase, "The 12 or 24 words, in order, separated by spaces."),
    restoreBtn,
  );
  restoreToggle.addEventListener("click", () => {
    restorePanel.hidden = !restorePanel.hidden;
    restoreToggle.setAttribute("aria-expanded", String(!restorePanel.hidden));
    if (!restorePanel.hidden) phrase.focus();
  });

  const buttons = [createBtn, restoreToggle, restoreBtn];
  function busy(on: boolean): void {
    for (const b of buttons) b.disabled = on;
  }

  async function submit(mnemonic: string | null): Promise<void> {
    replace(status);
    if (form.blocked()) {
      replace(status, alertLine("The devnet is not reachable: start it, or choose another network preset."));
      return;
    }
    const s = form.read();
    const problems = validateSettings(s);
    form.showProblems(problems);
    if (problems.length > 0) {
      replace(status, alertLine("Some connection settings need fixing (see the marked fields)."));
      return;
    }
    if (mnemonic !== null && mnemonic.trim().split(/\s+/).length < 12) {
      replace(status, alertLine("Enter all the words of your recovery phrase."));
      return;
    }
    busy(true);
    try {
      if (await opts.exists(s.storageName)) {
        replace(
          status,
          alertLine(`A wallet is already stored as “${s.storageName}” in this browser.`),
          h("button", { type: "button", onclick: () => void open(s, null) }, "Open that wallet"),
        );
        return;
      }
      await open(s, mnemonic);
    } finally {
      busy(false);
    }
  }

  async function open(s: Settings, mnemonic: string | null): Promise<void> {
    busy(true);
    replace(status, h("p", { class: "busy", role: "status" }, mnemonic ? "Restoring your wallet…" : "Creating your wallet…"));
    const err = await opts.onOpen(s, mnemonic);
    busy(false);
    if (err) replace(status, alertLine(err));
  }

  createBtn.addEventListener("click", () => void submit(null));
  restoreBtn.addEventListener("click", () => void submit(phrase.value));

  const el = h(
    "section",
    { class: "screen setup", "aria-labelledby": "setup-title" },
    h("h2", { id: "setup-title" }, "Set up your wallet"),
    h(
      "p",
      { class: "lead" },
      "This wallet runs a Lightning node inside this browser tab. Your keys never leave this browser. The first payment you receive opens a channel to you through a Lightning service provider (LSP).",
    ),
    opts.notice ? h("p", { class: "notice-inline", role: "status" }, opts.notice) : null,
    form.el,
    h("div", { class: "actions" }, createBtn, restoreToggle),
    restorePanel,
    status,
  );
  if (opts.error) replace(status, alertLine(opts.error));
  return { el };
}
