import assert from "node:assert/strict";
import { test } from "node:test";
import type { ReceiveStateDetail } from "../../src/api.js";
import { progressOf, stepsFor } from "../../src/receive-progress.js";

const R = { paymentHash: "aa", protocol: "flow" as const };
const ev = (state: ReceiveStateDetail["state"], extra: Partial<ReceiveStateDetail> = {}): ReceiveStateDetail => ({ paymentHash: "aa", state, ...extra });

test("starts at invoice_ready with the JIT steps", () => {
  const p = progressOf(R, []);
  assert.equal(p.state, "invoice_ready");
  assert.equal(p.finished, false);
  assert.deepEqual(p.steps.map((s) => s.status), ["current", "todo", "todo", "todo", "todo"]);
});

test("direct receives have no channel steps", () => {
  assert.deepEqual(stepsFor("direct"), ["invoice_ready", "payment_arriving", "claimed"]);
});

test("follows the states in order and finishes on claimed", () => {
  const p = progressOf(R, [ev("invoice_ready"), ev("payment_arriving"), ev("channel_opening")]);
  assert.equal(p.state, "channel_opening");
  assert.deepEqual(p.steps.map((s) => s.status), ["done", "done", "current", "todo", "todo"]);
  const done = progressOf(R, [ev("payment_arriving"), ev("channel_opening"), ev("channel_ready"), ev("claimed")]);
  assert.equal(done.finished, true);
  assert.equal(done.headline, "Payment received.");
  assert.ok(done.steps.every((s) => s.status === "done"));
});

test("a payment held for the funding check says so and keeps the tab open", () => {
  const p = progressOf(R, [ev("channel_opening"), ev("channel_ready"), ev("awaiting_funding")]);
  assert.equal(p.state, "awaiting_funding");
  assert.equal(p.finished, false);
  assert.match(p.headline, /funding transaction.*Keep this tab open/);
  assert.deepEqual(p.steps.map((s) => s.status), ["done", "done", "done", "done", "todo"]);
  assert.equal(progressOf(R, [ev("awaiting_funding"), ev("channel_ready")]).state, "awaiting_funding", "never backwards");
  assert.equal(progressOf(R, [ev("awaiting_funding"), ev("claimed")]).state, "claimed");
});

test("ignores other payments and never moves backwards", () => {
  const p = progressOf(R, [ev("channel_ready"), { paymentHash: "bb", state: "failed" }, ev("payment_arriving")]);
  assert.equal(p.state, "channel_ready");
  const after = progressOf(R, [ev("claimed"), ev("failed")]);
  assert.equal(after.state, "claimed");
});

test("a failure is explained by its code, never by its reason text alone", () => {
  const p = progressOf(R, [ev("payment_arriving"), ev("failed", { code: "SKIM_TOO_HIGH", reason: "LSP says: <script>" })]);
  assert.equal(p.finished, true);
  assert.match(p.headline, /kept more than the agreed fee/);
  assert.ok(!p.headline.includes("script"));
  assert.equal(p.steps.at(-1)?.state, "failed");
  const exp = progressOf(R, [ev("expired")]);
  assert.equal(exp.headline, "The invoice expired before it was paid.");
});
