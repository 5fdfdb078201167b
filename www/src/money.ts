/**
 * Amounts: parsing what the user types and formatting msat for display. Integer arithmetic only;
 * every msat value handled is a safe integer (exact in a JS number).
 */

/** The result of parsing a user-typed amount. */
export type ParsedAmount = { ok: true; msat: number } | { ok: false; problem: string };

/**
 * Parses a whole number of sats as typed ("50000", "50,000", "50 000", "50_000") into msat.
 * Refuses empty, zero, negative, fractional and non-numeric input, and amounts whose msat value
 * is not a safe integer.
 */
export function parseSatToMsat(input: string): ParsedAmount {
  const s = input.trim();
  if (s === "") return { ok: false, problem: "Enter an amount in sats." };
  // Thousands separators only between digit groups of three.
  if (!/^\d{1,3}([ ,_]\d{3})*$/.test(s) && !/^\d+$/.test(s)) {
    return { ok: false, problem: "Enter a whole number of sats (digits only)." };
  }
  const digits = s.replace(/[ ,_]/g, "").replace(/^0+(?=\d)/, "");
  if (digits.length > 16) return { ok: false, problem: "That amount is too large." };
  const sat = Number(digits);
  if (sat === 0) return { ok: false, problem: "The amount must be more than 0 sats." };
  const msat = sat * 1000;
  if (!Number.isSafeInteger(msat)) return { ok: false, problem: "That amount is too large." };
  return { ok: true, msat };
}

function group(n: string): string {
  return n.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * Formats msat as sats with thousands separators and, when not a whole sat, up to three decimals
 * without trailing zeros: 49000000 → "49,000 sat", 1500 → "1.5 sat", -2000 → "-2 sat".
 * Non-safe-integer input is shown as "—" rather than a wrong number.
 */
export function formatMsat(msat: number): string {
  if (!Number.isSafeInteger(msat)) return "—";
  const neg = msat < 0;
  const abs = Math.abs(msat);
  const whole = Math.floor(abs / 1000);
  const frac = abs % 1000;
  let out = group(String(whole));
  if (frac !== 0) out += "." + String(frac).padStart(3, "0").replace(/0+$/, "");
  return `${neg ? "-" : ""}${out} sat`;
}

/** Formats a whole number of sats: 1234567 → "1,234,567 sat". */
export function formatSat(sat: number): string {
  if (!Number.isSafeInteger(sat)) return "—";
  return `${sat < 0 ? "-" : ""}${group(String(Math.abs(sat)))} sat`;
}

/** `a - b` for msat values, or null when either is not a safe integer or the result is negative. */
export function subMsat(a: number, b: number): number | null {
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b)) return null;
  const r = a - b;
  return r >= 0 && Number.isSafeInteger(r) ? r : null;
}
