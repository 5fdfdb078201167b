// The crash matrix's page: opens one wallet of the test-only package (./pkg/, built with the
// crash-points feature) and records its events, for www/tests/crash.mjs to drive.
import init, { Wallet } from "./pkg/tabnode.js";

const events = [];
let wallet = null;

window.harness = {
  events,
  /** Opens the wallet of `config` and records its events. Resolves to its node id. */
  async open(config) {
    wallet = await Wallet.open(config);
    for (const type of ["receive_state", "payment_received", "payment_failed", "channel_opened", "channel_closed", "error"]) {
      wallet.addEventListener(type, (e) => events.push({ type, detail: e.detail }));
    }
    return wallet.nodeId;
  },
  receive: (request) => wallet.receive(request),
  balance: () => wallet.balance(),
  channels: () => wallet.channels(),
  payments: () => wallet.payments(),
  stop: () => wallet.stop(),
};

await init();
window.harnessReady = true;
