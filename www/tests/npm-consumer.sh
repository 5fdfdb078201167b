#!/usr/bin/env bash
# "npm pack installs into a fresh Vite app that opens a wallet":
#   packs pkg/ with `npm pack`, creates a fresh Vite app in a temp dir, installs the tarball,
#   writes a main.ts that does `import init, { Wallet } from "tabnode"`, type-checks it against
#   the package's .d.ts, builds it with vite, checks the build output carries the package's wasm
#   byte for byte, then opens the built app in Chromium: the wasm starts and `Wallet.exists`
#   answers; with DEVNET_CONTROL set (a running devnet) it also opens a wallet.
#
#   bash tests/npm-consumer.sh            (TABNODE_PKG=dir to pack another build of the package)
set -euo pipefail
WWW=$(cd "$(dirname "$0")/.." && pwd)
PKG=$(cd "$WWW/.." && realpath -m "${TABNODE_PKG:-pkg}")
[ -f "$PKG/package.json" ] && [ -f "$PKG/tabnode_bg.wasm" ] || {
  echo "npm-consumer: no built package at $PKG (run ./dev pkg in the repository root: wasm-pack build --profile wasm-release --target web)" >&2
  exit 1
}
# The same Vite and TypeScript as www/, so the check is reproducible.
version() { node -p "require('$WWW/package.json').devDependencies['$1']"; }
VITE_VERSION=$(version vite)
TS_VERSION=$(version typescript)

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "== npm pack $PKG"
TARBALL=$(cd "$TMP" && npm pack "$PKG" --silent 2>/dev/null | tail -1)
echo "   $TARBALL ($(du -h "$TMP/$TARBALL" | cut -f1))"

APP="$TMP/app"
mkdir -p "$APP/src"
cat > "$APP/package.json" <<JSON
{ "name": "tabnode-consumer", "private": true, "type": "module" }
JSON
cat > "$APP/index.html" <<'HTML'
<!doctype html>
<html lang="en"><head><meta charset="utf-8" /><title>tabnode consumer</title></head>
<body><pre id="result"></pre><script type="module" src="/src/main.ts"></script></body></html>
HTML
cat > "$APP/src/main.ts" <<'TS'
import init, { Wallet } from "tabnode";

const out = document.getElementById("result") as HTMLElement;
function report(v: unknown): void {
  out.textContent = JSON.stringify(v);
  out.dataset.done = "1";
}

async function run(): Promise<void> {
  await init();
  const exists = await Wallet.exists("npm-consumer-check");
  const result: Record<string, unknown> = { init: "ok", exists };
  const control = new URLSearchParams(location.search).get("control");
  if (control) {
    const e = await (await fetch(`${control}/endpoints`)).json();
    const wallet = await Wallet.open({
      network: "regtest",
      esploraUrl: e.esplora_url,
      proxyUrl: e.proxy_url,
      storageName: `npm-consumer-${Date.now()}`,
      lsp: { protocol: "lsps2", nodeId: e.lsps2_lsp.node_id, address: `${e.lsps2_lsp.host}:${e.lsps2_lsp.port}` },
    });
    result.nodeId = wallet.nodeId;
    await wallet.stop();
  }
  report(result);
}

run().catch((e: unknown) => report({ error: String((e as { code?: unknown })?.code ?? e) }));
TS
# The contract as restated by hand, type-checked below against the built package's class: the
# demo wallet's copy (www/src/api.ts, which type-checks before pkg/ exists) and the `class Wallet`
# block of docs/js-api.md. Each member must have the package's type, and none may be missing. The
# stand-in wallet of the smoke test is held to www/src/api.ts by www's `npm run typecheck`.
mkdir -p "$APP/src/contract"
cp "$WWW/../src/js_types.d.ts" "$APP/src/contract/js_types.d.ts"
sed 's#"../../src/js_types.js"#"./js_types.js"#' "$WWW/src/api.ts" > "$APP/src/contract/www-api.ts"
{
  echo 'import type { Balance, Channel, Network, OnchainQuote, OnchainSendOptions, OnchainSendRequest, OnchainSent, OnchainTransaction, Payment, PayResult, ReceiveRequest, ReceiveResult, StopOptions, StopReport, WalletConfig, WalletEventDetailMap, WalletEventType } from "tabnode";'
  awk '/^export type WalletEventListener/ { print } /^export class Wallet \{/ { on = 1 } on { print } on && /^\}/ { exit }' \
    "$WWW/../docs/js-api.md" | sed 's/^export class Wallet {/export declare class DocWallet {/; s/Promise<Wallet>/Promise<DocWallet>/'
} > "$APP/src/contract/docs-api.ts"
grep -q "export declare class DocWallet" "$APP/src/contract/docs-api.ts" || { echo "docs/js-api.md has no 'export class Wallet {' block" >&2; exit 1; }
# The package README's example, as a consumer would paste it (`show` is the app's own function).
{
  echo 'declare function show(invoice: string, feeMsat: number): void;'
  awk '/^```ts$/ { on = 1; next } on && /^```$/ { exit } on { print }' "$WWW/../docs/package-readme.md"
} > "$APP/src/contract/readme-example.ts"
grep -q "Wallet.open" "$APP/src/contract/readme-example.ts" || { echo "docs/package-readme.md has no ts example" >&2; exit 1; }
cat > "$APP/src/contract/check.ts" <<'TS'
import { Wallet } from "tabnode";
import type { ReceiveState } from "tabnode";
import type { DocWallet } from "./docs-api.js";
import type { Wallet as WwwWallet, WalletClass as WwwWalletClass } from "./www-api.js";

/** True when A and B are the same type, not merely assignable one to the other. */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** The members of a hand-written `Copy` whose type is not the package's, and the package's members it lacks. */
type Drift<Copy, Real> = {
  differ: { [K in keyof Copy]: K extends keyof Real ? (Same<Copy[K], Real[K]> extends true ? never : K) : K }[keyof Copy];
  missing: Exclude<keyof Real, keyof Copy | "free" | "prototype" | "open" | symbol | number>;
};
/** `true` when there is no drift; else the drift itself, which the compiler prints. */
type NoDrift<D extends { differ: unknown; missing: unknown }> = [D["differ"], D["missing"]] extends [never, never] ? true : { differ: D["differ"]; missing: D["missing"] };

export const wwwInstance: NoDrift<Drift<WwwWallet, Wallet>> = true;
export const docsInstance: NoDrift<Drift<DocWallet, Wallet>> = true;
// The static side (`open` returns each copy's own instance type, so its parameters are compared).
export const wwwStatic: NoDrift<Drift<Omit<WwwWalletClass, "open">, typeof Wallet>> = true;
export const docsStatic: NoDrift<Drift<Omit<typeof DocWallet, "prototype" | "open">, typeof Wallet>> = true;
export const wwwOpen: Same<Parameters<WwwWalletClass["open"]>, Parameters<typeof Wallet.open>> = true;
export const docsOpen: Same<Parameters<typeof DocWallet.open>, Parameters<typeof Wallet.open>> = true;

/** Listeners get each event's own `detail` type, not `any`. */
export function listen(w: Wallet): void {
  w.addEventListener("receive_state", (e) => {
    const state: ReceiveState = e.detail.state;
    void state;
  });
  w.addEventListener("error", (e) => {
    const fatal: boolean = e.detail.fatal;
    void fatal;
  });
  // @ts-expect-error a payment_received detail is a Payment, which has no `state`
  w.addEventListener("payment_received", (e) => e.detail.state);
}
TS
# The tsconfig of create-vite's vanilla-ts template (what a fresh Vite app has)...
cat > "$APP/tsconfig.json" <<'JSON'
{ "compilerOptions": { "target": "ES2022", "useDefineForClassFields": true, "module": "ESNext",
  "lib": ["ES2022", "DOM", "DOM.Iterable"], "skipLibCheck": true, "moduleResolution": "Bundler",
  "allowImportingTsExtensions": true, "verbatimModuleSyntax": true, "moduleDetection": "force",
  "noEmit": true, "strict": true, "noUnusedLocals": true, "noUnusedParameters": true,
  "noFallthroughCasesInSwitch": true }, "include": ["src"] }
JSON
# ...and a strict one that also checks the package's own declarations (tabnode.d.ts uses
# Symbol.dispose, declared by ESNext.Disposable).
cat > "$APP/tsconfig.strict.json" <<'JSON'
{ "extends": "./tsconfig.json", "compilerOptions": { "skipLibCheck": false,
  "lib": ["ES2022", "DOM", "DOM.Iterable", "ESNext.Disposable"] } }
JSON

echo "== npm install the tarball, vite@$VITE_VERSION, typescript@$TS_VERSION"
(cd "$APP" && npm install --no-audit --no-fund --loglevel=error "../$TARBALL" "vite@$VITE_VERSION" "typescript@$TS_VERSION")

echo "== tsc --noEmit (the package's types as a consumer sees them, the docs' and www's copies of the Wallet class against them; then its .d.ts checked strictly)"
(cd "$APP" && ./node_modules/.bin/tsc --noEmit -p tsconfig.json && ./node_modules/.bin/tsc --noEmit -p tsconfig.strict.json)
[ -s "$APP/node_modules/tabnode/README.md" ] && grep -q 'from "tabnode"' "$APP/node_modules/tabnode/README.md" \
  || { echo "the installed package has no README showing the import" >&2; exit 1; }

echo "== vite build"
(cd "$APP" && ./node_modules/.bin/vite build --logLevel warn)

echo "== the build output carries the package's wasm"
shopt -s nullglob
WASMS=("$APP"/dist/assets/*.wasm)
[ ${#WASMS[@]} -eq 1 ] || { echo "expected one .wasm in dist/assets, found ${#WASMS[@]}" >&2; ls -la "$APP/dist/assets" >&2; exit 1; }
cmp "${WASMS[0]}" "$PKG/tabnode_bg.wasm" || { echo "dist wasm differs from the package's" >&2; exit 1; }
grep -q "$(basename "${WASMS[0]}")" "$APP"/dist/assets/*.js || { echo "no JS chunk refers to $(basename "${WASMS[0]}")" >&2; exit 1; }
echo "   $(basename "${WASMS[0]}") ($(du -h "${WASMS[0]}" | cut -f1)), identical to pkg/tabnode_bg.wasm, referenced by the JS"

echo "== open the built app in Chromium"
CONTROL=""
if [ -n "${DEVNET_CONTROL:-}" ]; then CONTROL=$DEVNET_CONTROL; fi
node "$WWW/tests/lib/consumer-check.mjs" "$APP" $CONTROL
echo "npm-consumer: ok"
