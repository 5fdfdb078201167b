import assert from "node:assert/strict";
import { test } from "node:test";
import { formatMsat, formatSat, parseSatToMsat, subMsat } from "../../src/money.js";

test("parseSatToMsat accepts whole sats with or without thousands separators", () => {
  assert.deepEqual(parseSatToMsat("50000"), { ok: true, msat: 50_000_000 });
  assert.deepEqual(parseSatToMsat(" 50,000 "), { ok: true, msat: 50_000_000 });
  assert.deepEqual(parseSatToMsat("1 234 567"), { ok: true, msat: 1_234_567_000 });
  assert.deepEqual(parseSatToMsat("50_000"), { ok: true, msat: 50_000_000 });
  assert.deepEqual(parseSatToMsat("007"), { ok: true, msat: 7_000 });
});

test("parseSatToMsat refuses what is not a positive whole number of sats", () => {
  for (const bad of ["", "  ", "0", "000", "-5", "1.5", "1e3", "abc", "5,00", "50,0000", "0x10", "+5", "12 34"]) {
    const r = parseSatToMsat(bad);
    assert.equal(r.ok, false, `accepted ${JSON.stringify(bad)}`);
  }
});

test("parseSatToMsat refuses amounts whose msat is not a safe integer", () => {
  assert.equal(parseSatToMsat("9007199254740").ok, true);
  assert.equal(parseSatToMsat("9007199254741").ok, false);
  assert.equal(parseSatToMsat("99999999999999999999").ok, false);
});

test("formatMsat groups thousands and shows sub-sat amounts exactly", () => {
  assert.equal(formatMsat(0), "0 sat");
  assert.equal(formatMsat(49_000_000), "49,000 sat");
  assert.equal(formatMsat(1_500), "1.5 sat");
  assert.equal(formatMsat(1_234_567_891), "1,234,567.891 sat");
  assert.equal(formatMsat(5), "0.005 sat");
  assert.equal(formatMsat(-2_000), "-2 sat");
  assert.equal(formatMsat(1.5), "—");
  assert.equal(formatMsat(Number.MAX_SAFE_INTEGER + 1), "—");
});

test("formatSat groups thousands", () => {
  assert.equal(formatSat(1_234_567), "1,234,567 sat");
  assert.equal(formatSat(999), "999 sat");
  assert.equal(formatSat(-1000), "-1,000 sat");
});

test("subMsat refuses negative results and unsafe inputs", () => {
  assert.equal(subMsat(50_000_000, 1_000_000), 49_000_000);
  assert.equal(subMsat(1, 2), null);
  assert.equal(subMsat(Number.MAX_SAFE_INTEGER + 1, 1), null);
  assert.equal(subMsat(10, 0.5), null);
});
