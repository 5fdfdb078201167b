/**
 * The tabnode package's JS API as this app relies on it. The data types are the package's own
 * (src/js_types.d.ts, which the package ships), so the app type-checks against them whether or
 * not `pkg/` has been built yet; the `Wallet` class's methods are restated here, and `loader.ts`
 * is the one place that casts the real module to them.
 */

export type {
  Balance,
  Channel,
  ErrorCode,
  ErrorDetail,
  LspConfig,
  Network,
  Payment,
  PaymentStatus,
  PayResult,
  ReceiveRequest,
  ReceiveResult,
  ReceiveState,
  ReceiveStateDetail,
  WalletConfig,
  WalletEventDetailMap,
  WalletEventType,
} from "../../src/js_types.js";
import type {
  Balance,
  Channel,
  Network,
  Payment,
  PayResult,
  ReceiveRequest,
  ReceiveResult,
  WalletConfig,
  WalletEventType,
} from "../../src/js_types.js";

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
