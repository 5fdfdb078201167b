/** What every screen gets from the app: the running wallet, its settings, and navigation. */
import type { Tabnode, Wallet } from "./api.js";
import type { DevnetClient } from "./devnet.js";
import type { Settings } from "./settings.js";

export type ScreenName = "wallet" | "receive" | "send" | "onchain" | "history" | "channels" | "settings";

/** A mounted screen; `dispose` removes its listeners and timers. */
export interface Screen {
  el: HTMLElement;
  dispose?: () => void;
}

export interface WalletContext {
  tabnode: Tabnode;
  wallet: Wallet;
  settings: Settings;
  /** The devnet control API when the wallet runs on a devnet preset (dev mode), else null. */
  devnet: DevnetClient | null;
  navigate(screen: ScreenName): void;
  /** Calls `cb` whenever balances, payments or channels may have changed; returns an unsubscribe. */
  onChange(cb: () => void): () => void;
  /** Stops the wallet and starts the app again with `settings` (saved first). */
  restart(settings: Settings): Promise<void>;
  /** Shows a short message in the page's notice area. */
  notify(text: string): void;
}
