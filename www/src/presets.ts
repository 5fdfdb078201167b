/**
 * Network presets offered in the settings: the local devnet with either of its LSPs, and the
 * public REST ("flow") LSPs of Olympus by ZEUS with a public Esplora for their network.
 */
import type { Network } from "./api.js";

export type PresetId = "devnet-flow" | "devnet-lsps2" | "mutinynet" | "testnet3" | "mainnet" | "custom";

/** A public flow LSP preset: everything but the websocket proxy, which the user provides. */
export interface PublicPreset {
  network: Network;
  lspUrl: string;
  esploraUrl: string;
}

export const PUBLIC_PRESETS: Readonly<Record<"mutinynet" | "testnet3" | "mainnet", PublicPreset>> = {
  mutinynet: { network: "signet", lspUrl: "https://mutinynet-flow.lnolymp.us", esploraUrl: "https://mutinynet.com/api" },
  testnet3: { network: "testnet", lspUrl: "https://testnet-0conf.lnolymp.us", esploraUrl: "https://blockstream.info/testnet/api" },
  mainnet: { network: "bitcoin", lspUrl: "https://0conf.lnolymp.us", esploraUrl: "https://blockstream.info/api" },
};

/** Presets in the order the picker shows them, with their labels. */
export const PRESET_LABELS: ReadonlyArray<[PresetId, string]> = [
  ["devnet-flow", "devnet (flow LSP)"],
  ["devnet-lsps2", "devnet (LSPS2 LSP)"],
  ["mutinynet", "Mutinynet (flow LSP)"],
  ["testnet3", "testnet3 (flow LSP)"],
  ["mainnet", "mainnet (flow LSP)"],
  ["custom", "custom"],
];

/** True for the two devnet presets. */
export function isDevnetPreset(id: PresetId): id is "devnet-flow" | "devnet-lsps2" {
  return id === "devnet-flow" || id === "devnet-lsps2";
}

export function presetLabel(id: PresetId): string {
  return PRESET_LABELS.find(([p]) => p === id)?.[1] ?? id;
}
