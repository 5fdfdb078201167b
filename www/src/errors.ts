/**
 * Turns a wallet error into text for people. Only the error's stable `code` (and `reason`, for the
 * codes that carry one) is read; its `message` is never shown, so no text that came from an LSP or
 * any other outside party can reach the page.
 */

import type { ErrorCode } from "../../src/js_types.js";

/** A text for every code the package ships (`ErrorCode`): the type check fails when one lacks it. */
const BY_CODE: Record<Lowercase<ErrorCode>, string> = {
  invalid_config: "A wallet setting is not valid. Check the network settings.",
  invalid_mnemonic: "That recovery phrase is not valid. Check the words and their order.",
  storage_failed: "The browser's storage failed. The wallet stopped to protect your funds.",
  storage_corrupt: "The wallet's stored data is damaged. The wallet stopped to protect your funds.",
  already_exists: "A wallet is already stored under this name.",
  not_found: "That was not found.",
  already_running: "This wallet (or the same recovery phrase under another name) is already open in another tab or window. Close it there, then reload.",
  network_mismatch: "That is for another Bitcoin network than this wallet's.",
  invalid_invoice: "That invoice cannot be used by this wallet.",
  invalid_amount: "Enter a whole amount within the allowed range.",
  lsp_unreachable: "The Lightning service provider could not be reached. Check your connection and try again.",
  lsp_bad_response: "The Lightning service provider sent an answer the wallet could not accept.",
  lsp_identity_mismatch: "The Lightning service provider is not the configured one (its node id differs).",
  lsp_rejected: "The Lightning service provider refused the request.",
  fee_above_cap: "The Lightning service provider's fee is above your limit.",
  invalid_wrapped_invoice: "The Lightning service provider's invoice failed the wallet's safety checks, so it was not used.",
  invalid_lsps2_offer: "The Lightning service provider's channel terms failed the wallet's safety checks.",
  skim_too_high: "The Lightning service provider kept more than the agreed fee, so the payment was refused.",
  unexpected_skim: "A payment arrived short of its amount and was refused.",
  underpaid: "The payment that arrived was smaller than the invoice, so it was refused.",
  amount_overflow: "That amount is too large.",
  payment_failed: "The payment failed.",
  payment_pending: "The payment is still on its way. Its result will appear in History; do not pay again.",
  insufficient_funds: "Not enough balance for this payment.",
  invalid_address: "That is not a valid Bitcoin address.",
  amount_below_dust: "That amount is too small to send on chain (below the dust limit).",
  anchor_reserve: "That would spend what the wallet keeps on chain for closing fees. Send less, or send everything (which keeps it).",
  onchain_send_failed: "The on-chain send was refused; nothing was spent.",
  no_inbound_capacity: "This amount cannot be received right now: no channel has room and no service provider is usable.",
  peer_connection_failed: "Could not connect to the Lightning peer. Check the proxy URL and your connection.",
  chain_source_failed: "The blockchain server (Esplora) could not be reached or answered wrongly.",
  chain_source_unavailable: "The blockchain server is not answering right now; the wallet keeps trying, more slowly. Your funds are safe.",
  graph_sync_failed: "The map of the Lightning network could not be updated; paying may find no route until it is. Receiving is not affected.",
  channel_failed: "The channel operation failed.",
  invalid_state_transition: "The payment took an unexpected turn and was stopped.",
  payment_out_of_range: "The amount paid is outside the service provider's limits for a new channel, so the payment was refused.",
  stopped: "The wallet is stopped. Reload the page to start it again.",
  lock_lost: "Another tab or window took over this wallet, so it stopped here. Reload to open it again.",
  invalid_argument: "The wallet was called with a value it cannot use.",
};

const LSP_REASONS: Record<string, string> = {
  unauthorized: "The Lightning service provider refused the access token.",
  invalid_params: "The Lightning service provider refused the request's terms. Try again.",
  payment_too_small: "The amount is below the service provider's minimum for a new channel.",
  payment_too_large: "The amount is above what the service provider can open a channel for.",
  no_liquidity: "The service provider cannot open a channel right now. Try again later.",
  unavailable: "The service provider does not offer this service to this wallet.",
  rate_limited: "The service provider asks to wait a moment before trying again.",
  server_error: "The service provider had an internal problem. Try again later.",
};

/** The `code` of an error-like value, lower-cased (the wallet may send UPPER_SNAKE or snake_case). */
export function errorCode(e: unknown): string | null {
  if (typeof e !== "object" || e === null) return null;
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && /^[A-Za-z0-9_]+$/.test(code) ? code.toLowerCase() : null;
}

/** The friendly text for a `code` (and optional `reason`), both as the wallet sends them. */
export function textForCode(code: string | null | undefined, reason?: string | null): string {
  if (!code) return "Something went wrong.";
  const c = code.toLowerCase();
  const r = typeof reason === "string" ? reason.toLowerCase() : null;
  if (c === "lsp_rejected" && r && LSP_REASONS[r]) return LSP_REASONS[r] as string;
  if (c === "invalid_lsps2_offer" && r === "amount_out_of_range") {
    return "The amount is outside the service provider's limits for a new channel.";
  }
  if (c === "invalid_lsps2_offer" && r === "expired") {
    return "The service provider's channel terms expired. Try again.";
  }
  if (c === "chain_source_unavailable" && r === "rate_limited") {
    return "The blockchain server asks the wallet to slow down; it will catch up by itself. Your funds are safe.";
  }
  const known = (BY_CODE as Record<string, string | undefined>)[c];
  if (known) return known;
  return `Something went wrong (${/^[a-z0-9_]+$/.test(c) ? c : "unknown error"}).`;
}

/** The friendly text for any thrown value; only its `code` and `reason` are read. */
export function friendlyError(e: unknown): string {
  const reason = typeof e === "object" && e !== null ? (e as { reason?: unknown }).reason : undefined;
  return textForCode(errorCode(e), typeof reason === "string" ? reason : null);
}
