/**
 * The app's settings: what the settings form edits, how they are checked and stored, and how they
 * become the wallet's `WalletConfig`. Pure apart from `loadSettings`/`saveSettings`, which take
 * the storage to use.
 */
import type { Network, WalletConfig } from "./api.js";
import type { DevnetEndpoints } from "./devnet-endpoints.js";
import { hostPort } from "./devnet-endpoints.js";
import { PUBLIC_PRESETS, isDevnetPreset, type PresetId } from "./presets.js";

/** The settings form's fields, flat. */
export interface Settings {
  preset: PresetId;
  network: Network;
  esploraUrl: string;
  proxyUrl: string;
  lspProtocol: "flow" | "lsps2";
  /** The flow LSP's base URL (flow only). */
  lspUrl: string;
  /** The LSP's node id: required for LSPS2, an optional pin for flow. */
  lspNodeId: string;
  /** The LSPS2 LSP's `host:port` (LSPS2 only). */
  lspAddress: string;
  /** An access token some LSPs ask for; empty for none. */
  lspToken: string;
  /** The IndexedDB name the wallet lives under. */
  storageName: string;
  /** The devnet control API (devnet presets only). */
  controlUrl: string | null;
  /** The devnet run these settings were made for (devnet presets only). */
  devnetRun: string | null;
  /** The devnet's Rapid Gossip Sync server (devnet presets only; otherwise the network's default). */
  rgsUrl: string | null;
}

/** What the devnet told us, for the devnet presets. */
export interface DevnetInfo {
  endpoints: DevnetEndpoints;
  runId: string;
  controlUrl: string;
}

export const NETWORKS: ReadonlyArray<Network> = ["regtest", "signet", "testnet", "bitcoin"];

const SETTINGS_KEY = "tabnode-www.settings";

/** The settings of a preset. A devnet preset needs `devnet`; returns null without it. */
export function presetSettings(id: PresetId, devnet: DevnetInfo | null, controlUrl: string | null): Settings | null {
  const blank = { lspToken: "", controlUrl: null, devnetRun: null, rgsUrl: null } as const;
  if (isDevnetPreset(id)) {
    if (!devnet) return null;
    const e = devnet.endpoints;
    const base = {
      ...blank,
      preset: id,
      network: "regtest" as const,
      esploraUrl: e.esploraUrl,
      proxyUrl: e.proxyUrl,
      controlUrl: devnet.controlUrl,
      devnetRun: devnet.runId,
      rgsUrl: e.rgsUrl,
    };
    return id === "devnet-flow"
      ? { ...base, lspProtocol: "flow", lspUrl: e.flowLsp.url, lspNodeId: e.flowLsp.nodeId, lspAddress: "", storageName: `tabnode-devnet-flow-${devnet.runId}` }
      : { ...base, lspProtocol: "lsps2", lspUrl: "", lspNodeId: e.lsps2Lsp.nodeId, lspAddress: hostPort(e.lsps2Lsp), storageName: `tabnode-devnet-lsps2-${devnet.runId}` };
  }
  if (id === "custom") {
    return {
      ...blank,
      preset: "custom",
      network: "signet",
      esploraUrl: "",
      proxyUrl: "",
      lspProtocol: "lsps2",
      lspUrl: "",
      lspNodeId: "",
      lspAddress: "",
      storageName: "tabnode-custom",
      controlUrl,
    };
  }
  const p = PUBLIC_PRESETS[id];
  return {
    ...blank,
    preset: id,
    network: p.network,
    esploraUrl: p.esploraUrl,
    proxyUrl: "",
    lspProtocol: "flow",
    lspUrl: p.lspUrl,
    lspNodeId: p.lspNodeId,
    lspAddress: "",
    storageName: `tabnode-${id}`,
  };
}

/** A problem with one field of the settings form. */
export interface FieldProblem {
  field: keyof Settings;
  problem: string;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function checkUrl(value: string, schemes: [string, string], secureOnly: boolean): string | null {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return "Enter a full URL.";
  }
  if (!schemes.includes(u.protocol)) return `Use a ${schemes.map((s) => s.replace(":", "")).join(" or ")} URL.`;
  if (secureOnly && u.protocol === schemes[0] && !isLoopback(u.hostname)) {
    return `Use ${schemes[1].replace(":", "")}: outside regtest, connections must be encrypted.`;
  }
  return null;
}

/** Every problem in `s`, field by field; empty when the settings can be used. */
export function validateSettings(s: Settings): FieldProblem[] {
  const out: FieldProblem[] = [];
  const secure = s.network !== "regtest";
  const add = (field: keyof Settings, problem: string | null) => {
    if (problem) out.push({ field, problem });
  };
  if (!NETWORKS.includes(s.network)) add("network", "Choose a network.");
  add("esploraUrl", s.esploraUrl ? checkUrl(s.esploraUrl, ["http:", "https:"], secure) : "Enter the Esplora URL.");
  add(
    "proxyUrl",
    s.proxyUrl
      ? checkUrl(s.proxyUrl, ["ws:", "wss:"], secure)
      : "Enter a websocket proxy URL: a browser reaches Lightning peers only through one.",
  );
  if (s.lspProtocol === "flow") {
    add("lspUrl", s.lspUrl ? checkUrl(s.lspUrl, ["http:", "https:"], secure) : "Enter the LSP's URL.");
    if (s.lspNodeId && !/^0[23][0-9a-f]{64}$/.test(s.lspNodeId)) add("lspNodeId", "A node id is 66 hex characters starting with 02 or 03.");
  } else if (s.lspProtocol === "lsps2") {
    if (!/^0[23][0-9a-f]{64}$/.test(s.lspNodeId)) add("lspNodeId", "A node id is 66 hex characters starting with 02 or 03.");
    if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(s.lspAddress)) add("lspAddress", "Enter the LSP's address as host:port.");
  } else {
    add("lspProtocol", "Choose flow or LSPS2.");
  }
  if (s.lspToken && !/^[\x21-\x7e]+$/.test(s.lspToken)) add("lspToken", "The token must be printable characters without spaces.");
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(s.storageName)) add("storageName", "Use 1 to 64 letters, digits, dots, dashes or underscores.");
  return out;
}

/** The wallet config for valid settings `s`, restoring from `mnemonic` when given. */
export function toWalletConfig(s: Settings, mnemonic?: string): WalletConfig {
  const token = s.lspToken ? { token: s.lspToken } : {};
  const lsp: WalletConfig["lsp"] =
    s.lspProtocol === "flow"
      ? { protocol: "flow", url: s.lspUrl, ...(s.lspNodeId ? { nodeId: s.lspNodeId } : {}), ...token }
      : { protocol: "lsps2", nodeId: s.lspNodeId, address: s.lspAddress, ...token };
  return {
    network: s.network,
    esploraUrl: s.esploraUrl,
    proxyUrl: s.proxyUrl,
    storageName: s.storageName,
    lsp,
    ...(s.rgsUrl ? { rgsUrl: s.rgsUrl } : {}),
    ...(mnemonic ? { mnemonic: mnemonic.trim().toLowerCase().split(/\s+/).join(" ") } : {}),
  };
}

function isSettings(v: unknown): v is Settings {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  const strs = ["preset", "network", "esploraUrl", "proxyUrl", "lspProtocol", "lspUrl", "lspNodeId", "lspAddress", "lspToken", "storageName"];
  return strs.every((k) => typeof o[k] === "string");
}

/** The stored settings, or null when none (or unreadable ones) are stored. */
export function loadSettings(storage: Pick<Storage, "getItem">): Settings | null {
  const raw = storage.getItem(SETTINGS_KEY);
  if (!raw) return null;
  try {
    const v: unknown = JSON.parse(raw);
    if (!isSettings(v)) return null;
    return { ...v, controlUrl: v.controlUrl ?? null, devnetRun: v.devnetRun ?? null, rgsUrl: v.rgsUrl ?? null };
  } catch {
    return null;
  }
}

export function saveSettings(storage: Pick<Storage, "setItem">, s: Settings): void {
  storage.setItem(SETTINGS_KEY, JSON.stringify(s));
}

const BACKUP_KEY = "tabnode-www.backed-up.";

/** True once the user confirmed writing down the recovery phrase of the wallet in `storageName`. */
export function backupConfirmed(storage: Pick<Storage, "getItem">, storageName: string): boolean {
  return storage.getItem(BACKUP_KEY + storageName) === "yes";
}

export function confirmBackup(storage: Pick<Storage, "setItem">, storageName: string): void {
  storage.setItem(BACKUP_KEY + storageName, "yes");
}
