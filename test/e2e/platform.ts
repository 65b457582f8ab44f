import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { SignJWT } from "jose";
import { unstable_startWorker } from "wrangler";
import { makeTestSecrets } from "../emulator-keys";

const ROOT = path.resolve(import.meta.dirname, "../..");
// Loopback only: miniflare would otherwise fetch the Request.cf placeholder from
// workers.cloudflare.com on start-up.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

export type LocalPlatform = {
  url: string;
  token(role: "user" | "admin", sub?: string): Promise<string>;
  stop(): Promise<void>;
};

/**
 * The real worker (wrangler.toml, static assets included) on a random loopback port,
 * with its own D1 persistence in a temp dir and fresh secrets. Stripe/Google are not
 * needed here, so their URLs keep the wrangler.toml values and are never called.
 */
export async function startPlatform(seedSql = ""): Promise<LocalPlatform> {
  const persist = mkdtempSync(path.join(tmpdir(), "edge-e2e-"));
  const wrangler = path.join(ROOT, "node_modules/.bin/wrangler");
  const d1 = (args: string[]) => {
    const res = spawnSync(wrangler, ["d1", ...args, "--local", "--persist-to", persist], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false" },
    });
    if (res.status !== 0) throw new Error(`wrangler d1 ${args[0]} failed: ${res.stderr || res.stdout}`);
  };
  d1(["migrations", "apply", "DB"]);
  d1(["migrations", "apply", "ANALYTICS_DB"]);
  // Rows the API cannot create here (payments need Stripe): written before the worker
  // starts, so only one process ever has the SQLite file open.
  if (seedSql) {
    const file = path.join(persist, "seed.sql");
    writeFileSync(file, seedSql);
    d1(["execute", "DB", "--file", file, "--yes"]);
  }

  const secrets = makeTestSecrets().platform;
  const worker = await unstable_startWorker({
    config: path.join(ROOT, "wrangler.toml"),
    bindings: Object.fromEntries(
      Object.entries(secrets).map(([name, value]) => [name, { type: "plain_text" as const, value }]),
    ),
    dev: {
      server: { hostname: "127.0.0.1", port: 0 },
      inspector: false,
      persist,
      watch: false,
      logLevel: "warn",
    },
  });
  await worker.ready;
  const url = (await worker.url).toString().replace(/\/$/, "");

  return {
    url,
    token: (role, sub = crypto.randomUUID()) =>
      new SignJWT({ role })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject(sub)
        .setIssuer("edge-platform")
        .setAudience("edge-platform-api")
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(new TextEncoder().encode(secrets.JWT_SECRET)),
    stop: async () => {
      await worker.dispose();
      rmSync(persist, { recursive: true, force: true });
    },
  };
}
