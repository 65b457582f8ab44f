/**
 * Subscription plans are configuration, not a table (docs/payments.md, "Subscriptions and
 * plans"). The Stripe price ids must exist in the Stripe account (the emulator seeds exactly these).
 */
export type Plan = {
  id: string;
  name: string;
  stripe_price_id: string | null;
  amount: number;
  currency: string;
  interval: "month" | "year";
};

export const PLANS = [
  { id: "free", name: "Free", stripe_price_id: null, amount: 0, currency: "usd", interval: "month" },
  {
    id: "basic_monthly",
    name: "Basic (monthly)",
    stripe_price_id: "price_basic_monthly",
    amount: 900,
    currency: "usd",
    interval: "month",
  },
  {
    id: "pro_monthly",
    name: "Pro (monthly)",
    stripe_price_id: "price_pro_monthly",
    amount: 2900,
    currency: "usd",
    interval: "month",
  },
  {
    id: "pro_yearly",
    name: "Pro (yearly)",
    stripe_price_id: "price_pro_yearly",
    amount: 29000,
    currency: "usd",
    interval: "year",
  },
  {
    id: "business_monthly",
    name: "Business (monthly)",
    stripe_price_id: "price_business_monthly",
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

export function planByPrice(priceId: string | null | undefined): Plan | undefined {
  return priceId ? PLANS.find((p) => p.stripe_price_id === priceId) : undefined;
}

/** Monthly-normalised recurring revenue in minor units: a yearly amount counts as /12. */
export function monthlyValue(amount: number, interval: "month" | "year", quantity = 1): number {
  return interval === "year" ? Math.round((amount * quantity) / 12) : amount * quantity;
}
