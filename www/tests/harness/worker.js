// A dedicated worker that opens a wallet of the test package (../pkg/) when told to, for the
// races of www/tests/races.mjs: it answers { ok: nodeId } or { error: code }, then { stopped }.
import init, { Wallet } from "./pkg/tabnode.js";

let wallet = null;
const ready = init();

self.onmessage = async ({ data }) => {
  await ready;
  if (data.open) {
    try {
      wallet = await Wallet.open(data.open);
      self.postMessage({ ok: wallet.nodeId });
    } catch (e) {
      self.postMessage({ error: e.code ?? String(e) });
    }
  } else if (data.stop) {
    if (wallet) await wallet.stop();
    wallet = null;
    self.postMessage({ stopped: true });
  }
};
self.postMessage({ loaded: true });
