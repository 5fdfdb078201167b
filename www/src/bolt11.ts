/**
 * Just enough BOLT11 reading to confirm a payment with the user: the network and amount, which
 * sit in the invoice's human-readable part. The wallet itself fully checks the invoice (signature,
 * expiry, network) before paying; this module never decides whether a payment is valid.
 */
import type { Network } from "./api.js";

/** What the human-readable part of an invoice says. */
export interface InvoiceSummary {
  /** The invoice text, trimmed, lower-cased, without a `lightning:` prefix. */
  invoice: string;
  network: Network;
  /** The amount in msat, or null when the invoice leaves the amount to the payer. */
  amountMsat: number | null;
}

export type InvoiceRead = { ok: true; summary: InvoiceSummary } | { ok: false; problem: string };

// Longest prefixes first: "bcrt" before "bc", "tbs" before "tb".
const CURRENCIES: ReadonlyArray<[string, Network]> = [
  ["bcrt", "regtest"],
  ["tbs", "signet"],
  ["bc", "bitcoin"],
  ["tb", "testnet"],
];

// msat per unit of each BOLT11 multiplier, as integers: 1 BTC = 1e11 msat.
const MSAT_PER: Record<string, number> = { "": 100_000_000_000, m: 100_000_000, u: 100_000, n: 100 };

/** Reads the network and amount of a BOLT11 invoice (an optional `lightning:` prefix is dropped). */
export function readInvoice(text: string): InvoiceRead {
  let s = text.trim().toLowerCase();
  if (s.startsWith("lightning:")) s = s.slice("lightning:".length);
  if (s === "") return { ok: false, problem: "Paste an invoice." };
  if (!s.startsWith("ln")) return { ok: false, problem: "This is not a Lightning invoice (it should start with “ln”)." };
  const sep = s.lastIndexOf("1");
  if (sep < 4 || !/^[qpzry9x8gf2tvdw0s3jn54khce6mua7l]+$/.test(s.slice(sep + 1))) {
    return { ok: false, problem: "This invoice is incomplete or mistyped." };
  }
  const hrp = s.slice(2, sep);
  const cur = CURRENCIES.find(([p]) => hrp.startsWith(p));
  if (!cur) return { ok: false, problem: "This invoice is for an unknown network." };
  const amount = hrp.slice(cur[0].length);
  if (amount === "") return { ok: true, summary: { invoice: s, network: cur[1], amountMsat: null } };
  const m = /^([1-9]\d*)([munp]?)$/.exec(amount);
  if (!m) return { ok: false, problem: "This invoice's amount is malformed." };
  const value = Number(m[1]);
  const unit = m[2] ?? "";
  let msat: number;
  if (unit === "p") {
    // 1 pico-BTC = 0.1 msat: BOLT11 requires the last digit to be 0.
    if (value % 10 !== 0) return { ok: false, problem: "This invoice's amount is malformed." };
    msat = value / 10;
  } else {
    msat = value * (MSAT_PER[unit] as number);
  }
  if (!Number.isSafeInteger(value) || !Number.isSafeInteger(msat)) {
    return { ok: false, problem: "This invoice's amount is too large." };
  }
  return { ok: true, summary: { invoice: s, network: cur[1], amountMsat: msat } };
}

/** A network's name for people. */
export function networkName(n: Network): string {
  switch (n) {
    case "bitcoin":
      return "Bitcoin mainnet";
    case "testnet":
      return "testnet";
    case "signet":
      return "signet";
    case "regtest":
      return "regtest (devnet)";
  }
}
