// One JIT receive of a browser wallet with no channel, timed the way devnet/src/clients.rs times
// the native client: from just before the devnet's payer is asked to pay (POST <control>/pay) to
// the wallet's `payment_received` event (LDK's PaymentClaimed, as ldk-node's PaymentReceived).
// Loading the wasm, opening the wallet and the `receive` call come before and are reported
// separately as setup. Any wrong amount or fee throws, and the benchmark stops.
import init, { Wallet } from "/pkg/tabnode.js";

const PAY_TIMEOUT_MS = 120_000;

async function post(url, body) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

function must(ok, what) {
  if (!ok) throw new Error(`wrong figure: ${what}`);
}

function lspConfig(e, protocol) {
  if (protocol === "lsps2") {
    const host = e.lsps2_lsp.host.includes(":") ? `[${e.lsps2_lsp.host}]` : e.lsps2_lsp.host;
    return { protocol, nodeId: e.lsps2_lsp.node_id, address: `${host}:${e.lsps2_lsp.port}` };
  }
  return { protocol: "flow", url: e.flow_lsp.url, nodeId: e.flow_lsp.node_id };
}

/** Resolves with the first event `type` whose detail satisfies `match`, stamped on arrival. */
function nextEvent(wallet, type, match) {
  return new Promise((resolve) => {
    const listener = (ev) => {
      if (!match(ev.detail)) return;
      const at = performance.now();
      wallet.removeEventListener(type, listener);
      resolve({ at, detail: ev.detail });
    };
    wallet.addEventListener(type, listener);
  });
}

window.jitRound = async ({ endpoints: e, protocol, amountMsat, maxFeeMsat, expectedFeeMsat, storageName }) => {
  const t0 = performance.now();
  await init();
  const tInit = performance.now();
  const wallet = await Wallet.open({
    network: e.network,
    esploraUrl: e.esplora_url,
    proxyUrl: e.proxy_url,
    storageName,
    lsp: lspConfig(e, protocol),
  });
  const tOpen = performance.now();
  try {
    must((await wallet.channels()).length === 0, "a fresh wallet has no channel");
    const r = await wallet.receive({ amountMsat, description: `bench ${protocol}`, maxFeeMsat });
    const tReceive = performance.now();
    must(r.protocol === protocol, `protocol ${r.protocol}, expected ${protocol}`);
    must(r.amountMsat === amountMsat, `invoice amount ${r.amountMsat}, expected ${amountMsat}`);
    must(r.feeMsat === expectedFeeMsat, `quoted fee ${r.feeMsat}, expected ${expectedFeeMsat}`);

    const mine = (d) => d?.paymentHash === r.paymentHash;
    const received = nextEvent(wallet, "payment_received", mine);
    const failed = nextEvent(wallet, "receive_state", (d) => mine(d) && (d.state === "failed" || d.state === "expired"));
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not received within ${PAY_TIMEOUT_MS} ms`)), PAY_TIMEOUT_MS);
    });

    const started = performance.now();
    const paid = post(`${e.control_url}/pay`, { invoice: r.invoice });
    paid.catch(() => {}); // awaited below; a failure also shows as no payment_received
    const got = await Promise.race([
      received,
      failed.then(({ detail }) => Promise.reject(new Error(`receive ${detail.state}: ${detail.code ?? ""} ${detail.reason ?? ""}`))),
      paid.then((p) => (p.status === "succeeded" ? new Promise(() => {}) : Promise.reject(new Error(`payer: ${JSON.stringify(p)}`)))),
      timeout,
    ]).finally(() => clearTimeout(timer));
    const elapsedMs = got.at - started;
    const pay = await paid;

    must(pay.status === "succeeded", `payer status ${pay.status}`);
    must(pay.amount_msat === amountMsat, `payer paid ${pay.amount_msat}, expected ${amountMsat}`);
    const receivedMsat = got.detail.amountMsat;
    must(receivedMsat === amountMsat - expectedFeeMsat, `received ${receivedMsat} msat, expected ${amountMsat - expectedFeeMsat}`);
    // The opening fee is written to the history by the JIT bookkeeping right after the claim.
    let record;
    for (const end = performance.now() + 10_000; performance.now() < end; await new Promise((ok) => setTimeout(ok, 100))) {
      record = (await wallet.payments()).find((p) => p.paymentHash === r.paymentHash && p.direction === "inbound");
      if (record?.feeMsat != null) break;
    }
    must(record?.status === "succeeded", `history status ${record?.status}`);
    must(record.amountMsat === receivedMsat, `history amount ${record.amountMsat}`);
    must(record.feeMsat === expectedFeeMsat, `history fee ${record.feeMsat}, expected ${expectedFeeMsat}`);
    must(record.viaJit === protocol, `history viaJit ${record.viaJit}`);
    must((await wallet.channels()).length === 1, "one JIT channel");

    return {
      elapsedMs,
      receivedMsat,
      feeMsat: record.feeMsat,
      payerElapsedMs: pay.elapsed_ms,
      setup: { initMs: tInit - t0, openMs: tOpen - tInit, receiveMs: tReceive - tOpen },
    };
  } finally {
    await wallet.stop();
  }
};
