import assert from "node:assert/strict";
import { test } from "node:test";
import { parseEndpoints } from "../../src/devnet-endpoints.js";
import {
  backupConfirmed,
  confirmBackup,
  loadSettings,
  presetSettings,
  saveSettings,
  toWalletConfig,
  validateSettings,
  type DevnetInfo,
} from "../../src/settings.js";

const FLOW_ID = "02" + "ab".repeat(32);
const LSPS2_ID = "03" + "cd".repeat(32);
const PAYER_ID = "02" + "ef".repeat(32);

function endpointsJson(): Record<string, unknown> {
  return {
    network: "regtest",
    esplora_url: "http://127.0.0.1:3002",
    control_url: "http://127.0.0.1:3003",
    proxy_url: "ws://127.0.0.1:3004",
    flow_lsp: { url: "http://127.0.0.1:3005/", node_id: FLOW_ID, host: "127.0.0.1", port: 9736 },
    lsps2_lsp: { node_id: LSPS2_ID, host: "127.0.0.1", port: 9735 },
    payer: { node_id: PAYER_ID, host: "127.0.0.1", port: 9737 },
  };
}

function devnet(): DevnetInfo {
  return { endpoints: parseEndpoints(endpointsJson()), runId: "a1b2c3d4e5f6", controlUrl: "http://127.0.0.1:3003" };
}

class MemStorage {
  private m = new Map<string, string>();
  getItem(k: string): string | null {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string): void {
    this.m.set(k, v);
  }
}

test("devnet flow preset becomes a flow config pinned to the devnet LSP", () => {
  const s = presetSettings("devnet-flow", devnet(), null)!;
  assert.deepEqual(validateSettings(s), []);
  assert.equal(s.storageName, "tabnode-devnet-flow-a1b2c3d4e5f6");
  assert.deepEqual(toWalletConfig(s), {
    network: "regtest",
    esploraUrl: "http://127.0.0.1:3002",
    proxyUrl: "ws://127.0.0.1:3004",
    storageName: "tabnode-devnet-flow-a1b2c3d4e5f6",
    lsp: { protocol: "flow", url: "http://127.0.0.1:3005", nodeId: FLOW_ID },
  });
});

test("devnet LSPS2 preset becomes an LSPS2 config with host:port", () => {
  const s = presetSettings("devnet-lsps2", devnet(), null)!;
  assert.deepEqual(validateSettings(s), []);
  assert.deepEqual(toWalletConfig(s).lsp, { protocol: "lsps2", nodeId: LSPS2_ID, address: "127.0.0.1:9735" });
});

test("devnet presets need the devnet", () => {
  assert.equal(presetSettings("devnet-flow", null, null), null);
});

test("public presets need a proxy and secure URLs", () => {
  const s = presetSettings("mutinynet", null, null)!;
  assert.equal(s.network, "signet");
  assert.deepEqual(validateSettings(s).map((p) => p.field), ["proxyUrl"]);
  assert.deepEqual(validateSettings({ ...s, proxyUrl: "wss://proxy.example" }), []);
  assert.deepEqual(validateSettings({ ...s, proxyUrl: "ws://proxy.example" }).map((p) => p.field), ["proxyUrl"]);
  assert.deepEqual(validateSettings({ ...s, proxyUrl: "ws://127.0.0.1:3004" }), []);
  assert.deepEqual(validateSettings({ ...s, proxyUrl: "wss://p", esploraUrl: "http://esplora.example" }).map((p) => p.field), ["esploraUrl"]);
});

test("validation names every bad field", () => {
  const s = presetSettings("devnet-lsps2", devnet(), null)!;
  const bad = { ...s, lspNodeId: "04" + "00".repeat(32), lspAddress: "no-port", storageName: "has space", lspToken: "a b" };
  assert.deepEqual(validateSettings(bad).map((p) => p.field).sort(), ["lspAddress", "lspNodeId", "lspToken", "storageName"]);
});

test("a restore config carries the normalised phrase; a token is passed when set", () => {
  const s = { ...presetSettings("devnet-flow", devnet(), null)!, lspToken: "t0ken" };
  const c = toWalletConfig(s, "  Abandon  abandon\nABOUT ");
  assert.equal(c.mnemonic, "abandon abandon about");
  assert.deepEqual(c.lsp, { protocol: "flow", url: "http://127.0.0.1:3005", nodeId: FLOW_ID, token: "t0ken" });
});

test("settings and backup flags round-trip through storage", () => {
  const st = new MemStorage();
  assert.equal(loadSettings(st), null);
  const s = presetSettings("devnet-lsps2", devnet(), null)!;
  saveSettings(st, s);
  assert.deepEqual(loadSettings(st), s);
  st.setItem("tabnode-www.settings", "{not json");
  assert.equal(loadSettings(st), null);
  st.setItem("tabnode-www.settings", JSON.stringify({ preset: "mainnet" }));
  assert.equal(loadSettings(st), null);
  assert.equal(backupConfirmed(st, "w"), false);
  confirmBackup(st, "w");
  assert.equal(backupConfirmed(st, "w"), true);
  assert.equal(backupConfirmed(st, "other"), false);
});

test("parseEndpoints refuses wrong or partial endpoints", () => {
  const mutate = (f: (j: Record<string, any>) => void) => {
    const j = endpointsJson() as Record<string, any>;
    f(j);
    return () => parseEndpoints(j);
  };
  assert.throws(mutate((j) => (j.network = "bitcoin")), /network/);
  assert.throws(mutate((j) => (j.proxy_url = "http://127.0.0.1:3004")), /proxy_url/);
  assert.throws(mutate((j) => delete j.lsps2_lsp), /lsps2_lsp/);
  assert.throws(mutate((j) => (j.payer.port = 70000)), /payer.port/);
  assert.throws(mutate((j) => (j.flow_lsp.node_id = "xyz")), /flow_lsp.node_id/);
  assert.throws(() => parseEndpoints(null), /endpoints/);
  const ok = parseEndpoints({ ...endpointsJson(), lsps2_lsp: { node_id: LSPS2_ID, host: "::1", port: 9735 } });
  assert.equal(ok.flowLsp.url, "http://127.0.0.1:3005");
});
