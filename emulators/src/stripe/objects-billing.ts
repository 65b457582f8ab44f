import { newId, nowSeconds } from "./ids";
import type { StripeObject } from "./store";

/** Prices, subscriptions and invoices, shaped like fixtures3.json. */

export type Price = StripeObject & {
  unit_amount: number;
  currency: string;
  product: string;
  recurring: { interval: "month" | "year"; interval_count: number; [key: string]: unknown };
};

const CATALOGUE_CREATED = 1735689600;

function catalogPrice(
  id: string,
  product: string,
  nickname: string,
  amount: number,
  interval: "month" | "year",
): Price {
  return {
    id,
    object: "price",
    active: true,
    billing_scheme: "per_unit",
    created: CATALOGUE_CREATED,
    currency: "usd",
    custom_unit_amount: null,
    livemode: false,
    lookup_key: null,
    metadata: {},
    nickname,
    product,
    recurring: { interval, interval_count: 1, meter: null, usage_type: "licensed", trial_period_days: null },
    tax_behavior: "unspecified",
    tiers_mode: null,
    transform_quantity: null,
    type: "recurring",
    unit_amount: amount,
    unit_amount_decimal: String(amount),
  };
}

/** The fixed catalogue the platform's plans point at. */
export const PRICES: Record<string, Price> = Object.fromEntries(
  [
    catalogPrice("price_basic_monthly", "prod_EmuBasicPlan0", "Basic monthly", 900, "month"),
    catalogPrice("price_pro_monthly", "prod_EmuProPlan000", "Pro monthly", 2900, "month"),
    catalogPrice("price_pro_yearly", "prod_EmuProPlan000", "Pro yearly", 29000, "year"),
    catalogPrice("price_business_monthly", "prod_EmuBusinessPl", "Business monthly", 9900, "month"),
  ].map((p) => [p.id, p]),
);

export const PRODUCT_NAMES: Record<string, string> = {
  prod_EmuBasicPlan0: "Basic",
  prod_EmuProPlan000: "Pro",
  prod_EmuBusinessPl: "Business",
};

export function product(id: string): StripeObject {
  const defaultPrice = Object.values(PRICES).find((p) => p.product === id)?.id ?? null;
  return {
    id,
    object: "product",
    active: true,
    created: CATALOGUE_CREATED,
    default_price: defaultPrice,
    description: null,
    images: [],
    livemode: false,
    marketing_features: [],
    metadata: {},
    name: PRODUCT_NAMES[id] ?? id,
    package_dimensions: null,
    shippable: null,
    statement_descriptor: null,
    tax_code: null,
    unit_label: null,
    updated: CATALOGUE_CREATED,
    url: null,
    type: "service",
  };
}

/** The legacy `plan` view of a price, still present on subscription items. */
export function planOf(price: Price): StripeObject {
  return {
    id: price.id,
    object: "plan",
    active: true,
    amount: price.unit_amount,
    amount_decimal: String(price.unit_amount),
    billing_scheme: "per_unit",
    created: price.created,
    currency: price.currency,
    interval: price.recurring.interval,
    interval_count: 1,
    livemode: false,
    metadata: {},
    meter: null,
    nickname: price.nickname,
    product: price.product,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: "licensed",
  };
}

/** Adds one interval to a unix time, in UTC calendar terms (Stripe bills by calendar). */
export function addInterval(start: number, interval: "month" | "year"): number {
  const d = new Date(start * 1000);
  if (interval === "month") d.setUTCMonth(d.getUTCMonth() + 1);
  else d.setUTCFullYear(d.getUTCFullYear() + 1);
  return Math.floor(d.getTime() / 1000);
}

export type SubscriptionItem = StripeObject & {
  plan: StripeObject;
  price: Price;
  quantity: number;
  current_period_start: number;
  current_period_end: number;
};

export function subscriptionItem(
  subscriptionId: string,
  price: Price,
  quantity: number,
  start: number,
  end: number,
): SubscriptionItem {
  return {
    id: newId("si"),
    object: "subscription_item",
    billing_thresholds: null,
    created: nowSeconds(),
    current_period_end: end,
    current_period_start: start,
    discounts: [],
    metadata: {},
    plan: planOf(price),
    price,
    quantity,
    subscription: subscriptionId,
    tax_rates: [],
  };
}
