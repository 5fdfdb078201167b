/**
 * The tabnode package's JS API as this app relies on it. The data types and the typed listener
 * methods are the package's own (src/js_types.d.ts, which the package ships), so the app
 * type-checks against them whether or not `pkg/` has been built yet. The rest of the `Wallet`
 * class (which wasm-bindgen generates from src/api.rs) is restated here; the npm-consumer test
 * fails when this restatement and the built package's class differ in any member's type.
 * `loader.ts` is the one place that casts the real module to them.
 */

export type {
  Balance,
  Channel,
  ErrorCode,
  ErrorDetail,
  LspConfig,
  Network,
  OnchainQuote,
  OnchainSendOptions,
  OnchainSendRequest,
  OnchainSent,
  OnchainTransaction,
  Payment,
  PaymentStatus,
  PayResult,
  ReceiveRequest,
  ReceiveResult,
  ReceiveState,
  ReceiveStateDetail,
  StopOptions,
  StopReport,
  WalletConfig,
  WalletEventDetailMap,
  WalletEventListener,
  WalletEventType,
} from "../../src/js_types.js";
import type {
  Balance,
  Channel,
  Network,
  OnchainQuote,
  OnchainSendOptions,
  OnchainSendRequest,
  OnchainSent,
  OnchainTransaction,
  Payment,
  PayResult,
  ReceiveRequest,
  ReceiveResult,
  StopOptions,
  StopReport,
  Wallet as WalletListeners,
  WalletConfig,
} from "../../src/js_types.js";

/** A running wallet, as the package's `Wallet` class instances behave. */
export interface Wallet extends WalletListeners {
  readonly nodeId: string;
  readonly network: Network;
  balance(): Promise<Balance>;
  channels(): Promise<Channel[]>;
  payments(): Promise<Payment[]>;
  receive(req: ReceiveRequest): Promise<ReceiveResult>;
  pay(invoice: string, opts?: { amountMsat?: number; timeoutSecs?: number }): Promise<PayResult>;
  onchainAddress(): Promise<string>;
  quoteOnchain(req: OnchainSendRequest, opts?: OnchainSendOptions): Promise<OnchainQuote>;
  sendOnchain(req: OnchainSendRequest, opts?: OnchainSendOptions): Promise<OnchainSent>;
  onchainTransactions(): Promise<OnchainTransaction[]>;
  closeChannel(channelId: string, opts?: { force?: boolean }): Promise<void>;
  sync(): Promise<void>;
  mnemonic(): string;
  pendingReceives(): number;
  stop(opts?: StopOptions): Promise<StopReport>;
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
