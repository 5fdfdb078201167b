/**
 * Client of the devnet control API (dev mode only): endpoints, paying the wallet's invoice from
 * the devnet payer, getting a payer invoice, mining. Errors are `DevnetError`s with our own text.
 */
import { parseEndpoints, type DevnetEndpoints } from "./devnet-endpoints.js";

/** The default control API, as `./dev up` starts it. */
export const DEFAULT_CONTROL_URL = "http://127.0.0.1:3003";

/** A devnet call that failed; `message` is this app's own text. */
export class DevnetError extends Error {}

/** What `POST /pay` answers. */
export interface DevnetPayResult {
  status: "succeeded" | "failed";
  payment_hash: string;
  preimage: string | null;
  fee_msat: number | null;
  amount_msat: number;
  failure: string | null;
  elapsed_ms: number;
}

/**
 * The control URL to use: `?control=` from the page URL when it is an http(s) URL, else the
 * stored one, else the default.
 */
export function controlUrlFrom(search: string, stored: string | null): string {
  const q = new URLSearchParams(search).get("control");
  if (q) {
    try {
      const u = new URL(q);
      if (u.protocol === "http:" || u.protocol === "https:") return q.replace(/\/+$/, "");
    } catch {
      /* fall through to the stored or default URL */
    }
  }
  return stored ?? DEFAULT_CONTROL_URL;
}

export class DevnetClient {
  constructor(readonly controlUrl: string) {}

  private async call(method: "GET" | "POST", path: string, body?: unknown, timeoutMs = 10_000): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(this.controlUrl + path, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch {
      throw new DevnetError(`The devnet control API at ${this.controlUrl} did not answer. Is the devnet running (./dev up)?`);
    }
    let json: unknown;
    try {
      json = await res.json();
    } catch {
      throw new DevnetError(`The devnet answered ${path} with something that is not JSON (HTTP ${res.status}).`);
    }
    if (!res.ok) {
      const code = typeof json === "object" && json !== null ? (json as { error?: unknown }).error : undefined;
      throw new DevnetError(`The devnet refused ${path} (HTTP ${res.status}${typeof code === "string" ? `, ${code}` : ""}).`);
    }
    return json;
  }

  /** The devnet's endpoints, checked. */
  async endpoints(): Promise<DevnetEndpoints> {
    const v = await this.call("GET", "/endpoints", undefined, 4_000);
    try {
      return parseEndpoints(v);
    } catch (e) {
      throw new DevnetError(`The devnet's endpoints are not usable: ${(e as Error).message}.`);
    }
  }

  /**
   * An id of this devnet run: its chain lives in memory and starts anew each run, so the hash of
   * block 1 differs between runs. A wallet stored for another run belongs to a chain that is gone.
   */
  async runId(esploraUrl: string): Promise<string> {
    let res: Response;
    try {
      res = await fetch(`${esploraUrl}/block-height/1`, { signal: AbortSignal.timeout(4_000) });
    } catch {
      throw new DevnetError(`The devnet's Esplora at ${esploraUrl} did not answer.`);
    }
    const text = (await res.text()).trim();
    if (!res.ok || !/^[0-9a-f]{64}$/.test(text)) throw new DevnetError("The devnet's chain has no block 1 yet.");
    return text.slice(-12);
  }

  /** Pays `invoice` from the devnet payer; resolves when the payment succeeded or failed. */
  async pay(invoice: string): Promise<DevnetPayResult> {
    const v = (await this.call("POST", "/pay", { invoice }, 180_000)) as DevnetPayResult;
    if (v.status !== "succeeded" && v.status !== "failed") throw new DevnetError("The devnet's /pay answer has no status.");
    return v;
  }

  /** An invoice of the devnet payer for `amountMsat`. */
  async invoice(amountMsat: number, description: string): Promise<string> {
    const v = (await this.call("POST", "/invoice", { amount_msat: amountMsat, description })) as { invoice?: unknown };
    if (typeof v.invoice !== "string") throw new DevnetError("The devnet's /invoice answer has no invoice.");
    return v.invoice;
  }

  /** Mines `count` blocks. */
  async mine(count: number): Promise<number> {
    const v = (await this.call("POST", "/mine", { count }, 60_000)) as { height?: unknown };
    return typeof v.height === "number" ? v.height : NaN;
  }
}
