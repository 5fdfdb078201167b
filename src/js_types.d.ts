// tabnode's JS contract types. In the repository they are one file, src/js_types.d.ts: the
// package ships it (src/api.rs) and the demo wallet imports it (www/); native tests
// (src/js_types.rs) hold its error codes, receive states and events to the Rust.
export type Network = "regtest" | "signet" | "testnet" | "bitcoin";
export type LspConfig =
  | { protocol: "flow"; url: string; token?: string; simpleTaproot?: boolean; nodeId?: string }
  | { protocol: "lsps2"; nodeId: string; address?: string; websocketUrl?: string; token?: string; fixedSizeBuys?: boolean };
export interface WalletConfig {
  network: Network; esploraUrl: string; proxyUrl: string; storageName: string; lsp: LspConfig;
  mnemonic?: string; maxFeeMsat?: number; maxFeePpm?: number;
  trustMinimized?: boolean;
  /** Rapid Gossip Sync server of the routing graph; default: the network's public one (regtest: none). */
  rgsUrl?: string;
  /** A second Esplora server: a sync round the first fails is done on it (never half on each), a broadcast the first cannot take is posted there. */
  esploraFallbackUrl?: string;
}
export interface Balance {
  lightningMsat: number;
  /** The on-chain (BDK) wallet's confirmed funds, as of its last sync. */
  onchainSat: number;
  /** Its unconfirmed (ours and others') and immature funds. */
  onchainPendingSat: number;
  /** Kept on chain to bump anchor channels' closing fees: sends never go below it. */
  anchorReserveSat: number;
  inboundMsat: number;
}
/** `{ address, amountSat }` sends exactly that; `{ address, all: true }` everything but the fee and the reserve. */
export type OnchainSendRequest =
  | { address: string; amountSat: number }
  | { address: string; all: true };
export interface OnchainSendOptions {
  /** Whole sat/vB; by default the chain source's estimate for about two hours. */
  feeRateSatPerVb?: number;
}
export interface OnchainQuote {
  address: string; amountSat: number; feeSat: number; changeSat: number;
  feeRateSatPerVb: number; reserveSat: number;
}
export interface OnchainSent {
  txid: string; address: string; amountSat: number; feeSat: number; changeSat: number;
  feeRateSatPerVb: number; reserveSat: number;
}
export interface OnchainTransaction {
  /** `feeSat`: when every input's value is known (always for the wallet's own sends). */
  txid: string; receivedSat: number; sentSat: number; feeSat: number | null;
  confirmations: number; confirmedAt: number | null;
}
export interface Channel {
  channelId: string; counterpartyNodeId: string; capacitySat: number;
  outboundMsat: number; inboundMsat: number; pendingInboundMsat: number; isUsable: boolean; isReady: boolean;
  confirmations: number | null; shortChannelId: string | null; fundingTxid: string | null;
  /** An anchor channel: the wallet's own force close is fee-bumped from its on-chain coins. */
  anchors: boolean;
}
export type PaymentStatus = "pending" | "succeeded" | "failed";
export interface Payment {
  paymentHash: string; direction: "inbound" | "outbound"; status: PaymentStatus;
  amountMsat: number | null; feeMsat: number | null; preimage: string | null;
  invoice: string | null; description: string | null; createdAt: number;
  updatedAt: number; viaJit: "flow" | "lsps2" | null; failure: string | null;
  /** A sent payment's paths, each added once it settled (empty otherwise). */
  paths: PaymentPath[];
}
/** One path of a sent payment: over all paths, amounts sum to its amount and fees to its fee. */
export interface PaymentPath { hops: PathHop[]; amountMsat: number; feeMsat: number }
/** A hop: its node and the channel into it (the first is the wallet's own channel). */
export interface PathHop { nodeId: string; shortChannelId: string }
/** What `receive` is asked; a field not named here is refused (`INVALID_CONFIG`). */
export interface ReceiveRequest {
  /** Omitted: an amountless invoice (LSPS2 variable-amount mode, or a direct one). */
  amountMsat?: number;
  /** At most 639 bytes. */
  description: string;
  /** Replace the config's fee caps for this receive. */
  maxFeeMsat?: number; maxFeePpm?: number;
  /** How long the invoice is valid: 60 to 604800 seconds (one week); default 3600. */
  expirySecs?: number;
}
export interface ReceiveResult {
  invoice: string; paymentHash: string; protocol: "direct" | "flow" | "lsps2";
  feeMsat: number; amountMsat: number | null; expiresAt: number;
}
export interface PayResult { paymentHash: string; preimage: string; feeMsat: number; amountMsat: number }
/** A JIT receive's steps, in the `receive_state` event (docs/js-api.md). */
export type ReceiveState =
  | "invoice_ready" | "payment_arriving" | "channel_opening" | "channel_ready"
  | "awaiting_funding" | "claimed" | "failed" | "expired";
export interface ReceiveStateDetail {
  paymentHash: string; state: ReceiveState;
  /** On `failed`: why, as an error code and its sub-reason. */
  code?: ErrorCode; reason?: string;
}
/** A routing graph sync round that succeeded: the `graph_synced` event's detail. */
export interface GraphSyncDetail {
  /** The first (full) snapshot of this wallet's graph. */
  full: boolean;
  /** The snapshot's size, and its timestamp (Unix seconds; the next round asks what changed since). */
  bytes: number; timestamp: number;
  /** Channels and nodes in the graph after it. */
  channels: number; nodes: number;
  /** Download and apply, in milliseconds. */
  ms: number;
}
/** What `stop()` is asked. */
export interface StopOptions {
  /** How long to wait for the node's work and its last writes: 1 to 600 seconds; default 30. */
  timeoutSecs?: number;
}
/**
 * What `stop()` resolves to. `complete`: everything ended within the bound and the wallet's
 * lock was given back. Otherwise `abandoned` names what still ran (e.g. "IndexedDB writes");
 * the lock is kept until it ends, so an open meanwhile is refused with `ALREADY_RUNNING`.
 */
export interface StopReport { complete: boolean; abandoned: string[] }
/** `{ code, reason?, message, fatal }`: the `error` event's detail. */
export interface ErrorDetail { code: ErrorCode; reason?: string; message: string; fatal: boolean }
/** Each event type and the `detail` of its `CustomEvent`. */
export interface WalletEventDetailMap {
  receive_state: ReceiveStateDetail;
  payment_received: Payment;
  payment_sent: Payment;
  payment_failed: Payment;
  channel_opened: Channel;
  channel_closed: { channelId: string; reason: string };
  synced: { height: number };
  peer: { nodeId: string; connected: boolean };
  graph_sync_started: { full: boolean; since: number };
  graph_synced: GraphSyncDetail;
  error: ErrorDetail;
}
export type WalletEventType = keyof WalletEventDetailMap;
/** A listener for event `K`: its `CustomEvent`'s `detail` is `WalletEventDetailMap[K]`. */
export type WalletEventListener<K extends WalletEventType> = (e: CustomEvent<WalletEventDetailMap[K]>) => void;
/**
 * The `Wallet` class's listener methods. In the package this interface merges into the class
 * (whose other members wasm-bindgen generates); the demo wallet extends it.
 */
export interface Wallet {
  /** Adds a listener for a wallet event; `e.detail` is typed by the event's name. */
  addEventListener<K extends WalletEventType>(eventType: K, listener: WalletEventListener<K>): void;
  /** Removes a listener added by `addEventListener`. */
  removeEventListener<K extends WalletEventType>(eventType: K, listener: WalletEventListener<K>): void;
}
/** Every stable `code` a wallet `Error` carries (src/error.rs, `Error::code`). */
export type ErrorCode =
  | "INVALID_CONFIG"
  | "INVALID_MNEMONIC"
  | "STORAGE_FAILED"
  | "STORAGE_CORRUPT"
  | "ALREADY_EXISTS"
  | "NOT_FOUND"
  | "ALREADY_RUNNING"
  | "NETWORK_MISMATCH"
  | "INVALID_INVOICE"
  | "LSP_UNREACHABLE"
  | "LSP_BAD_RESPONSE"
  | "LSP_IDENTITY_MISMATCH"
  | "LSP_REJECTED"
  | "FEE_ABOVE_CAP"
  | "INVALID_WRAPPED_INVOICE"
  | "INVALID_LSPS2_OFFER"
  | "SKIM_TOO_HIGH"
  | "UNEXPECTED_SKIM"
  | "UNDERPAID"
  | "PAYMENT_OUT_OF_RANGE"
  | "AMOUNT_OVERFLOW"
  | "INVALID_AMOUNT"
  | "PAYMENT_FAILED"
  | "PAYMENT_PENDING"
  | "INSUFFICIENT_FUNDS"
  | "INVALID_ADDRESS"
  | "AMOUNT_BELOW_DUST"
  | "ANCHOR_RESERVE"
  | "ONCHAIN_SEND_FAILED"
  | "NO_INBOUND_CAPACITY"
  | "PEER_CONNECTION_FAILED"
  | "CHAIN_SOURCE_FAILED"
  | "CHAIN_SOURCE_UNAVAILABLE"
  | "GRAPH_SYNC_FAILED"
  | "CHANNEL_FAILED"
  | "INVALID_STATE_TRANSITION"
  | "STOPPED"
  | "LOCK_LOST"
  | "INVALID_ARGUMENT";
export interface WalletError extends Error { code: ErrorCode; reason?: string; fatal: boolean }
