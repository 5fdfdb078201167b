// Builds www/ with Vite and serves it (`vite preview`) or runs the dev server, on a free loopback
// port, for the browser tests. Every server started here is stopped by its `stop()`.
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const WWW_DIR = fileURLToPath(new URL("../../", import.meta.url));
const VITE = `${WWW_DIR}node_modules/.bin/vite`;

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** `vite build --outDir outDir` with `env` added; throws with Vite's output on failure. */
export function build(outDir, env = {}) {
  const r = spawnSync(VITE, ["build", "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"], {
    cwd: WWW_DIR,
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`vite build failed:\n${r.stdout}\n${r.stderr}`);
}

async function waitForHttp(url, child, output, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`vite exited early (${child.exitCode}):\n${output.join("")}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`vite did not serve ${url} within ${timeoutMs} ms:\n${output.join("")}`);
}

/**
 * Starts `vite preview` (outDir given) or `vite` (dev, outDir null) in the Vite app at `cwd`
 * (www/ by default); resolves once it serves.
 */
export async function serve({ outDir = null, env = {}, cwd = WWW_DIR } = {}) {
  const port = await freePort();
  const args = outDir
    ? ["preview", "--outDir", outDir, "--host", "127.0.0.1", "--port", String(port), "--strictPort"]
    : ["--host", "127.0.0.1", "--port", String(port), "--strictPort"];
  const vite = cwd === WWW_DIR ? VITE : `${cwd.replace(/\/?$/, "/")}node_modules/.bin/vite`;
  const child = spawn(vite, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const output = [];
  child.stdout.on("data", (d) => output.push(String(d)));
  child.stderr.on("data", (d) => output.push(String(d)));
  const url = `http://127.0.0.1:${port}/`;
  try {
    await waitForHttp(url, child, output);
  } catch (e) {
    child.kill("SIGTERM");
    throw e;
  }
  return {
    url,
    output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
