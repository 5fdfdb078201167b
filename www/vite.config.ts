// Vite config of the demo wallet.
//
// The wallet package is `tabnode` (`file:../pkg`, built by wasm-pack). TABNODE_PKG=/some/dir
// serves the page against a package built elsewhere. When the package is missing, `vite` (dev)
// still serves the page, which then explains how to build it; `vite build` stops with that message.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, searchForWorkspaceRoot, type Plugin } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));
const pkgDir = resolve(here, process.env.TABNODE_PKG ?? "../pkg");
const pkgJson = join(pkgDir, "package.json");
const MISSING_ID = "\0tabnode-missing";
const MISSING_TEXT = `the tabnode package is not built (no ${pkgJson}): run \`wasm-pack build --release --target web --out-dir pkg --out-name tabnode\` in the repository root`;

/** The package's entry file, from its package.json (`module`, else `main`). */
function pkgEntry(): string | null {
  if (!existsSync(pkgJson)) return null;
  const j = JSON.parse(readFileSync(pkgJson, "utf8")) as { module?: string; main?: string };
  const entry = j.module ?? j.main;
  return entry ? join(pkgDir, entry) : null;
}

function tabnodePackage(): Plugin {
  let command: "serve" | "build" = "serve";
  return {
    name: "tabnode-package",
    enforce: "pre",
    configResolved(c) {
      command = c.command;
    },
    resolveId(id) {
      if (id !== "tabnode") return null;
      const entry = pkgEntry();
      if (entry) return entry;
      if (command === "build") this.error(MISSING_TEXT);
      this.warn(MISSING_TEXT);
      return MISSING_ID;
    },
    load(id) {
      if (id !== MISSING_ID) return null;
      return `export default async function init() {
  const e = new Error(${JSON.stringify(MISSING_TEXT)});
  e.code = "package_missing";
  throw e;
}
export const Wallet = undefined;`;
    },
  };
}

/**
 * Where the built page may connect (fetch, websockets): `TABNODE_CONNECT_SRC`, space-separated
 * CSP sources, for a page built for real endpoints (e.g. `https://esplora.example
 * wss://proxy.example https://lsp.example`); by default the loopback devnet on any port.
 */
const CONNECT_SRC = process.env.TABNODE_CONNECT_SRC?.trim() || "http://127.0.0.1:* ws://127.0.0.1:*";

/**
 * The built page's Content-Security-Policy, as a `<meta>` (so it travels with the files, whatever
 * serves them): scripts only from the page's origin, WebAssembly compiled from fetched bytes
 * (`wasm-unsafe-eval`; no JS `eval`), connections only to `CONNECT_SRC`, no plugins, no `<base>`,
 * no form posts. `frame-ancestors` is ignored in a `<meta>`: it is a header (see `preview`). Not
 * in the dev server, whose hot reload injects inline styles.
 */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  `connect-src 'self' ${CONNECT_SRC}`,
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

/** Headers a server of the built page must send: the page may not be framed (clickjacking). */
const FRAME_HEADERS = { "Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY" };

function contentSecurityPolicy(): Plugin {
  return {
    name: "tabnode-csp",
    apply: "build",
    transformIndexHtml() {
      return [{ tag: "meta", attrs: { "http-equiv": "Content-Security-Policy", content: PAGE_CSP }, injectTo: "head-prepend" }];
    },
  };
}

export default defineConfig({
  plugins: [tabnodePackage(), contentSecurityPolicy()],
  // The wasm is loaded with `new URL("tabnode_bg.wasm", import.meta.url)`: keep the package out
  // of dependency pre-bundling so that URL stays next to its JS.
  optimizeDeps: { exclude: ["tabnode"] },
  // No source maps in what is shipped: the page holds a wallet, its sources need not be served.
  build: { target: "es2022", sourcemap: false },
  server: {
    host: "127.0.0.1",
    port: 5173,
    fs: { allow: [searchForWorkspaceRoot(here), pkgDir] },
  },
  preview: { host: "127.0.0.1", port: 4173, headers: FRAME_HEADERS },
});
