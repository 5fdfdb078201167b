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

echo "== tsc --noEmit (the package's types as a consumer sees them; then its .d.ts checked strictly)"
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
