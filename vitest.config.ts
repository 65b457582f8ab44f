import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { build } from "esbuild";
import { defineConfig } from "vitest/config";
import { makeTestSecrets } from "./test/emulator-keys.ts";

/** Where the platform reaches its upstreams in tests: the same URLs `npm start` uses. */
export const EMULATOR_URLS = {
  STRIPE_API_URL: "http://127.0.0.1:8788",
  GOOGLE_TOKEN_URL: "http://127.0.0.1:8788/google/token",
  FCM_API_URL: "http://127.0.0.1:8788/fcm",
};

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  const analyticsMigrations = await readD1Migrations(path.join(import.meta.dirname, "migrations-analytics"));
  const secrets = makeTestSecrets();
  // Auxiliary workers must be plain JS, so the emulators are bundled once per run.
  const emulatorScript = path.join(import.meta.dirname, ".build/emulators.mjs");
  await build({
    entryPoints: [path.join(import.meta.dirname, "emulators/src/index.ts")],
    outfile: emulatorScript,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2023",
    external: ["cloudflare:*", "node:*"],
    logLevel: "warning",
  });

  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            ...secrets.platform,
            ...EMULATOR_URLS,
            // The one service the tests' publishEvent() signs as may send security.alert.
            SECURITY_ALERT_SERVICES: "svc-security-alerts",
            TEST_MIGRATIONS: migrations,
            TEST_ANALYTICS_MIGRATIONS: analyticsMigrations,
          },
          // Every outbound fetch from the platform goes to the emulators worker, which
          // routes by path exactly as it does on 127.0.0.1:8788 under `npm start`.
          outboundService: "emulators",
          workers: [
            {
              name: "emulators",
              modules: true,
              scriptPath: emulatorScript,
              compatibilityDate: "2026-11-01",
              compatibilityFlags: ["nodejs_compat"],
              bindings: secrets.emulators,
              durableObjects: {
                STRIPE_STATE: { className: "StripeState", useSQLite: true },
                GOOGLE_STATE: { className: "GoogleState", useSQLite: true },
              },
            },
          ],
        },
      }),
    ],
    test: {
      setupFiles: ["./test/setup.ts"],
      reporters: ["default", "./test/summary-reporter.ts"],
      include: ["test/**/*.test.ts"],
      // Browser tests and the Node-side contract checks have their own configs
      // (vitest.e2e.config.ts, vitest.node.config.ts).
      exclude: ["test/e2e/**", "test/node/**", "**/node_modules/**"],
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
});
