/**
 * The devnet's endpoints JSON (`GET {control}/endpoints`, or `devnet-endpoints.json`), checked
 * field by field so a wrong or partial answer is refused here rather than deep in the wallet.
 */

/** A node reachable over TCP. */
export interface NodeEndpoint {
  nodeId: string;
  host: string;
  port: number;
}

/** The devnet's parts, as the app uses them (camelCase). */
export interface DevnetEndpoints {
  network: "regtest";
  esploraUrl: string;
  controlUrl: string;
  proxyUrl: string;
  /** The Rapid Gossip Sync server (null from a devnet that has none). */
  rgsUrl: string | null;
  flowLsp: NodeEndpoint & { url: string };
  lsps2Lsp: NodeEndpoint;
  payer: NodeEndpoint;
}

/** Thrown when the endpoints JSON is not what the devnet writes. */
export class EndpointsError extends Error {}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new EndpointsError(`${what} is not an object`);
  return v as Record<string, unknown>;
}

function str(o: Record<string, unknown>, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== "string" || v === "") throw new EndpointsError(`${what}.${key} is missing`);
  return v;
}

function url(o: Record<string, unknown>, key: string, what: string, schemes: string[]): string {
  const v = str(o, key, what);
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new EndpointsError(`${what}.${key} is not a URL`);
  }
  if (!schemes.includes(u.protocol)) throw new EndpointsError(`${what}.${key} must be ${schemes.join(" or ")}`);
  return v.replace(/\/+$/, "");
}

function node(v: unknown, what: string): NodeEndpoint {
  const o = obj(v, what);
  const nodeId = str(o, "node_id", what);
  if (!/^0[23][0-9a-f]{64}$/.test(nodeId)) throw new EndpointsError(`${what}.node_id is not a node id`);
  const host = str(o, "host", what);
  const port = o.port;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new EndpointsError(`${what}.port is not a port`);
  }
  return { nodeId, host, port };
}

/** Parses and checks the endpoints JSON value. Throws `EndpointsError` naming the bad field. */
export function parseEndpoints(v: unknown): DevnetEndpoints {
  const o = obj(v, "endpoints");
  if (o.network !== "regtest") throw new EndpointsError("endpoints.network is not regtest");
  const flow = obj(o.flow_lsp, "flow_lsp");
  return {
    network: "regtest",
    esploraUrl: url(o, "esplora_url", "endpoints", ["http:", "https:"]),
    controlUrl: url(o, "control_url", "endpoints", ["http:", "https:"]),
    proxyUrl: url(o, "proxy_url", "endpoints", ["ws:", "wss:"]),
    // Absent from a devnet older than its RGS server.
    rgsUrl: o.rgs_url === undefined ? null : url(o, "rgs_url", "endpoints", ["http:", "https:"]),
    flowLsp: { ...node(flow, "flow_lsp"), url: url(flow, "url", "flow_lsp", ["http:", "https:"]) },
    lsps2Lsp: node(o.lsps2_lsp, "lsps2_lsp"),
    payer: node(o.payer, "payer"),
  };
}

/** `host:port`, with an IPv6 host in brackets. */
export function hostPort(n: NodeEndpoint): string {
  return n.host.includes(":") ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`;
}
