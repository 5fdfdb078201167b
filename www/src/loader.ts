/**
 * Loads the tabnode package and its wasm. Never throws: a failure comes back as a `LoadFailure`
 * the page can explain, so the page renders even when the package is missing or broken.
 */
import type { Tabnode, WalletClass } from "./api.js";

/** Why the package could not be used. */
export interface LoadFailure {
  /** missing: the package was not built; import: its JS did not load; init: its wasm did not
   * start; shape: it loaded but does not export the `Wallet` class the app needs. */
  kind: "missing" | "import" | "init" | "shape";
  /** The browser's own error text, for the technical details box. */
  detail: string;
}

export type LoadResult = { ok: true; tabnode: Tabnode } | { ok: false; failure: LoadFailure };

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

function isWalletClass(v: unknown): v is WalletClass {
  if (typeof v !== "function") return false;
  const c = v as unknown as Record<string, unknown>;
  return typeof c.open === "function" && typeof c.exists === "function";
}

/** Imports `tabnode`, runs its wasm initialiser, and checks it exports `Wallet`. */
export async function loadTabnode(): Promise<LoadResult> {
  let mod: { default: (arg?: unknown) => Promise<unknown>; Wallet: unknown };
  try {
    mod = (await import("tabnode")) as unknown as typeof mod;
  } catch (e) {
    return { ok: false, failure: { kind: "import", detail: describe(e) } };
  }
  try {
    await mod.default();
  } catch (e) {
    const missing = typeof e === "object" && e !== null && (e as { code?: unknown }).code === "package_missing";
    return { ok: false, failure: { kind: missing ? "missing" : "init", detail: describe(e) } };
  }
  if (!isWalletClass(mod.Wallet)) {
    return { ok: false, failure: { kind: "shape", detail: "the module has no Wallet class with open() and exists()" } };
  }
  return { ok: true, tabnode: { Wallet: mod.Wallet } };
}

/** The user-facing explanation of a load failure. */
export function loadFailureText(f: LoadFailure): string {
  switch (f.kind) {
    case "missing":
      return "The tabnode package has not been built, so the wallet cannot start. Build it with `./dev pkg` (wasm-pack build --profile wasm-release --target web) in the repository root, then reload.";
    case "import":
      return "The wallet's code could not be downloaded. Check your connection and reload the page.";
    case "init":
      return "The wallet engine (WebAssembly) could not start in this browser. Try a current version of Chrome, Firefox or Safari, and reload.";
    case "shape":
      return "The tabnode package loaded but is not the version this page expects. Rebuild the package and this page together.";
  }
}
