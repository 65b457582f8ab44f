import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { subscriptions } from "../../src/db/schema";
import { reconcileSubscriptionClaims } from "../../src/payments/reconcile-subscriptions";
import type { Deps } from "../../src/platform/deps";
import { testDeps } from "../helpers/deps";
import { expectEnvelope, postJson } from "../helpers/http";
import { injectFault } from "../helpers/stripe";
import { db, newCaller } from "./helpers";

type Caller = Awaited<ReturnType<typeof newCaller>>;

const subscribe = (user: Caller, headers: Record<string, string>) =>
  postJson(
    "/api/v1/subscriptions",
    { plan: "basic_monthly", payment_method: "pm_card_visa" },
    {
      ...user.headers,
      ...headers,
    },
  );

const rowsOf = (userId: string) => db().select().from(subscriptions).where(eq(subscriptions.userId, userId));

/** A trigger aborts the UPDATE that records the Stripe subscription on this user's claim. */
async function withCompletionFailing<T>(userId: string, fn: () => Promise<T>): Promise<T> {
  if (!/^[A-Za-z0-9-]+$/.test(userId)) throw new Error("unexpected id");
  const name = `inject_${crypto.randomUUID().replaceAll("-", "")}`;
  await env.DB.exec(
    `CREATE TRIGGER ${name} BEFORE UPDATE ON subscriptions WHEN OLD.user_id = '${userId}' AND OLD.stripe_subscription_id IS NULL AND NEW.stripe_subscription_id IS NOT NULL BEGIN SELECT RAISE(ABORT, 'injected'); END`,
  );
  try {
    return await fn();
  } finally {
    await env.DB.exec(`DROP TRIGGER IF EXISTS ${name}`);
  }
}

const ageClaims = (userId: string) =>
  db()
    .update(subscriptions)
    .set({ createdAt: Date.now() - 3_600_000, updatedAt: Date.now() - 3_600_000 })
    .where(eq(subscriptions.userId, userId));

/** Deps whose `subscriptions.list` runs `between` after Stripe answered, before the caller sees it. */
function listThen(deps: Deps, between: () => Promise<void>): Deps {
  const real = deps.stripe.subscriptions;
  const subs = Object.create(real) as typeof real;
  subs.list = ((params: Stripe.SubscriptionListParams) =>
    real.list(params).then(async (answer) => {
      await between();
      return answer;
    })) as typeof real.list;
  const stripe = Object.create(deps.stripe) as Stripe;
  Object.defineProperty(stripe, "subscriptions", { value: subs });
  return { ...deps, stripe };
}

// Review of issue 12: the reconciler listed Stripe, then released the claim unconditionally.
// A client retry under the same key that ran in between created the Stripe subscription; the
// release deleted its row, leaving a billing subscription nobody sees (and a free slot for a
// second one).
describe("reconciler vs a retry of the same subscribe", () => {
  it("never releases a claim that a retry took up after the reconciler read Stripe", async () => {
    const user = await newCaller("user");
    const key = { "idempotency-key": `sub-race-${crypto.randomUUID()}` };
    await injectFault({
      path_prefix: "/v1/subscriptions",
      method: "POST",
      status: 500,
      count: 2,
      body_contains: user.sub,
    });
    await expectEnvelope(await subscribe(user, key), 502, "UPSTREAM_FAILED");
    const [claim] = await rowsOf(user.sub);
    if (!claim) throw new Error("no claim");
    await ageClaims(user.sub);

    let retryStatus = 0;
    const racing = listThen(testDeps(), async () => {
      // The retry runs after the reconciler's list: Stripe creates the subscription, and D1
      // fails to record it, so the claim is still without a Stripe id when the release comes.
      await withCompletionFailing(user.sub, async () => {
        retryStatus = (await subscribe(user, key)).status;
      });
    });
    await reconcileSubscriptionClaims(racing);
    expect(retryStatus).toBe(500);

    // The claim must survive: Stripe has a billing subscription for it.
    const rows = await rowsOf(user.sub);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.id).toBe(claim.id);

    // A later run (once the claim is old again) completes it from Stripe.
    await ageClaims(user.sub);
    await reconcileSubscriptionClaims(testDeps());
    const [done] = await rowsOf(user.sub);
    expect(done).toMatchObject({ id: claim.id, status: "active" });
    expect(done?.stripeSubscriptionId).toMatch(/^sub_/);
  });
});
