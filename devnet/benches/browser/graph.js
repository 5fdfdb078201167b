// The routing graph in the tab: one wallet loads a full Rapid Gossip Sync snapshot, is stopped
// (LDK writes the graph to IndexedDB), the server's graph changes (`POST mutateUrl`), and the
// wallet is reopened: its stored graph is read back and only the change is downloaded. Figures:
// each round's `graph_synced` detail (bytes, channels, nodes, ms from the request to the graph
// applied), how long `Wallet.open` took each time (the graph loads after it, in the background),
// the wasm memory and JS heap once the graph is in, and the origin's IndexedDB usage after stop.
import init, { Wallet } from "/pkg/tabnode.js";

const SYNC_TIMEOUT_MS = 300_000;

function lspConfig(e) {
  const host = e.lsps2_lsp.host.includes(":") ? `[${e.lsps2_lsp.host}]` : e.lsps2_lsp.host;
  return { protocol: "lsps2", nodeId: e.lsps2_lsp.node_id, address: `${host}:${e.lsps2_lsp.port}` };
}

/** The first `graph_synced` (or a GRAPH_SYNC_FAILED error, thrown) after now. */
function graphSynced(wallet) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no graph_synced within ${SYNC_TIMEOUT_MS} ms`)), SYNC_TIMEOUT_MS);
    wallet.addEventListener("graph_synced", (e) => {
      clearTimeout(timer);
      resolve(e.detail);
    });
    wallet.addEventListener("error", (e) => {
      if (e.detail.code !== "GRAPH_SYNC_FAILED") return;
      clearTimeout(timer);
      reject(new Error(`graph sync failed: ${e.detail.reason}`));
    });
  });
}

async function usage() {
  return (await navigator.storage.estimate()).usage ?? null;
}

window.graphRound = async ({ endpoints: e, rgsUrl, mutateUrl, storageName }) => {
  const wasm = await init();
  const config = {
    network: e.network,
    esploraUrl: e.esplora_url,
    proxyUrl: e.proxy_url,
    storageName,
    lsp: lspConfig(e),
    rgsUrl,
  };
  const usageBefore = await usage();
  const rounds = [];
  for (const step of ["full", "incremental"]) {
    if (step === "incremental") {
      // The server tells what changed by when it first saw it, in whole seconds.
      await new Promise((ok) => setTimeout(ok, 1100));
      const res = await fetch(mutateUrl, { method: "POST" });
      if (!res.ok) throw new Error(`mutate: HTTP ${res.status}`);
    }
    const t0 = performance.now();
    const wallet = await Wallet.open(config);
    const openMs = performance.now() - t0;
    const synced = await graphSynced(wallet);
    const memory = {
      wasmBytes: wasm.memory.buffer.byteLength,
      jsHeapBytes: performance.memory?.usedJSHeapSize ?? null,
    };
    const stopped = await wallet.stop();
    if (!stopped.complete) throw new Error(`stop abandoned ${stopped.abandoned.join(", ")}`);
    // Give the node back now rather than whenever the garbage collector runs the finalizer: a
    // page that opens a second wallet should do the same.
    wallet.free();
    rounds.push({ step, openMs, synced, memory, usageAfterStop: await usage() });
  }
  if (rounds[0].synced.full !== true || rounds[1].synced.full !== false) {
    throw new Error(`expected a full then an incremental sync: ${JSON.stringify(rounds.map((r) => r.synced))}`);
  }
  return { usageBefore, rounds };
};
