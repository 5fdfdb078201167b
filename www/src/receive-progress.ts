/**
 * The receive screen's progress: which steps a receive goes through and what each state means
 * for the user. Pure: it only folds `receive_state` events into a view.
 */
import type { ReceiveResult, ReceiveState, ReceiveStateDetail } from "./api.js";
import { textForCode } from "./errors.js";

/** One line of the progress list. */
export interface Step {
  state: ReceiveState;
  label: string;
  status: "done" | "current" | "todo";
}

/** The folded view of a receive. */
export interface Progress {
  steps: Step[];
  /** The newest state seen. */
  state: ReceiveState;
  /** True once nothing more will happen (claimed, failed or expired). */
  finished: boolean;
  /** One sentence for the live status line. */
  headline: string;
}

const LABELS: Record<ReceiveState, string> = {
  invoice_ready: "Invoice ready",
  payment_arriving: "Payment arriving",
  channel_opening: "Opening a channel",
  channel_ready: "Channel ready",
  awaiting_funding: "Checking the channel's funding",
  claimed: "Received",
  failed: "Failed",
  expired: "Expired",
};

const ORDER: Record<ReceiveState, number> = {
  invoice_ready: 0,
  payment_arriving: 1,
  channel_opening: 2,
  channel_ready: 3,
  awaiting_funding: 4,
  claimed: 5,
  failed: 6,
  expired: 6,
};

/** The steps shown for a receive made with `protocol` (no channel steps for a direct receive). */
export function stepsFor(protocol: ReceiveResult["protocol"]): ReceiveState[] {
  return protocol === "direct"
    ? ["invoice_ready", "payment_arriving", "claimed"]
    : ["invoice_ready", "payment_arriving", "channel_opening", "channel_ready", "claimed"];
}

/**
 * Folds the `receive_state` events of one payment (in arrival order) into a view. Events for other
 * payment hashes are ignored, and a late event never moves a receive backwards.
 */
export function progressOf(result: Pick<ReceiveResult, "paymentHash" | "protocol">, events: ReceiveStateDetail[]): Progress {
  let state: ReceiveState = "invoice_ready";
  let failure: ReceiveStateDetail | null = null;
  for (const ev of events) {
    if (ev.paymentHash !== result.paymentHash || !(ev.state in ORDER)) continue;
    if (state === "claimed" || state === "failed" || state === "expired") break;
    if (ORDER[ev.state] >= ORDER[state]) {
      state = ev.state;
      if (ev.state === "failed" || ev.state === "expired") failure = ev;
    }
  }
  const order = stepsFor(result.protocol);
  const finished = state === "claimed" || state === "failed" || state === "expired";
  const reached = ORDER[state];
  const steps: Step[] = order.map((s) => ({
    state: s,
    label: LABELS[s],
    status: ORDER[s] < reached || state === "claimed" ? "done" : ORDER[s] === reached ? "current" : "todo",
  }));
  if (state === "failed" || state === "expired") {
    for (const st of steps) if (st.status !== "done") st.status = "todo";
    steps.push({ state, label: LABELS[state], status: "current" });
  }
  return { steps, state, finished, headline: headline(state, result.protocol, failure) };
}

function headline(state: ReceiveState, protocol: ReceiveResult["protocol"], failure: ReceiveStateDetail | null): string {
  switch (state) {
    case "invoice_ready":
      return "Waiting for the payment. Share the invoice with the payer.";
    case "payment_arriving":
      return protocol === "direct" ? "The payment is arriving…" : "The payment is arriving; the LSP is about to open your channel…";
    case "channel_opening":
      return "The LSP is opening a channel to you…";
    case "channel_ready":
      return "Channel open; receiving the payment…";
    case "awaiting_funding":
      return "The payment is here; checking the LSP's funding transaction on chain before accepting it. Keep this tab open…";
    case "claimed":
      return "Payment received.";
    case "expired":
      return "The invoice expired before it was paid.";
    case "failed":
      return `The payment could not be received. ${failure?.code ? textForCode(failure.code, failure.reason ?? null) : ""}`.trim();
  }
}
