// waitFor's contract, in milliseconds and without a browser: a fatal error ends the wait at once,
// any other error is "not yet".
import assert from "node:assert/strict";
import { test } from "node:test";
import { fatal, waitFor } from "./browser.mjs";

test("a fatal error is rethrown at once, not after the timeout", async () => {
  const started = Date.now();
  await assert.rejects(
    waitFor("never", () => {
      throw fatal("receive failed: the LSP skimmed too much");
    }, 10_000),
    /receive failed/,
  );
  assert.ok(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
});

test("a tabnode Error with fatal: true ends the wait too", async () => {
  const e = Object.assign(new Error("storage failed"), { code: "STORAGE_FAILED", fatal: true });
  await assert.rejects(waitFor("never", () => Promise.reject(e), 10_000), (got) => got === e);
});

test("other errors are retried until the value comes", async () => {
  let calls = 0;
  const v = await waitFor("the third call", () => {
    calls += 1;
    if (calls < 3) throw new Error("still loading");
    return "ready";
  }, 5_000, 1);
  assert.equal(v, "ready");
  assert.equal(calls, 3);
});

test("a wait that never succeeds times out naming what it waited for", async () => {
  await assert.rejects(waitFor("the banner", () => false, 50, 5), /timed out after 50 ms waiting for the banner/);
});
