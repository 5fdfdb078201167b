/**
 * While the wallet has receives in flight, the tab must stay open (the LSP forwards the payment
 * only to a running node): shows the "keep this tab open" notice and asks before unloading.
 */
import type { Wallet } from "./api.js";
import { replace } from "./dom.js";

export class PendingGuard {
  private guarded = false;
  private timer: number | undefined;
  private readonly onBeforeUnload = (e: BeforeUnloadEvent) => {
    if (this.wallet.pendingReceives() > 0) {
      e.preventDefault();
      // Older Chromium needs returnValue set to show the prompt.
      e.returnValue = "";
    }
  };

  constructor(
    private readonly wallet: Wallet,
    private readonly banner: HTMLElement,
  ) {}

  /** Starts watching: checks now, on every call to `update`, and every second. */
  start(): void {
    this.update();
    this.timer = window.setInterval(() => this.update(), 1000);
  }

  /** Re-reads `pendingReceives()` and shows or hides the notice and the unload guard. */
  update(): void {
    let n = 0;
    try {
      n = this.wallet.pendingReceives();
    } catch {
      n = 0;
    }
    if (n > 0 && !this.guarded) {
      window.addEventListener("beforeunload", this.onBeforeUnload);
      this.guarded = true;
    } else if (n === 0 && this.guarded) {
      window.removeEventListener("beforeunload", this.onBeforeUnload);
      this.guarded = false;
    }
    if (n > 0) {
      replace(
        this.banner,
        `Keep this tab open: ${n === 1 ? "a payment is" : `${n} payments are`} on the way to you. Closing or reloading the tab now would make ${n === 1 ? "it" : "them"} fail.`,
      );
      this.banner.hidden = false;
    } else {
      replace(this.banner);
      this.banner.hidden = true;
    }
  }

  stop(): void {
    window.clearInterval(this.timer);
    window.removeEventListener("beforeunload", this.onBeforeUnload);
    this.guarded = false;
    replace(this.banner);
    this.banner.hidden = true;
  }
}
