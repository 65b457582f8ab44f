import type { Deps } from "../platform/deps";
import { ApiError } from "../platform/errors";
import type { Plan } from "./plans";
import { callStripe } from "./stripe-errors";

// Lookup key → price id, per isolate. A price id never changes meaning, so the only staleness
// is a key moved to a new price (sync-plans with a new amount): `forgetPrice` drops the entry
// when Stripe refuses the old one, and the next call looks it up again.
const cache = new Map<string, string>();

/** The active Stripe price of a paid plan, found by lookup_key (`prices.list`), cached. */
export async function priceIdFor(
  deps: Deps,
  plan: Pick<Plan, "id"> & { lookup_key: string },
): Promise<string> {
  const hit = cache.get(plan.lookup_key);
  if (hit) return hit;
  const found = await callStripe("price lookup", () =>
    deps.stripe.prices.list({ lookup_keys: [plan.lookup_key], active: true, limit: 1 }),
  );
  const price = found.data[0];
  if (!price) {
    deps.logger.error("plan has no active Stripe price; run `npm run stripe:sync-plans`", { plan: plan.id });
    throw new ApiError("UPSTREAM_FAILED", `Plan ${plan.id} is not available right now`);
  }
  cache.set(plan.lookup_key, price.id);
  return price.id;
}

export function forgetPrice(lookupKey: string): void {
  cache.delete(lookupKey);
}
