import { newId, nowSeconds, randomChars } from "./ids";
import type { Price, SubscriptionItem } from "./objects-billing";
import type { Metadata } from "./objects-payments";
import type { StripeObject } from "./store";

/**
 * Subscription and invoice factories, shaped like fixtures3.json for the pinned version
 * (2026-10-28.endive): periods live on subscription items only, and an invoice names its
 * subscription under `parent.subscription_details` (the top-level fields were removed).
 */

export type Subscription = StripeObject & {
  customer: string;
  status: string;
  cancel_at_period_end: boolean;
  cancel_at: number | null;
  canceled_at: number | null;
  ended_at: number | null;
  default_payment_method: string | null;
  latest_invoice: string | null;
  metadata: Metadata;
  items: { object: "list"; data: SubscriptionItem[]; has_more: boolean; url: string; total_count: number };
};

export function subscription(p: {
  id: string;
  customer: string;
  item: SubscriptionItem;
  defaultPaymentMethod: string | null;
  metadata: Metadata;
}): Subscription {
  const now = nowSeconds();
  return {
    id: p.id,
    object: "subscription",
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: p.item.current_period_start,
    billing_cycle_anchor_config: null,
    billing_mode: { type: "flexible", flexible: { proration_discounts: "included" } },
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, reason: null },
    collection_method: "charge_automatically",
    created: now,
    currency: p.item.price.currency,
    customer: p.customer,
    customer_account: null,
    days_until_due: null,
    default_payment_method: p.defaultPaymentMethod,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    ended_at: null,
    invoice_settings: { account_tax_ids: null, issuer: { type: "self" } },
    items: {
      object: "list",
      data: [p.item],
      has_more: false,
      total_count: 1,
      url: `/v1/subscription_items?subscription=${p.id}`,
    },
    latest_invoice: null,
    livemode: false,
    managed_payments: null,
    metadata: p.metadata,
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: {
      payment_method_options: null,
      payment_method_types: null,
      save_default_payment_method: "off",
    },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: now,
    status: "incomplete",
    test_clock: null,
    transfer_data: null,
    trial_end: null,
    trial_settings: { end_behavior: { missing_payment_method: "create_invoice" } },
    trial_start: null,
  };
}

/** One invoice line as the billing code computes it (objects below add Stripe's fields). */
export type Line = {
  amount: number;
  description: string;
  price: Price;
  quantity: number;
  itemId: string;
  proration: boolean;
  period: { start: number; end: number };
};

/** Invoice line items, shaped like fixtures3.json's `line_item`. */
export function lineObjects(invoiceId: string, subId: string, lines: Line[]): StripeObject[] {
  return lines.map((l) => ({
    id: newId("il"),
    object: "line_item",
    amount: l.amount,
    currency: l.price.currency,
    description: l.description,
    discount_amounts: [],
    discountable: !l.proration,
    discounts: [],
    invoice: invoiceId,
    livemode: false,
    metadata: {},
    parent: {
      invoice_item_details: null,
      subscription_item_details: {
        invoice_item: null,
        proration: l.proration,
        proration_details: { credited_items: null },
        subscription: subId,
        subscription_item: l.itemId,
      },
      type: "subscription_item_details",
    },
    period: l.period,
    pretax_credit_amounts: [],
    pricing: {
      price_details: { price: l.price.id, product: l.price.product },
      type: "price_details",
      unit_amount_decimal: String(l.price.unit_amount),
    },
    quantity: l.quantity,
    quantity_decimal: String(l.quantity),
    subtotal: l.amount,
    taxes: [],
  }));
}

export type Invoice = StripeObject & {
  status: string;
  amount_due: number;
  amount_paid: number;
  amount_remaining: number;
};

export function invoice(p: {
  sub: Subscription;
  item: SubscriptionItem;
  billingReason: "subscription_create" | "subscription_cycle" | "subscription_update";
  paid: boolean;
  customerEmail: string | null;
}): Invoice {
  const id = newId("in");
  const amount = p.item.price.unit_amount * p.item.quantity;
  const now = nowSeconds();
  const period = { start: p.item.current_period_start, end: p.item.current_period_end };
  return {
    id,
    object: "invoice",
    account_country: "US",
    account_name: "Emulated Stripe account",
    account_tax_ids: null,
    amount_due: amount,
    amount_overpaid: 0,
    amount_paid: p.paid ? amount : 0,
    amount_remaining: p.paid ? 0 : amount,
    amount_shipping: 0,
    application: null,
    attempt_count: 1,
    attempted: true,
    auto_advance: !p.paid,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: null,
    billing_reason: p.billingReason,
    collection_method: "charge_automatically",
    created: now,
    currency: p.item.price.currency,
    custom_fields: null,
    customer: p.sub.customer,
    customer_account: null,
    customer_address: null,
    customer_email: p.customerEmail,
    customer_name: null,
    customer_phone: null,
    customer_shipping: null,
    customer_tax_exempt: "none",
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    due_date: null,
    effective_at: now,
    ending_balance: 0,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: `https://invoice.stripe.com/i/acct_emulator/test_${randomChars(40)}`,
    invoice_pdf: `https://pay.stripe.com/invoice/acct_emulator/test_${randomChars(40)}/pdf`,
    issuer: { type: "self" },
    last_finalization_error: null,
    latest_revision: null,
    lines: {
      object: "list",
      data: lineObjects(id, p.sub.id, [
        {
          amount,
          description: `${p.item.quantity} × ${String(p.item.price.nickname ?? p.item.price.id)}`,
          price: p.item.price,
          quantity: p.item.quantity,
          itemId: p.item.id,
          proration: false,
          period,
        },
      ]),
      has_more: false,
      total_count: 1,
      url: `/v1/invoices/${id}/lines`,
    },
    livemode: false,
    metadata: {},
    next_payment_attempt: p.paid ? null : now + 3 * 86400,
    number: `${randomChars(8).toUpperCase()}-0001`,
    on_behalf_of: null,
    parent: {
      quote_details: null,
      subscription_details: { metadata: p.sub.metadata, subscription: p.sub.id },
      type: "subscription_details",
    },
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: period.end,
    period_start: period.start,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: p.paid ? "paid" : "open",
    status_transitions: {
      finalized_at: now,
      marked_uncollectible_at: null,
      paid_at: p.paid ? now : null,
      voided_at: null,
    },
    subtotal: amount,
    subtotal_excluding_tax: amount,
    test_clock: null,
    total: amount,
    total_discount_amounts: [],
    total_excluding_tax: amount,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: now,
  };
}
