/**
 * The tabnode package's JS API as this app relies on it: a copy of the contract in
 * docs/js-api.md. The app type-checks against this copy, so it builds whether or not `pkg/` has
 * been built yet; `loader.ts` is the one place that casts the real module to it.
 */

export type Network = "regtest" | "signet" | "testnet" | "bitcoin";

export type LspConfig =
  | { protocol: "flow"; url: string; token?: string; simpleTaproot?: boolean; nodeId?: string }
  | { protocol: "lsps2"; nodeId: string; address: string; token?: string; fixedSizeBuys?: boolean };

export interface WalletConfig {
  network: Network;
  esploraUrl: string;
  proxyUrl: string;
  storageName: string;
  lsp: LspConfig;
  mnemonic?: string;
  maxFeeMsat?: number;
  maxFeePpm?: number;
  trustMinimized?: boolean;
}

export interface Balance {
  lightningMsat: number;
  onchainSat: number;
  onchainPendingSat: number;
  inboundMsat: number;
}

export interface Channel {
  channelId: string;
  counterpartyNodeId: string;
  capacitySat: number;
  outboundMsat: number;
  inboundMsat: number;
  /** Incoming HTLCs not settled yet (a payment being claimed). */
  pendingInboundMsat: number;
  isUsable: boolean;
  isReady: boolean;
  confirmations: number | null;
  shortChannelId: string | null;
  fundingTxid: string | null;
}

export type PaymentStatus = "pending" | "succeeded" | "failed";

export interface Payment {
  paymentHash: string;
  direction: "inbound" | "outbound";
  status: PaymentStatus;
  amountMsat: number | null;
  feeMsat: number | null;
  preimage: string | null;
  invoice: string | null;
  description: string | null;
  createdAt: number;
  updatedAt: number;
  viaJit: "flow" | "lsps2" | null;
  failure: string | null;
}

export interface ReceiveRequest {
  amountMsat?: number;
  description: string;
  maxFeeMsat?: number;
  maxFeePpm?: number;
  expirySecs?: number;
}

export interface ReceiveResult {
  invoice: string;
  paymentHash: string;
  protocol: "direct" | "flow" | "lsps2";
  feeMsat: number;
  amountMsat: number | null;
  expiresAt: number;
}

export interface PayResult {
  paymentHash: string;
  preimage: string;
  feeMsat: number;
  amountMsat: number;
}

export type ReceiveState =
  | "invoice_ready"
  | "payment_arriving"
  | "channel_opening"
  | "channel_ready"
  | "awaiting_funding"
  | "claimed"
  | "failed"
  | "expired";

export interface ReceiveStateDetail {
  paymentHash: string;
  state: ReceiveState;
  reason?: string;
  code?: string;
}

export type WalletEventType =
  | "receive_state"
  | "payment_received"
  | "payment_sent"
  | "payment_failed"
  | "channel_opened"
  | "channel_closed"
  | "synced"
  | "peer"
  | "error";

/** A running wallet, as the package's `Wallet` class instances behave. */
export interface Wallet {
  readonly nodeId: string;
  readonly network: Network;
  balance(): Promise<Balance>;
  channels(): Promise<Channel[]>;
  payments(): Promise<Payment[]>;
  receive(req: ReceiveRequest): Promise<ReceiveResult>;
  pay(invoice: string, opts?: { amountMsat?: number; timeoutSecs?: number }): Promise<PayResult>;
  onchainAddress(): Promise<string>;
  closeChannel(channelId: string, opts?: { force?: boolean }): Promise<void>;
  sync(): Promise<void>;
  mnemonic(): string;
  pendingReceives(): number;
  addEventListener(type: WalletEventType, listener: (e: CustomEvent) => void): void;
  removeEventListener(type: WalletEventType, listener: (e: CustomEvent) => void): void;
  stop(): Promise<void>;
}

/** The package's `Wallet` class (its static side). */
export interface WalletClass {
  open(config: WalletConfig): Promise<Wallet>;
  exists(storageName: string): Promise<boolean>;
}

/** What `import("tabnode")` gives once its wasm is initialised. */
export interface Tabnode {
  Wallet: WalletClass;
}
