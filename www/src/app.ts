/**
 * The app's lifecycle: load the package, pick settings (probing the devnet in dev mode), open or
 * set up the wallet, then run the wallet screens with navigation, the pending-receive guard and
 * wallet events.
 */
import type { Tabnode, Wallet, WalletEventListener, WalletEventType } from "./api.js";
import type { ScreenName, Screen, WalletContext } from "./context.js";
import { DevnetClient, controlUrlFrom } from "./devnet.js";
import { alertLine, h, replace } from "./dom.js";
import { friendlyError } from "./errors.js";
import { shortId } from "./format.js";
import { loadFailureText, loadTabnode } from "./loader.js";
import { PendingGuard } from "./pending-guard.js";
import { isDevnetPreset } from "./presets.js";
import { backupScreen } from "./screens/backup.js";
import { channelsScreen } from "./screens/channels.js";
import { historyScreen } from "./screens/history.js";
import { homeScreen } from "./screens/home.js";
import { receiveScreen } from "./screens/receive.js";
import { onchainScreen } from "./screens/onchain.js";
import { sendScreen } from "./screens/send.js";
import { settingsScreen } from "./screens/settings.js";
import { setupScreen } from "./screens/setup.js";
import {
  backupConfirmed,
  confirmBackup,
  loadSettings,
  presetSettings,
  saveSettings,
  toWalletConfig,
  type DevnetInfo,
  type Settings,
} from "./settings.js";

const NAV: ReadonlyArray<[ScreenName, string]> = [
  ["wallet", "Wallet"],
  ["receive", "Receive"],
  ["send", "Send"],
  ["onchain", "On-chain"],
  ["history", "History"],
  ["channels", "Channels"],
  ["settings", "Settings"],
];

/** Wallet events after which balances, payments or channels may have changed. */
/** The footer's facts (see `App.updateFooter`). */
interface FooterFacts {
  height?: number;
  graphChannels?: number;
  chainWaiting?: string | undefined;
}

const CHANGE_EVENTS: WalletEventType[] = ["payment_received", "payment_sent", "payment_failed", "channel_opened", "channel_closed", "synced"];

/** Asks the devnet control API at `controlUrl` for its endpoints and current run. */
async function probeDevnet(controlUrl: string): Promise<DevnetInfo> {
  const client = new DevnetClient(controlUrl);
  const endpoints = await client.endpoints();
  const runId = await client.runId(endpoints.esploraUrl);
  return { endpoints, runId, controlUrl };
}

export class App {
  private readonly badge = h("span", { class: "badge", hidden: true });
  private readonly notice = h("div", { class: "notice", role: "status", "aria-live": "polite" });
  private readonly banner = h("div", { class: "banner", role: "status", "aria-live": "polite", hidden: true });
  private readonly nav = h("nav", { "aria-label": "Wallet", hidden: true });
  private readonly main = h("main", { id: "main" });
  private readonly footer = h("footer", {});
  private tabnode: Tabnode | null = null;
  private running: {
    wallet: Wallet;
    settings: Settings;
    guard: PendingGuard;
    /** Removes each listener this app added to the wallet. */
    unlisten: Array<() => void>;
    changeSubs: Set<() => void>;
    screen: Screen | null;
    ctx: WalletContext;
  } | null = null;
  private noticeTimer: number | undefined;

  constructor(root: HTMLElement) {
    replace(
      root,
      h("header", { class: "top" }, h("h1", {}, "tabnode"), h("span", { class: "tagline" }, "Lightning in a browser tab"), this.badge),
      this.banner,
      this.nav,
      this.notice,
      this.main,
      this.footer,
    );
    // Leaving the page stops the wallet: its state is written and its lock released at once, so
    // another tab can take over (rather than whenever the browser tears the page down). A page
    // restored from the back/forward cache has a stopped wallet: it starts again by reloading.
    window.addEventListener("pagehide", () => {
      const r = this.running;
      if (r) void r.wallet.stop().catch(() => {});
    });
    window.addEventListener("pageshow", (e) => {
      if (e.persisted) location.reload();
    });
  }

  private busy(text: string): void {
    replace(this.main, h("p", { class: "busy", role: "status" }, text));
  }

  private controlUrl(stored: Settings | null): string {
    return controlUrlFrom(location.search, stored?.controlUrl ?? null);
  }

  /** Loads the package, then starts. */
  async boot(): Promise<void> {
    this.busy("Loading the wallet engine…");
    const loaded = await loadTabnode();
    if (!loaded.ok) {
      replace(
        this.main,
        h(
          "section",
          { class: "screen load-failed", "aria-labelledby": "load-title" },
          h("h2", { id: "load-title" }, "The wallet could not start"),
          alertLine(loadFailureText(loaded.failure)),
          h("details", {}, h("summary", {}, "Technical details"), h("pre", {}, loaded.failure.detail)),
          h("button", { type: "button", onclick: () => location.reload() }, "Reload"),
        ),
      );
      return;
    }
    this.tabnode = loaded.tabnode;
    await this.start();
  }

  /** Chooses settings and opens the stored wallet, or shows the setup. */
  private async start(): Promise<void> {
    const tabnode = this.tabnode!;
    let settings = loadSettings(localStorage);
    const controlUrl = this.controlUrl(settings);
    let devnet: DevnetInfo | null = null;
    let devnetError: string | null = null;
    if (!settings || isDevnetPreset(settings.preset)) {
      this.busy("Looking for the devnet…");
      try {
        devnet = await probeDevnet(controlUrl);
      } catch (e) {
        devnetError = (e as Error).message;
      }
    }
    if (settings && isDevnetPreset(settings.preset)) {
      if (!devnet) {
        this.showDevnetDown(devnetError ?? "The devnet did not answer.", settings);
        return;
      }
      if (settings.devnetRun !== devnet.runId) {
        const fresh = presetSettings(settings.preset, devnet, controlUrl)!;
        this.showSetup(fresh, controlUrl, "A new devnet run started. The wallet of the previous run belongs to a chain that no longer exists, so create a new one.");
        return;
      }
    }
    if (!settings) {
      settings = presetSettings(devnet ? "devnet-flow" : "mutinynet", devnet, controlUrl)!;
      this.showSetup(settings, controlUrl, null);
      return;
    }
    let exists = false;
    try {
      exists = await tabnode.Wallet.exists(settings.storageName);
    } catch (e) {
      this.showSetup(settings, controlUrl, null, friendlyError(e));
      return;
    }
    if (exists) {
      this.busy("Starting the wallet…");
      const err = await this.openWallet(settings, null);
      if (err) this.showOpenFailed(settings, err);
    } else {
      this.showSetup(settings, controlUrl, null);
    }
  }

  private showDevnetDown(message: string, settings: Settings): void {
    replace(
      this.main,
      h(
        "section",
        { class: "screen", "aria-labelledby": "down-title" },
        h("h2", { id: "down-title" }, "The devnet is not running"),
        alertLine(`${message} Start it with ./dev up.`),
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "primary", onclick: () => void this.start() }, "Retry"),
          h("button", { type: "button", onclick: () => this.showSetup(presetSettings("mutinynet", null, null)!, this.controlUrl(settings), null) }, "Choose another network"),
        ),
      ),
    );
  }

  private showOpenFailed(settings: Settings, error: string): void {
    replace(
      this.main,
      h(
        "section",
        { class: "screen", "aria-labelledby": "open-title" },
        h("h2", { id: "open-title" }, "The wallet could not start"),
        alertLine(error),
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "primary", onclick: () => void this.start() }, "Try again"),
          h("button", { type: "button", onclick: () => this.showSetup(settings, this.controlUrl(settings), null) }, "Change settings"),
        ),
      ),
    );
  }

  private showSetup(settings: Settings, controlUrl: string, notice: string | null, error: string | null = null): void {
    const tabnode = this.tabnode!;
    this.mount(
      setupScreen({
        settings,
        controlUrl,
        probeDevnet,
        notice,
        error,
        exists: (name) => tabnode.Wallet.exists(name),
        onOpen: (s, mnemonic) => this.openWallet(s, mnemonic),
      }),
    );
  }

  /**
   * Opens the wallet for `settings` (creating it when none is stored, restoring when `mnemonic` is
   * given), saves the settings, and enters it. Resolves to a friendly error text on failure.
   */
  private async openWallet(settings: Settings, mnemonic: string | null): Promise<string | null> {
    const tabnode = this.tabnode!;
    let wallet: Wallet;
    try {
      wallet = await tabnode.Wallet.open(toWalletConfig(settings, mnemonic ?? undefined));
    } catch (e) {
      return friendlyError(e);
    }
    saveSettings(localStorage, settings);
    if (mnemonic) confirmBackup(localStorage, settings.storageName);
    this.enter(wallet, settings, !backupConfirmed(localStorage, settings.storageName));
    return null;
  }

  private enter(wallet: Wallet, settings: Settings, needsBackup: boolean): void {
    const devnet = isDevnetPreset(settings.preset) && settings.controlUrl ? new DevnetClient(settings.controlUrl) : null;
    const changeSubs = new Set<() => void>();
    const guard = new PendingGuard(wallet, this.banner);
    const ctx: WalletContext = {
      tabnode: this.tabnode!,
      wallet,
      settings,
      devnet,
      navigate: (s) => this.show(s),
      onChange: (cb) => {
        changeSubs.add(cb);
        return () => changeSubs.delete(cb);
      },
      restart: (s) => this.restart(s),
      notify: (t) => this.notify(t),
    };
    const unlisten: Array<() => void> = [];
    const on = <K extends WalletEventType>(type: K, listener: WalletEventListener<K>) => {
      wallet.addEventListener(type, listener);
      unlisten.push(() => wallet.removeEventListener(type, listener));
    };
    const fireChange = () => {
      for (const cb of [...changeSubs]) cb();
    };
    for (const t of CHANGE_EVENTS) on(t, fireChange);
    on("receive_state", () => guard.update());
    on("error", (e) => {
      if (e.detail.fatal) this.showStopped(friendlyError(e.detail));
      // The chain server refusing a round is a state, not news: the footer says so until the
      // next `synced`, instead of a message for every round it refuses.
      else if (e.detail.code === "CHAIN_SOURCE_UNAVAILABLE") this.updateFooter({ chainWaiting: friendlyError(e.detail) });
      else this.notify(friendlyError(e.detail));
    });
    on("synced", (e) => this.updateFooter({ height: e.detail.height, chainWaiting: undefined }));
    on("graph_synced", (e) => this.updateFooter({ graphChannels: e.detail.channels }));
    this.running = { wallet, settings, guard, unlisten, changeSubs, screen: null, ctx };
    guard.start();

    this.badge.textContent = devnet ? "devnet" : wallet.network;
    this.badge.hidden = false;
    replace(
      this.nav,
      ...NAV.map(([name, label]) => h("button", { type: "button", "data-screen": name, onclick: () => this.show(name) }, label)),
    );
    this.updateFooter(null);
    if (needsBackup) {
      this.nav.hidden = true;
      let words: string[] = [];
      try {
        words = wallet.mnemonic().trim().split(/\s+/);
      } catch (e) {
        this.notify(friendlyError(e));
      }
      this.mount(
        backupScreen(words, () => {
          confirmBackup(localStorage, settings.storageName);
          this.show("wallet");
        }),
      );
    } else {
      this.show("wallet");
    }
  }

  /** The wallet stopped itself (a fatal error, e.g. storage failed): say so and offer a reload. */
  private showStopped(text: string): void {
    const r = this.running;
    if (r) {
      r.screen?.dispose?.();
      r.guard.stop();
      for (const off of r.unlisten) off();
      this.running = null;
    }
    this.nav.hidden = true;
    replace(
      this.main,
      h(
        "section",
        { class: "screen", "aria-labelledby": "stopped-title" },
        h("h2", { id: "stopped-title" }, "The wallet stopped"),
        alertLine(text),
        h("button", { type: "button", class: "primary", onclick: () => location.reload() }, "Reload"),
      ),
    );
  }

  /**
   * What the footer shows beside the node: the chain height, the routing graph's size, and why
   * the chain server is being waited for, while it is.
   */
  private footerFacts: FooterFacts = {};

  /** Redraws the footer with `facts` merged in (`null`: a new wallet, nothing known yet). */
  private updateFooter(facts: FooterFacts | null): void {
    this.footerFacts = facts === null ? {} : { ...this.footerFacts, ...facts };
    const r = this.running;
    if (!r) {
      replace(this.footer);
      return;
    }
    const { height, graphChannels, chainWaiting } = this.footerFacts;
    replace(
      this.footer,
      h("span", { title: r.wallet.nodeId }, `Node ${shortId(r.wallet.nodeId)}`),
      ` · LSP: ${r.settings.lspProtocol === "flow" ? "flow" : "LSPS2"}`,
      height !== undefined ? ` · chain height ${height}` : null,
      graphChannels !== undefined ? ` · routing graph ${graphChannels} channels` : null,
      chainWaiting !== undefined ? h("span", { class: "chain-waiting", role: "status" }, ` · ${chainWaiting}`) : null,
    );
  }

  /** Shows one of the wallet's screens. */
  show(name: ScreenName): void {
    const r = this.running;
    if (!r) return;
    this.nav.hidden = false;
    for (const b of this.nav.querySelectorAll("button")) {
      if (b.dataset.screen === name) b.setAttribute("aria-current", "page");
      else b.removeAttribute("aria-current");
    }
    const ctx = r.ctx;
    const screen =
      name === "wallet"
        ? homeScreen(ctx)
        : name === "receive"
          ? receiveScreen(ctx)
          : name === "send"
            ? sendScreen(ctx)
            : name === "onchain"
              ? onchainScreen(ctx)
            : name === "history"
              ? historyScreen(ctx)
              : name === "channels"
                ? channelsScreen(ctx)
                : settingsScreen(ctx, probeDevnet, this.controlUrl(r.settings));
    this.mount(screen);
  }

  private mount(screen: Screen): void {
    const r = this.running;
    r?.screen?.dispose?.();
    if (r) r.screen = screen;
    replace(this.main, screen.el);
    const heading = screen.el.querySelector("h2");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
  }

  private notify(text: string): void {
    replace(this.notice, h("p", {}, text));
    window.clearTimeout(this.noticeTimer);
    this.noticeTimer = window.setTimeout(() => replace(this.notice), 10_000);
  }

  /** Stops the running wallet, saves `settings` and starts again with them. */
  private async restart(settings: Settings): Promise<void> {
    const r = this.running;
    if (r) {
      r.screen?.dispose?.();
      r.guard.stop();
      for (const off of r.unlisten) off();
      this.running = null;
      this.busy("Stopping the wallet…");
      try {
        const report = await r.wallet.stop();
        // Past its bound stop() keeps the wallet's lock until its last writes land: the
        // reopen below is refused (ALREADY_RUNNING) until then, so say why.
        if (!report.complete) {
          this.notify(`The wallet is still finishing (${report.abandoned.join(", ")}). Reload in a moment.`);
        }
      } catch (e) {
        this.notify(friendlyError(e));
      }
    }
    this.nav.hidden = true;
    this.badge.hidden = true;
    this.updateFooter(null);
    saveSettings(localStorage, settings);
    await this.start();
  }
}
