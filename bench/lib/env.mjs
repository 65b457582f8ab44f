// Secrets and ports for one bench run. Written under bench/.state so a developer's .dev.vars
// and .wrangler/state are never touched; passed to `wrangler dev --env-file`.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";

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
  const emulator = `http://127.0.0.1:${emulatorPort}`;
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const projectId = "bench-project";
  const clientEmail = `push@${projectId}.iam.gserviceaccount.com`;
  const webhookSecret = `whsec_${randomBytes(24).toString("hex")}`;
  const jwtSecret = randomBytes(32).toString("hex");
  const serviceAccount = {
    type: "service_account",
    project_id: projectId,
    private_key_id: randomBytes(8).toString("hex"),
    private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    client_email: clientEmail,
    token_uri: `${emulator}/google/token`,
  };
  const esc = (s) => s.replaceAll("\n", "\\n");
  const platformEnv = path.join(STATE_DIR, "platform.env");
  const emulatorEnv = path.join(STATE_DIR, "emulators.env");
  writeFileSync(
    platformEnv,
    [
      `JWT_SECRET="${jwtSecret}"`,
      `STRIPE_SECRET_KEY="sk_test_${randomBytes(12).toString("hex")}"`,
      `STRIPE_WEBHOOK_SECRET="${webhookSecret}"`,
      `GOOGLE_SERVICE_ACCOUNT_JSON='${JSON.stringify(serviceAccount)}'`,
      `STRIPE_API_URL="${emulator}"`,
      `GOOGLE_TOKEN_URL="${emulator}/google/token"`,
      `FCM_API_URL="${emulator}/fcm"`,
      // Request logs would cost the platform time the baseline does not spend
      // (BENCH_LOG_LEVEL=info or debug when investigating; then read bench/.results/platform.log).
      `LOG_LEVEL="${process.env.BENCH_LOG_LEVEL ?? "warn"}"`,
      "",
    ].join("\n"),
  );
  writeFileSync(
    emulatorEnv,
    [
      `STRIPE_WEBHOOK_SECRET="${webhookSecret}"`,
      `STRIPE_WEBHOOK_URL="http://127.0.0.1:${platformPort}/api/v1/payments/webhook"`,
      `GOOGLE_SA_CLIENT_EMAIL="${clientEmail}"`,
      `GOOGLE_SA_PUBLIC_KEY="${esc(publicKey.export({ type: "spki", format: "pem" }).toString())}"`,
      `GOOGLE_PROJECT_ID="${projectId}"`,
      "",
    ].join("\n"),
  );
  return { jwtSecret, platformEnv, emulatorEnv, projectId, serviceAccount };
}
