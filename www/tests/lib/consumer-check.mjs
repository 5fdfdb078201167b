// Opens the fresh Vite app that tests/npm-consumer.sh built from the packed package, in Chromium,
// and prints what its page reports: the package's wasm initialised, `Wallet.exists` answered, and,
// when a devnet control URL is given, a wallet opened (its node id).
//   node tests/lib/consumer-check.mjs APP_DIR [CONTROL_URL]
import { launch, newPage } from "./browser.mjs";
import { serve } from "./serve.mjs";

const [appDir, controlUrl] = process.argv.slice(2);
const server = await serve({ outDir: `${appDir}/dist`, cwd: appDir });
const browser = await launch();
let code = 1;
try {
  const page = await newPage(await browser.newContext());
  const url = new URL(server.url);
  if (controlUrl) url.searchParams.set("control", controlUrl);
  await page.goto(url.toString());
  const result = page.locator("#result[data-done]");
  await result.waitFor({ timeout: 120_000 });
  const v = JSON.parse(await result.textContent());
  console.log(`consumer page: ${JSON.stringify(v)}`);
  const ok = v.init === "ok" && v.exists === false && (!controlUrl || /^0[23][0-9a-f]{64}$/.test(v.nodeId ?? ""));
  if (!ok) console.error("consumer page did not report what was expected", page.problems);
  code = ok ? 0 : 1;
} finally {
  await browser.close();
  await server.stop();
}
process.exit(code);
