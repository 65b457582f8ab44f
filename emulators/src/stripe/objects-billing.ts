import { newId, nowSeconds } from "./ids";
import type { StripeObject } from "./store";

/** Prices, subscriptions and invoices, shaped like fixtures3.json. */

export type Price = StripeObject & {
  unit_amount: number;
  currency: string;
  product: string;
  recurring: { interval: "month" | "year"; interval_count: number; [key: string]: unknown };
};

/** A price as Stripe creates it: generated id, the lookup key the caller chose (or null). */
export function price(p: {
  product: string;
  currency: string;
  unitAmount: number;
  interval: "month" | "year";
  intervalCount: number;
  lookupKey: string | null;
  nickname: string | null;
  metadata: Record<string, string>;
  active: boolean;
}): Price {
  return {
    id: newId("price"),
    object: "price",
    active: p.active,
    billing_scheme: "per_unit",
    created: nowSeconds(),
    currency: p.currency,
    custom_unit_amount: null,
    livemode: false,
    lookup_key: p.lookupKey,
    metadata: p.metadata,
    nickname: p.nickname,
    product: p.product,
    recurring: {
      interval: p.interval,
      interval_count: p.intervalCount,
      meter: null,
      usage_type: "licensed",
      trial_period_days: null,
    },
    tax_behavior: "unspecified",
    tiers_mode: null,
    transform_quantity: null,
    type: "recurring",
    unit_amount: p.unitAmount,
    unit_amount_decimal: String(p.unitAmount),
  };
}

export type Product = StripeObject & { active: boolean; name: string; default_price: string | null };

export function product(p: {
  id: string | undefined;
  name: string;
  description: string | null;
  metadata: Record<string, string>;
  active: boolean;
}): Product {
  const now = nowSeconds();
  return {
    id: p.id ?? newId("prod"),
    object: "product",
    active: p.active,
    created: now,
    default_price: null,
    description: p.description,
    images: [],
    livemode: false,
    marketing_features: [],
    metadata: p.metadata,
    name: p.name,
    package_dimensions: null,
    shippable: null,
    statement_descriptor: null,
    tax_code: null,
    unit_label: null,
    updated: now,
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
    interval_count: price.recurring.interval_count,
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
