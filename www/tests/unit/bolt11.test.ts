import assert from "node:assert/strict";
import { test } from "node:test";
import { readInvoice } from "../../src/bolt11.js";

// Invoices shaped like the BOLT11 spec examples (only the human-readable part is read here).
const SPEC_DONATION =
  "lnbc1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8qun0dfjkxaq9qrsgq357wnc5r2ueh7ck6q93dj32dlqnls087fxdwk8qakdyafkq3yap9us6v52vjjsrvywa6rt52cm9r9zqt8r2t7mlcwspyetp5h2tztugp9lfyql";
const SPEC_250U = "lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu9qrsgquk0rl77nj30yxdy8j9vdx85fkpmdla2087ne0xh8nhedh8w27kyke0lp53ut353s06fv3qfegext0eh0ymjpf39tuven09sam30g4vgpfna3rh";

test("reads the amount and network of spec invoices", () => {
  const a = readInvoice(SPEC_DONATION);
  assert.ok(a.ok);
  assert.deepEqual([a.summary.network, a.summary.amountMsat], ["bitcoin", null]);
  const b = readInvoice(SPEC_250U);
  assert.ok(b.ok);
  assert.deepEqual([b.summary.network, b.summary.amountMsat], ["bitcoin", 250_000_000]);
});

test("drops a lightning: prefix and ignores case", () => {
  const r = readInvoice("  LIGHTNING:" + SPEC_250U.toUpperCase() + "\n");
  assert.ok(r.ok);
  assert.equal(r.summary.invoice, SPEC_250U);
});

test("tells networks apart by their prefix, longest first", () => {
  const tail = "1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypq";
  const cases: Array<[string, string, number | null]> = [
    ["lnbcrt500u", "regtest", 50_000_000],
    ["lntbs10m", "signet", 1_000_000_000],
    ["lntb20n", "testnet", 2_000],
    ["lnbc10p", "bitcoin", 1],
    ["lnbcrt", "regtest", null],
    ["lnbc1", "bitcoin", 100_000_000_000],
  ];
  for (const [hrp, net, msat] of cases) {
    const r = readInvoice(hrp + tail);
    assert.ok(r.ok, hrp);
    assert.equal(r.summary.network, net, hrp);
    assert.equal(r.summary.amountMsat, msat, hrp);
  }
});

test("refuses malformed invoices", () => {
  const tail = "1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypq";
  for (const bad of ["", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "lnxy500u" + tail, "lnbc15p" + tail, "lnbc0u" + tail, "lnbc5x" + tail, "lnbc500u1bIo"]) {
    assert.equal(readInvoice(bad).ok, false, bad);
  }
});

test("refuses amounts beyond exact msat", () => {
  const tail = "1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypq";
  assert.equal(readInvoice("lnbc99999999" + tail).ok, false);
});
