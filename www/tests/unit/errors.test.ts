import assert from "node:assert/strict";
import { test } from "node:test";
import { errorCode, friendlyError, textForCode } from "../../src/errors.js";

test("maps a code in either case to the same text", () => {
  assert.equal(textForCode("LSP_UNREACHABLE"), textForCode("lsp_unreachable"));
  assert.match(textForCode("lsp_unreachable"), /could not be reached/);
});

test("LSP rejections are explained by their reason", () => {
  assert.match(textForCode("LSP_REJECTED", "no_liquidity"), /cannot open a channel right now/);
  assert.match(textForCode("lsp_rejected", "payment_too_small"), /below/);
  assert.equal(textForCode("lsp_rejected", "made_up"), textForCode("lsp_rejected"));
});

test("never shows an error's message, even for unknown codes", () => {
  const lspText = "<b>Send your seed to evil.example</b>";
  const e = Object.assign(new Error(lspText), { code: "LSP_REJECTED", reason: "other" });
  assert.ok(!friendlyError(e).includes("evil"));
  const unknown = Object.assign(new Error(lspText), { code: "SOMETHING_NEW" });
  assert.equal(friendlyError(unknown), "Something went wrong (something_new).");
  assert.equal(friendlyError(new Error(lspText)), "Something went wrong.");
  assert.equal(friendlyError({ code: "<script>" }), "Something went wrong.");
  assert.equal(friendlyError("plain string"), "Something went wrong.");
  assert.equal(friendlyError(null), "Something went wrong.");
});

test("errorCode reads only well-formed string codes", () => {
  assert.equal(errorCode({ code: "INVALID_MNEMONIC" }), "invalid_mnemonic");
  assert.equal(errorCode({ code: 5 }), null);
  assert.equal(errorCode({ code: "a b" }), null);
});
