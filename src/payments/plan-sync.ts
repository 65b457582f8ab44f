import type Stripe from "stripe";
import { PLANS, type Plan } from "./plans";

/**
 * `npm run stripe:sync-plans` (scripts/sync-plans.mjs) and the test setup: makes the Stripe
 * account match plans.ts. Idempotent, and safe to run against a real account:
 *  - one product per paid plan, id `plan_<plan id>` (created, or its name updated);
 *  - one active price per plan with lookup_key = plan id. A price that already matches
 *    (amount, currency, interval) is kept; otherwise a new one takes the lookup key over
 *    (`transfer_lookup_key`) and the old one is deactivated, so existing subscriptions keep
 *    their price and new ones get the new amount.
 * Creates carry idempotency keys derived from the plan's terms, so concurrent runs agree.
 * Takes the SDK client, so the Worker runtime (tests) and Node (the script) share it.
 */
export type SyncAction = {
  plan: string;
  product: "created" | "updated";
  price: "kept" | "created";
  price_id: string;
};

export async function syncPlans(stripe: Stripe, plans: readonly Plan[] = PLANS): Promise<SyncAction[]> {
  const actions: SyncAction[] = [];
  for (const plan of plans) {
    const key = plan.lookup_key;
    if (key === null) continue;
    const productId = `plan_${plan.id}`;
    const product = await upsertProduct(stripe, productId, plan.name);
    const existing = (await stripe.prices.list({ lookup_keys: [key], limit: 1 })).data[0];
    const matches =
      existing?.active === true &&
      existing.unit_amount === plan.amount &&
      existing.currency === plan.currency &&
      existing.recurring?.interval === plan.interval &&
      existing.product === productId;
    if (existing && matches) {
      actions.push({ plan: plan.id, product, price: "kept", price_id: existing.id });
      continue;
    }
    const created = await stripe.prices.create(
      {
        product: productId,
        currency: plan.currency,
        unit_amount: plan.amount,
        recurring: { interval: plan.interval },
        lookup_key: key,
        transfer_lookup_key: true,
        nickname: plan.name,
        metadata: { plan: plan.id },
      },
      { idempotencyKey: `plan-price:${key}:${plan.amount}:${plan.currency}:${plan.interval}` },
    );
    if (existing && existing.id !== created.id && existing.active) {
      await stripe.prices.update(existing.id, { active: false });
    }
    actions.push({ plan: plan.id, product, price: "created", price_id: created.id });
  }
  return actions;
}

async function upsertProduct(stripe: Stripe, id: string, name: string): Promise<"created" | "updated"> {
  try {
    await stripe.products.retrieve(id);
  } catch (err) {
    if ((err as { code?: string }).code !== "resource_missing") throw err;
    await stripe.products.create(
      { id, name, metadata: { managed_by: "stripe:sync-plans" } },
      { idempotencyKey: `plan-product:${id}` },
    );
    return "created";
  }
  await stripe.products.update(id, { name, active: true });
  return "updated";
}
