import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { SignJWT } from "jose";
import { unstable_startWorker } from "wrangler";
import { makeTestSecrets } from "../emulator-keys";

const ROOT = path.resolve(import.meta.dirname, "../..");
// Loopback only: miniflare would otherwise fetch the Request.cf placeholder from
// workers.cloudflare.com on start-up.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

type Role = "user" | "merchant" | "admin";

export type LocalPlatform = {
  url: string;
  /** The emulators worker (Stripe, Google OAuth, FCM), when started with `emulators: true`. */
  emulatorUrl?: string;
  token(role: Role, sub?: string, claims?: { merchant_id?: string }): Promise<string>;
  stop(): Promise<void>;
};

export type PlatformOptions = {
  /** Rows the API cannot create (e.g. payments without Stripe), applied before start. */
  seedSql?: string;
  /**
   * Also run emulators/ (as `npm start` does on :8788) and point STRIPE_API_URL,
   * GOOGLE_TOKEN_URL and FCM_API_URL at it; the Stripe emulator pushes signed webhooks to the
   * platform's /api/v1/payments/webhook, so payments settle through the real flow.
   */
  emulators?: boolean;
};

type Worker = Awaited<ReturnType<typeof unstable_startWorker>>;
const plain = (vars: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(vars).map(([name, value]) => [name, { type: "plain_text" as const, value }]),
  );

async function startWorker(
  config: string,
  vars: Record<string, string>,
  persist: string,
  port = 0,
): Promise<{ worker: Worker; url: string }> {
  const worker = await unstable_startWorker({
    config,
    bindings: plain(vars),
    dev: {
      server: { hostname: "127.0.0.1", port },
      inspector: false,
      persist,
      watch: false,
      logLevel: "warn",
    },
  });
  await worker.ready;
  return { worker, url: (await worker.url).toString().replace(/\/$/, "") };
}

/**
 * A free loopback port, for the one address that must be known before its server starts: the
 * platform's, which the emulators need for their webhook deliveries. Another process taking it
 * in between fails the start with EADDRINUSE (loudly, never silently wrong).
 */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() => (address && typeof address === "object" ? resolve(address.port) : reject(address)));
    });
  });
}

/**
 * The real worker (wrangler.toml, static assets and its [build] step included) on a random
 * loopback port, with its own D1 persistence in a temp dir and fresh secrets. Without
 * `emulators`, Stripe/Google URLs keep the wrangler.toml values and must not be called.
 */
export async function startPlatform(options: PlatformOptions = {}): Promise<LocalPlatform> {
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
  // Written before the worker starts, so only one process ever has the SQLite file open.
  if (options.seedSql) {
    const file = path.join(persist, "seed.sql");
    writeFileSync(file, options.seedSql);
    d1(["execute", "DB", "--file", file, "--yes"]);
  }

  const secrets = makeTestSecrets();
  const running: Worker[] = [];
  const stopAll = async () => {
    for (const w of running.reverse()) await w.dispose();
    rmSync(persist, { recursive: true, force: true });
  };
  try {
    let upstreams: Record<string, string> = {};
    let port = 0;
    let emulatorUrl: string | undefined;
    if (options.emulators) {
      port = await freePort();
      // Their own persistence folder: the emulators' Durable Object state is not the platform's.
      const emulatorState = path.join(persist, "emulators");
      mkdirSync(emulatorState);
      const emulators = await startWorker(
        path.join(ROOT, "emulators/wrangler.toml"),
        { ...secrets.emulators, STRIPE_WEBHOOK_URL: `http://127.0.0.1:${port}/api/v1/payments/webhook` },
        emulatorState,
      );
      running.push(emulators.worker);
      emulatorUrl = emulators.url;
      upstreams = {
        STRIPE_API_URL: emulatorUrl,
        GOOGLE_TOKEN_URL: `${emulatorUrl}/google/token`,
        FCM_API_URL: `${emulatorUrl}/fcm`,
      };
    }
    const platform = await startWorker(
      path.join(ROOT, "wrangler.toml"),
      { ...secrets.platform, ...upstreams },
      persist,
      port,
    );
    running.push(platform.worker);

    return {
      url: platform.url,
      emulatorUrl,
      token: (role, sub = crypto.randomUUID(), claims = {}) =>
        new SignJWT({ role, ...claims })
          .setProtectedHeader({ alg: "HS256", typ: "JWT" })
          .setSubject(sub)
          .setIssuer("edge-platform")
          .setAudience("edge-platform-api")
          .setIssuedAt()
          .setExpirationTime("1h")
          .sign(new TextEncoder().encode(secrets.platform.JWT_SECRET)),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
