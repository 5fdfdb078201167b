// @ts-check
// Stand-in for the tabnode package, copied into a temp package by www/tests/smoke.mjs for one
// smoke run (never in pkg/). `npm run typecheck` checks it against the contract (www/src/api.ts,
// itself checked against the built package by tests/npm-consumer.sh): the class must implement
// `Wallet`, its static side `WalletClass`.
/** @typedef {import("../../src/api.js").Wallet} WalletApi */
/** @typedef {import("../../src/api.js").WalletConfig} WalletConfig */
/** @typedef {import("../../src/api.js").ReceiveRequest} ReceiveRequest */
/** @typedef {import("../../src/api.js").ReceiveResult} ReceiveResult */
/** @typedef {import("../../src/api.js").Payment} Payment */
/** @typedef {import("../../src/api.js").Channel} Channel */
/** @typedef {import("../../src/api.js").WalletEventType} WalletEventType */
/** @typedef {{ mnemonic: string, balanceMsat: number, payments: Payment[], channels: Channel[] }} State */
const WORDS = "abandon ability able about above absent absorb abstract absurd abuse access accident".split(" ");
const BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
let started = false;
/** @param {string} n */
const key = (n) => "standin-tabnode:" + n;
/** @param {string} n @returns {State | null} */
const load = (n) => { const raw = localStorage.getItem(key(n)); return raw ? JSON.parse(raw) : null; };
/** @param {string} n @param {State} s */
const save = (n, s) => localStorage.setItem(key(n), JSON.stringify(s));
/** @param {number} n */
const hex = (n) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0")).join("");
/** @param {string} code */
const fail = (code) => Object.assign(new Error("stand-in error " + code), { code });
/** @param {number} ms @returns {Promise<void>} */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** @param {string | URL} [arg] */
export default async function init(arg) {
  const res = await fetch(arg ?? new URL("tabnode_bg.wasm", import.meta.url));
  await WebAssembly.instantiate(await res.arrayBuffer(), {});
  started = true;
}

/** @implements {WalletApi} */
export class Wallet {
  /** @param {string} name */
  static async exists(name) { return load(name) !== null; }
  /** @param {WalletConfig} config */
  static async open(config) {
    if (!started) throw fail("STOPPED");
    let s = load(config.storageName);
    if (!s) {
      if (config.mnemonic !== undefined && config.mnemonic.split(" ").length !== 12) throw fail("INVALID_MNEMONIC");
      s = { mnemonic: config.mnemonic ?? WORDS.join(" "), balanceMsat: 0, payments: [], channels: [] };
      save(config.storageName, s);
    }
    const w = new Wallet(config, s);
    /** @type {{ __standin?: Wallet }} */ (globalThis).__standin = w;
    return w;
  }
  /** @param {WalletConfig} config @param {State} s */
  constructor(config, s) {
    this.config = config; this.s = s; this.ev = new EventTarget();
    /** @type {Map<string, ReceiveResult>} */
    this.pending = new Map();
    this.nodeId = "02" + "11".repeat(32); this.network = config.network;
  }
  /** @type {WalletApi["addEventListener"]} */
  addEventListener(t, l) { this.ev.addEventListener(t, /** @type {EventListener} */ (l)); }
  /** @type {WalletApi["removeEventListener"]} */
  removeEventListener(t, l) { this.ev.removeEventListener(t, /** @type {EventListener} */ (l)); }
  /** @param {WalletEventType} type @param {unknown} detail */
  emit(type, detail) { this.ev.dispatchEvent(new CustomEvent(type, { detail })); }
  async balance() { return { lightningMsat: this.s.balanceMsat, onchainSat: 0, onchainPendingSat: 0, anchorReserveSat: 0, inboundMsat: 0 }; }
  async channels() { return this.s.channels; }
  async payments() { return this.s.payments; }
  /** @param {ReceiveRequest} req */
  async receive(req) {
    const amountMsat = req.amountMsat;
    if (amountMsat === undefined || !Number.isSafeInteger(amountMsat)) throw fail("INVALID_AMOUNT");
    const paymentHash = hex(32);
    const feeMsat = this.s.channels.length ? 0 : 1_000_000;
    const tail = Array.from(crypto.getRandomValues(new Uint8Array(200)), (b) => BECH32[b % 32]).join("");
    /** @type {ReceiveResult} */
    const r = { invoice: "lnbcrt" + amountMsat / 100 + "n1" + tail, paymentHash, protocol: feeMsat ? this.config.lsp.protocol : "direct",
      feeMsat, amountMsat, expiresAt: Date.now() + 3_600_000 };
    this.pending.set(paymentHash, r);
    setTimeout(() => this.emit("receive_state", { paymentHash, state: "invoice_ready" }), 0);
    return r;
  }
  // What the real wallet does when the payer pays; the smoke test calls it.
  async settleForTest() {
    const r = [...this.pending.values()].at(-1);
    if (!r) throw new Error("settleForTest: no receive in flight");
    for (const state of ["payment_arriving", "channel_opening", "channel_ready"]) {
      this.emit("receive_state", { paymentHash: r.paymentHash, state });
      await sleep(100);
    }
    const got = (r.amountMsat ?? 0) - r.feeMsat;
    this.s.balanceMsat += got;
    if (!this.s.channels.length) this.s.channels.push({ channelId: hex(32), counterpartyNodeId: this.config.lsp.nodeId ?? "03" + "22".repeat(32),
      capacitySat: 100000, outboundMsat: got, inboundMsat: 100000000 - got, pendingInboundMsat: 0, isUsable: true, isReady: true, confirmations: 0, shortChannelId: "101x1x0", fundingTxid: hex(32), anchors: true });
    /** @type {Payment} */
    const p = { paymentHash: r.paymentHash, direction: "inbound", status: "succeeded", amountMsat: got, feeMsat: r.feeMsat, preimage: hex(32),
      invoice: r.invoice, description: "stand-in", createdAt: Date.now(), updatedAt: Date.now(), viaJit: r.feeMsat ? this.config.lsp.protocol : null, failure: null, paths: [] };
    this.s.payments.push(p);
    save(this.config.storageName, this.s);
    this.pending.delete(r.paymentHash);
    this.emit("receive_state", { paymentHash: r.paymentHash, state: "claimed" });
    this.emit("payment_received", p);
  }
  /** @param {string} invoice */
  async pay(invoice) {
    const m = /^lnbcrt(\d+)n1/.exec(invoice);
    if (!m) throw fail("INVALID_INVOICE");
    const amountMsat = Number(m[1]) * 100, feeMsat = 1000;
    if (amountMsat + feeMsat > this.s.balanceMsat) throw fail("INSUFFICIENT_FUNDS");
    this.s.balanceMsat -= amountMsat + feeMsat;
    const preimage = hex(32);
    /** @type {Payment} */
    const p = { paymentHash: hex(32), direction: "outbound", status: "succeeded", amountMsat, feeMsat, preimage, invoice,
      description: null, createdAt: Date.now(), updatedAt: Date.now(), viaJit: null, failure: null,
      paths: [{ hops: [{ nodeId: "02" + hex(32), shortChannelId: "101x1x0" }], amountMsat, feeMsat }] };
    this.s.payments.push(p);
    save(this.config.storageName, this.s);
    this.emit("payment_sent", p);
    return { paymentHash: p.paymentHash, preimage, feeMsat, amountMsat };
  }
  async onchainAddress() { return "bcrt1qstandin"; }
  // The stand-in's on-chain wallet is always empty.
  /** @returns {Promise<import("../../src/api.js").OnchainQuote>} */
  async quoteOnchain() { throw fail("INSUFFICIENT_FUNDS"); }
  /** @returns {Promise<import("../../src/api.js").OnchainSent>} */
  async sendOnchain() { throw fail("INSUFFICIENT_FUNDS"); }
  /** @returns {Promise<import("../../src/api.js").OnchainTransaction[]>} */
  async onchainTransactions() { return []; }
  async closeChannel() {}
  async sync() { this.emit("synced", { height: 101 }); }
  mnemonic() { return this.s.mnemonic; }
  pendingReceives() { return this.pending.size; }
  // Recorded where the smoke test can read it after the page is gone.
  async stop() {
    localStorage.setItem("standin-tabnode:stopped", this.config.storageName);
    return { complete: true, abandoned: [] };
  }
}

/** The static side, checked against the contract's `WalletClass`. */
/** @type {import("../../src/api.js").WalletClass} */
const staticSide = Wallet;
void staticSide;
