/**
 * Shown once after creating a wallet: the recovery phrase, and a confirmation that it was written
 * down before the wallet can be used.
 */
import { h } from "../dom.js";
import type { Screen } from "../context.js";

export function backupScreen(words: string[], onConfirmed: () => void): Screen {
  const check = h("input", { type: "checkbox", id: "backup-confirm" });
  const cont = h("button", { type: "button", class: "primary", disabled: true }, "Continue");
  check.addEventListener("change", () => {
    cont.disabled = !check.checked;
  });
  cont.addEventListener("click", () => {
    if (check.checked) onConfirmed();
  });
  const list = h("ol", { class: "words", "aria-label": "Recovery phrase" }, ...words.map((w) => h("li", {}, w)));
  const el = h(
    "section",
    { class: "screen backup", "aria-labelledby": "backup-title" },
    h("h2", { id: "backup-title" }, "Write down your recovery phrase"),
    h(
      "p",
      {},
      `These ${words.length} words are the only way to get your funds back if this browser's data is lost. Write them down in order and keep them somewhere safe and private. Anyone who has them can take your funds.`,
    ),
    list,
    h("p", { class: "warning" }, "Your channels' latest state lives only in this browser's storage: do not clear this site's data while you have a balance."),
    h("div", { class: "check" }, check, h("label", { for: "backup-confirm" }, "I have written down my recovery phrase")),
    h("div", { class: "actions" }, cont),
  );
  return { el };
}
