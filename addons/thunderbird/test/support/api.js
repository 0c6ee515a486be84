// The real missend API on a loopback port, over a fresh SQLite store in a temporary folder,
// started the way an administrator would: `missend token create`, `missend serve api`.
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** How to run `missend`: MISSEND_PYTHON (set by the pytest wrapper) or `missend` on PATH. */
function command(args) {
  const python = process.env.MISSEND_PYTHON;
  if (python) return [python, ["-c", "from missend.cli.app import main; main()", ...args]];
  return [process.env.MISSEND_BIN ?? "missend", args];
}

export async function missend(...args) {
  const [file, argv] = command(args);
  const { stdout } = await run(file, argv, { timeout: 60000 });
  return stdout.trim();
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(url, child, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`missend serve api exited with ${child.exitCode}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`missend serve api did not answer at ${url} within ${ms} ms`);
}

/**
 * Start the API with one client token per sender given; `prepare(db)` runs first (e.g. to learn
 * a sample history). Resolves to {baseUrl, tokens: {sender: token}, db, stop()}.
 */
export async function startApi({ senders, prepare } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "missend-addon-"));
  const db = `sqlite:///${join(dir, "store.sqlite3")}`;
  if (prepare) await prepare(db);
  const tokens = {};
  for (const sender of senders ?? []) {
    tokens[sender] = await missend("token", "create", "--role", "client", "--sender", sender, "--db", db);
  }
  const port = await freePort();
  const [file, argv] = command(["serve", "api", "--listen", `127.0.0.1:${port}`, "--db", db, "--log-level", "WARNING"]);
  const child = spawn(file, argv, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (chunk) => {
    log = (log + chunk).slice(-4000);
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${baseUrl}/healthz`, child, 30000);
  } catch (error) {
    child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${error.message}\n${log}`);
  }
  return {
    baseUrl,
    tokens,
    db,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
