// `npm run stripe:sync-plans`: creates or updates the Stripe products and prices of the plans in
// src/payments/plans.ts, each price found by its lookup key (the plan id). Idempotent.
// Reads STRIPE_SECRET_KEY and STRIPE_API_URL from the environment, else from .dev.vars
// (so under `npm start` it targets the local emulator). Against a real account:
//   STRIPE_SECRET_KEY=sk_live_… STRIPE_API_URL=https://api.stripe.com npm run stripe:sync-plans
// The sync itself is TypeScript shared with the test setup; esbuild bundles it in memory.
import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import Stripe from "stripe";
import { ROOT, readDevVars } from "./lib/dev-vars.mjs";

export async function loadSync() {
  const out = await build({
    entryPoints: [path.join(ROOT, "src/payments/plan-sync.ts")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    external: ["stripe"],
    logLevel: "warning",
  });
  const code = `${out.outputFiles[0].text}\n//# sourceURL=${pathToFileURL(path.join(ROOT, "src/payments/plan-sync.ts"))}`;
  return import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
}

export function stripeFrom(vars) {
  const key = vars.STRIPE_SECRET_KEY;
  if (!key) throw new Error("STRIPE_SECRET_KEY is not set (env or .dev.vars)");
  const url = new URL(vars.STRIPE_API_URL ?? "https://api.stripe.com");
  const protocol = url.protocol === "http:" ? "http" : "https";
  return new Stripe(key, {
    host: url.hostname,
    port: url.port ? Number(url.port) : protocol === "http" ? 80 : 443,
    protocol,
    maxNetworkRetries: 2,
  });
}

export async function syncPlansFrom(vars) {
  const { syncPlans } = await loadSync();
  return syncPlans(stripeFrom(vars));
}

const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const file = path.join(ROOT, ".dev.vars");
  const fromFile = existsSync(file) ? readDevVars(file) : {};
  const vars = {
    STRIPE_SECRET_KEY: process.env.STRIPE_SECRET_KEY ?? fromFile.STRIPE_SECRET_KEY,
    STRIPE_API_URL: process.env.STRIPE_API_URL ?? fromFile.STRIPE_API_URL,
  };
  try {
    const actions = await syncPlansFrom(vars);
    for (const a of actions) console.log(`${a.plan}: product ${a.product}, price ${a.price} (${a.price_id})`);
    console.log(`synced ${actions.length} plans against ${vars.STRIPE_API_URL ?? "https://api.stripe.com"}`);
  } catch (err) {
    console.error(`stripe:sync-plans failed: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}
