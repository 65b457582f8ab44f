// Secrets and ports for one bench run. Written under bench/.state so a developer's .dev.vars
// and .wrangler/state are never touched; passed to `wrangler dev --env-file`.
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { makeLocalEnv } from "../../scripts/lib/dev-vars.mjs";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const STATE_DIR = path.join(ROOT, "bench/.state");
export const RESULTS_DIR = path.join(ROOT, "bench/.results");

/** A free TCP port on loopback (the OS picks; a race with another process is possible but rare). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Fresh secrets each run; returns the vars plus the env-file paths for both workers. */
export function writeBenchEnv({ platformPort, emulatorPort }) {
  mkdirSync(STATE_DIR, { recursive: true });
  const projectId = "bench-project";
  const env = makeLocalEnv({
    projectId,
    emulatorUrl: `http://127.0.0.1:${emulatorPort}`,
    platformUrl: `http://127.0.0.1:${platformPort}`,
    // Request logs would cost the platform time the baseline does not spend
    // (BENCH_LOG_LEVEL=info or debug when investigating; then read bench/.results/platform.log).
    extraPlatformLines: [`LOG_LEVEL="${process.env.BENCH_LOG_LEVEL ?? "warn"}"`],
  });
  const platformEnv = path.join(STATE_DIR, "platform.env");
  const emulatorEnv = path.join(STATE_DIR, "emulators.env");
  writeFileSync(platformEnv, env.platform);
  writeFileSync(emulatorEnv, env.emulators);
  return {
    jwtSecret: env.jwtSecret,
    platformEnv,
    emulatorEnv,
    projectId,
    serviceAccount: env.serviceAccount,
  };
}
