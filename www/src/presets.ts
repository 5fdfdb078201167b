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
  /** The LSP's node id where it is published (pinned: trusted and no other), else "" (trusted on first use). */
  lspNodeId: string;
  esploraUrl: string;
}

/**
 * Olympus by ZEUS since its move of Aug 2026 (the same as src/config.rs's `Preset`). None was
 * tried live from the test machines (loopback only).
 */
export const PUBLIC_PRESETS: Readonly<Record<"mutinynet" | "testnet3" | "mainnet", PublicPreset>> = {
  mutinynet: { network: "signet", lspUrl: "https://flow.mutinynet.zeuslsp.com", lspNodeId: "", esploraUrl: "https://mutinynet.com/api" },
  testnet3: { network: "testnet", lspUrl: "https://flow.testnet.zeuslsp.com", lspNodeId: "", esploraUrl: "https://blockstream.info/testnet/api" },
  mainnet: {
    network: "bitcoin",
    lspUrl: "https://flow.zeuslsp.com",
    lspNodeId: "031b301307574bbe9b9ac7b79cbe1700e31e544513eae0b5d7497483083f99e581",
    esploraUrl: "https://blockstream.info/api",
  },
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
