import { describe, expect, it } from "vitest";
import { postJson } from "../helpers/http";
import { stripeClient } from "../helpers/stripe";
import { newCaller } from "./helpers";

/**
 * Review of issue 12, item 4: after sync-plans moved a plan's lookup key to a new price, the
 * first subscribe in an isolate that had cached the old price got 422 from Stripe (inactive
 * price), and that 422 was stored as its Idempotency-Key's final answer.
 */
const PLAN = "business_monthly";
const stripe = stripeClient();

const subscribe = (headers: Record<string, string>) =>
  postJson("/api/v1/subscriptions", { plan: PLAN, payment_method: "pm_card_visa" }, headers);

/** What sync-plans does for a changed price: a new one takes the lookup key, the old is deactivated. */
async function rotatePrice(): Promise<{ stale: string; current: string }> {
  const [old] = (await stripe.prices.list({ lookup_keys: [PLAN], active: true, limit: 1 })).data;
  if (!old?.unit_amount || !old.recurring) throw new Error(`no active price for ${PLAN}`);
  const fresh = await stripe.prices.create({
    product: String(old.product),
    currency: old.currency,
    unit_amount: old.unit_amount, // same amount, so other tests using the plan see no change
    recurring: { interval: old.recurring.interval },
    lookup_key: PLAN,
    transfer_lookup_key: true,
  });
  await stripe.prices.update(old.id, { active: false });
  return { stale: old.id, current: fresh.id };
}

describe("a plan whose Stripe price changed since this isolate cached it", () => {
  it("subscribes with the current price on the first try; the key stores the success", async () => {
    // Prime this isolate's cache with the price that is about to be replaced.
    const first = await newCaller("user");
    expect((await subscribe(first.headers)).status).toBe(201);
    const { stale, current } = await rotatePrice();

    const user = await newCaller("user");
    const headers = { ...user.headers, "idempotency-key": `rotate-${crypto.randomUUID()}` };
    const res = await subscribe(headers);
    expect(res.status, await res.clone().text()).toBe(201);
    const body = (await res.json()) as { subscription_id: string; status: string };
    expect(body.status).toBe("active");

    const replay = await subscribe(headers);
    expect(replay.status).toBe(201);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await replay.json()).toMatchObject({ subscription_id: body.subscription_id });

    const subs = await stripe.subscriptions.list({ limit: 100 });
    const made = subs.data.find((s) => s.metadata.subscription_id === body.subscription_id);
    expect(made?.items.data[0]?.price.id).toBe(current);
    expect(made?.items.data[0]?.price.id).not.toBe(stale);
  });
});
