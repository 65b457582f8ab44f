/**
 * Subscription plans are configuration, not a table (docs/payments.md, "Subscriptions and
 * plans"). A paid plan's Stripe price is found by its lookup key, which is the plan id: Stripe
 * generates price ids, so they cannot be written here. `npm run stripe:sync-plans`
 * (src/payments/plan-sync.ts) creates or updates the products and prices to match this list.
 */
export type Plan = {
  id: string;
  name: string;
  /** The Stripe price's lookup_key; null for a free plan, which never touches Stripe. */
  lookup_key: string | null;
  amount: number;
  currency: string;
  interval: "month" | "year";
};

export const PLANS = [
  { id: "free", name: "Free", lookup_key: null, amount: 0, currency: "usd", interval: "month" },
  {
    id: "basic_monthly",
    name: "Basic (monthly)",
    lookup_key: "basic_monthly",
    amount: 900,
    currency: "usd",
    interval: "month",
  },
  {
    id: "pro_monthly",
    name: "Pro (monthly)",
    lookup_key: "pro_monthly",
    amount: 2900,
    currency: "usd",
    interval: "month",
  },
  {
    id: "pro_yearly",
    name: "Pro (yearly)",
    lookup_key: "pro_yearly",
    amount: 29000,
    currency: "usd",
    interval: "year",
  },
  {
    id: "business_monthly",
    name: "Business (monthly)",
    lookup_key: "business_monthly",
    amount: 9900,
    currency: "usd",
    interval: "month",
  },
] as const satisfies readonly Plan[];

export type PlanId = (typeof PLANS)[number]["id"];
export const PLAN_IDS = PLANS.map((p) => p.id) as [PlanId, ...PlanId[]];

export function planById(id: string): Plan | undefined {
  return PLANS.find((p) => p.id === id);
}

/** The plan a Stripe price belongs to, by the price's lookup_key. */
export function planByLookupKey(key: string | null | undefined): Plan | undefined {
  return key ? PLANS.find((p) => p.lookup_key === key) : undefined;
}

/** Monthly-normalised recurring revenue in minor units: a yearly amount counts as /12. */
export function monthlyValue(amount: number, interval: "month" | "year", quantity = 1): number {
  return interval === "year" ? Math.round((amount * quantity) / 12) : amount * quantity;
}
