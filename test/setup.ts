import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { syncPlans } from "../src/payments/plan-sync";
import { stripeClient } from "./helpers/stripe";

// Runs before every test file; migrations already applied are skipped.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
await applyD1Migrations(env.ANALYTICS_DB, env.TEST_ANALYTICS_MIGRATIONS);

// The plans' Stripe prices exist only once synced, as in a real account (npm run stripe:sync-plans).
await syncPlans(stripeClient());
