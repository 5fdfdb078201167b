/**
 * The settings form, used by the setup screen and the settings screen: network preset picker and
 * the connection fields, each labelled. Choosing a preset fills the fields; a devnet preset asks
 * the devnet's control API for its endpoints first.
 */
import type { Network } from "./api.js";
import { networkName } from "./bolt11.js";
import { alertLine, field, h, replace } from "./dom.js";
import { PRESET_LABELS, isDevnetPreset, type PresetId } from "./presets.js";
import { NETWORKS, presetSettings, type DevnetInfo, type FieldProblem, type Settings } from "./settings.js";

export interface SettingsForm {
  el: HTMLElement;
  /** The settings as the form shows them now. */
  read(): Settings;
  /** Marks the fields with problems (and clears the others). */
  showProblems(problems: FieldProblem[]): void;
  /** True while a devnet preset is chosen but the devnet could not be reached. */
  blocked(): boolean;
}

export interface SettingsFormOptions {
  initial: Settings;
  /** Asks the devnet control API at `controlUrl` for its endpoints and run id. */
  probeDevnet(controlUrl: string): Promise<DevnetInfo>;
  /** The control URL to probe when a devnet preset is picked. */
  controlUrl: string;
  /** Whether the connection fields start unfolded. */
  open: boolean;
}

type FieldKey = "network" | "esploraUrl" | "proxyUrl" | "lspProtocol" | "lspUrl" | "lspNodeId" | "lspAddress" | "lspToken" | "storageName" | "controlUrl";

export function settingsForm(opts: SettingsFormOptions): SettingsForm {
  let current: Settings = { ...opts.initial };
  let devnetDown = false;

  const preset = h("select", { name: "preset" });
  for (const [id, label] of PRESET_LABELS) preset.append(h("option", { value: id }, label));

  const network = h("select", { name: "network" });
  for (const n of NETWORKS) network.append(h("option", { value: n }, networkName(n)));
  const protocol = h("select", { name: "lspProtocol" });
  protocol.append(h("option", { value: "flow" }, "flow (REST wrapped invoices)"), h("option", { value: "lsps2" }, "LSPS2"));

  const text = (name: string, type = "text") => h("input", { type, name, autocomplete: "off", spellcheck: "false" });
  const inputs = {
    esploraUrl: text("esploraUrl", "url"),
    proxyUrl: text("proxyUrl", "url"),
    lspUrl: text("lspUrl", "url"),
    lspNodeId: text("lspNodeId"),
    lspAddress: text("lspAddress"),
    lspToken: text("lspToken", "password"),
    storageName: text("storageName"),
    controlUrl: text("controlUrl", "url"),
  };
  const fields: Record<FieldKey, HTMLDivElement> = {
    network: field("Network", network),
    esploraUrl: field("Esplora URL", inputs.esploraUrl, "The block explorer API the wallet watches the chain with."),
    proxyUrl: field("Websocket proxy URL", inputs.proxyUrl, "Browsers cannot open TCP connections: Lightning peers are reached through this proxy."),
    lspProtocol: field("LSP protocol", protocol),
    lspUrl: field("LSP URL", inputs.lspUrl),
    lspNodeId: field("LSP node id", inputs.lspNodeId),
    lspAddress: field("LSP address", inputs.lspAddress, "host:port of the LSP's Lightning node."),
    lspToken: field("LSP access token", inputs.lspToken, "Only if your LSP gave you one."),
    storageName: field("Storage name", inputs.storageName, "The name this wallet is stored under in this browser."),
    controlUrl: field("Devnet control URL", inputs.controlUrl),
  };
  const devnetNote = h("div", { class: "devnet-note" });

  const details = h(
    "details",
    { class: "connection", open: opts.open },
    h("summary", {}, "Connection settings"),
    ...Object.values(fields),
  );
  const el = h("fieldset", { class: "settings-form" }, h("legend", {}, "Network and LSP"), field("Network preset", preset), devnetNote, details);

  function fill(s: Settings): void {
    current = { ...s };
    preset.value = s.preset;
    network.value = s.network;
    protocol.value = s.lspProtocol;
    inputs.esploraUrl.value = s.esploraUrl;
    inputs.proxyUrl.value = s.proxyUrl;
    inputs.lspUrl.value = s.lspUrl;
    inputs.lspNodeId.value = s.lspNodeId;
    inputs.lspAddress.value = s.lspAddress;
    inputs.lspToken.value = s.lspToken;
    inputs.storageName.value = s.storageName;
    inputs.controlUrl.value = s.controlUrl ?? opts.controlUrl;
    showProtocolFields();
  }

  function showProtocolFields(): void {
    const flow = protocol.value === "flow";
    fields.lspUrl.hidden = !flow;
    fields.lspAddress.hidden = flow;
    fields.controlUrl.hidden = !isDevnetPreset(preset.value as PresetId);
    const lbl = fields.lspNodeId.querySelector("label");
    if (lbl) lbl.textContent = flow ? "LSP node id (optional pin)" : "LSP node id";
  }

  async function choosePreset(id: PresetId): Promise<void> {
    replace(devnetNote);
    devnetDown = false;
    if (isDevnetPreset(id)) {
      const controlUrl = inputs.controlUrl.value.trim() || opts.controlUrl;
      replace(devnetNote, h("p", { class: "hint", role: "status" }, `Asking the devnet at ${controlUrl}…`));
      el.setAttribute("aria-busy", "true");
      try {
        const info = await opts.probeDevnet(controlUrl);
        const s = presetSettings(id, info, controlUrl);
        if (s) fill(s);
        replace(devnetNote, h("p", { class: "hint" }, `Devnet found at ${controlUrl}.`));
      } catch (e) {
        devnetDown = true;
        const retry = h("button", { type: "button", onclick: () => void choosePreset(preset.value as PresetId) }, "Retry");
        replace(
          devnetNote,
          alertLine(`${(e as Error).message} Start it with ./dev up, then retry.`),
          retry,
        );
        preset.value = id;
        inputs.controlUrl.value = controlUrl;
        fields.controlUrl.hidden = false;
        details.open = true;
      } finally {
        el.setAttribute("aria-busy", "false");
      }
      return;
    }
    const s = presetSettings(id, null, null);
    if (s) fill(s);
  }

  preset.addEventListener("change", () => void choosePreset(preset.value as PresetId));
  protocol.addEventListener("change", showProtocolFields);
  fill(current);
  if (isDevnetPreset(current.preset) && current.controlUrl) {
    replace(devnetNote, h("p", { class: "hint" }, `Devnet found at ${current.controlUrl}.`));
  }

  return {
    el,
    read(): Settings {
      const p = preset.value as PresetId;
      return {
        ...current,
        preset: p,
        network: network.value as Network,
        esploraUrl: inputs.esploraUrl.value.trim().replace(/\/+$/, ""),
        proxyUrl: inputs.proxyUrl.value.trim().replace(/\/+$/, ""),
        lspProtocol: protocol.value === "lsps2" ? "lsps2" : "flow",
        lspUrl: inputs.lspUrl.value.trim().replace(/\/+$/, ""),
        lspNodeId: inputs.lspNodeId.value.trim().toLowerCase(),
        lspAddress: inputs.lspAddress.value.trim(),
        lspToken: inputs.lspToken.value.trim(),
        storageName: inputs.storageName.value.trim(),
        controlUrl: isDevnetPreset(p) ? inputs.controlUrl.value.trim().replace(/\/+$/, "") || null : null,
      };
    },
    showProblems(problems: FieldProblem[]): void {
      for (const [key, wrap] of Object.entries(fields)) {
        wrap.querySelector(".field-error")?.remove();
        const control = wrap.querySelector("input, select");
        control?.removeAttribute("aria-invalid");
        const p = problems.find((x) => x.field === key);
        if (p && control) {
          control.setAttribute("aria-invalid", "true");
          wrap.append(h("p", { class: "field-error error" }, p.problem));
          details.open = true;
        }
      }
    },
    blocked: () => devnetDown,
  };
}
