// The test harness page of www/tests/crash.mjs and races.mjs: opens one wallet of the package
// served at ./pkg/ (for the crash matrix, built with the crash-points feature), records its
// events, and can run a second wallet in a dedicated worker (worker.js).
import init, { Wallet } from "./pkg/tabnode.js";

const events = [];
let wallet = null;
let worker = null;

/** The worker's next message. */
function fromWorker() {
  return new Promise((resolve) => worker.addEventListener("message", (e) => resolve(e.data), { once: true }));
}

window.harness = {
  events,
  /** Opens the wallet of `config` and records its events. Resolves to its node id. */
  async open(config) {
    wallet = await Wallet.open(config);
    for (const type of ["receive_state", "payment_received", "payment_sent", "payment_failed", "channel_opened", "channel_closed", "graph_synced", "error"]) {
      wallet.addEventListener(type, (e) => events.push({ type, detail: e.detail }));
    }
    return wallet.nodeId;
  },
  /** Like `open`, but resolves to `{ ok: nodeId }` or `{ error: code }`. */
  async tryOpen(config) {
    try {
      return { ok: await window.harness.open(config) };
    } catch (e) {
      return { error: e.code ?? String(e) };
    }
  },
  receive: (request) => wallet.receive(request),
  pay: (invoice) => wallet.pay(invoice),
  close: (channelId) => wallet.closeChannel(channelId),
  sync: () => wallet.sync(),
  /** Whether the routing graph holds at least `channels` channels (a `graph_synced` said so). */
  graphHas: (channels) => events.some((e) => e.type === "graph_synced" && e.detail.channels >= channels),
  balance: () => wallet.balance(),
  channels: () => wallet.channels(),
  payments: () => wallet.payments(),
  /** Stops this page's wallet, if one runs. */
  async stop() {
    if (wallet) await wallet.stop();
    wallet = null;
  },
  /** Starts the worker; resolves once it has loaded the package. */
  async startWorker() {
    worker = new Worker("./worker.js", { type: "module" });
    await fromWorker();
  },
  /** The worker opens `config`: `{ ok: nodeId }` or `{ error: code }`. */
  workerOpen(config) {
    const answer = fromWorker();
    worker.postMessage({ open: config });
    return answer;
  },
  /** The worker stops its wallet, if one runs. */
  workerStop() {
    const answer = fromWorker();
    worker.postMessage({ stop: true });
    return answer;
  },
};

await init();
window.harnessReady = true;
