import type { TestCard } from "./cards";
import { newId, nowSeconds, randomChars } from "./ids";
import type { StripeObject } from "./store";

/** Factories shaped like Stripe's published examples (shared/stripe/fixtures3.json): same keys, same nesting. */

const emptyAddress = () => ({
  city: null,
  country: null,
  line1: null,
  line2: null,
  postal_code: null,
  state: null,
});

export type Metadata = Record<string, string>;

export type Customer = StripeObject & { email: string | null; name: string | null; metadata: Metadata };

export function customer(p: {
  email: string | null;
  name: string | null;
  description: string | null;
  phone: string | null;
  metadata: Metadata;
}): Customer {
  return {
    id: newId("cus"),
    object: "customer",
    address: null,
    balance: 0,
    created: nowSeconds(),
    currency: null,
    default_source: null,
    delinquent: false,
    description: p.description,
    discount: null,
    email: p.email,
    invoice_prefix: randomChars(8).toUpperCase(),
    invoice_settings: {
      custom_fields: null,
      default_payment_method: null,
      footer: null,
      rendering_options: null,
    },
    livemode: false,
    metadata: p.metadata,
    name: p.name,
    next_invoice_sequence: 1,
    phone: p.phone,
    preferred_locales: [],
    shipping: null,
    tax_exempt: "none",
    test_clock: null,
  };
}

export type PaymentMethod = StripeObject & {
  card: { brand: string; last4: string; fingerprint: string; [key: string]: unknown };
};

export function paymentMethod(card: TestCard, customerId: string | null): PaymentMethod {
  return {
    id: newId("pm"),
    object: "payment_method",
    allow_redisplay: "unspecified",
    billing_details: { address: emptyAddress(), email: null, name: null, phone: null, tax_id: null },
    card: {
      brand: card.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: "pass" },
      country: "US",
      display_brand: card.brand,
      exp_month: 12,
      exp_year: new Date().getUTCFullYear() + 3,
      fingerprint: card.fingerprint,
      funding: card.funding,
      generated_from: null,
      last4: card.last4,
      networks: { available: [card.brand], preferred: null },
      three_d_secure_usage: { supported: true },
      wallet: null,
      regulated_status: "unregulated",
    },
    created: nowSeconds(),
    customer: customerId,
    livemode: false,
    metadata: {},
    type: "card",
    customer_account: null,
  };
}

export type PaymentIntent = StripeObject & {
  amount: number;
  amount_received: number;
  currency: string;
  customer: string | null;
  status: string;
  payment_method: string | null;
  setup_future_usage: string | null;
  latest_charge: string | null;
  last_payment_error: Record<string, unknown> | null;
  next_action: Record<string, unknown> | null;
  canceled_at: number | null;
  cancellation_reason: string | null;
  metadata: Metadata;
  description: string | null;
  receipt_email: string | null;
};

export function paymentIntent(p: {
  amount: number;
  currency: string;
  customer: string | null;
  description: string | null;
  metadata: Metadata;
  receiptEmail: string | null;
  automatic: boolean;
}): PaymentIntent {
  const id = newId("pi");
  return {
    id,
    object: "payment_intent",
    amount: p.amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: p.automatic ? { allow_redirects: "always", enabled: true } : null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: "automatic",
    client_secret: `${id}_secret_${randomChars(25)}`,
    confirmation_method: "automatic",
    created: nowSeconds(),
    currency: p.currency,
    customer: p.customer,
    description: p.description,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    metadata: p.metadata,
    next_action: null,
    on_behalf_of: null,
    payment_method: null,
    payment_method_configuration_details: p.automatic
      ? { id: "pmc_emulatorDefault0000000", parent: null }
      : null,
    payment_method_options: {
      card: { installments: null, mandate_options: null, network: null, request_three_d_secure: "automatic" },
    },
    payment_method_types: ["card"],
    processing: null,
    receipt_email: p.receiptEmail,
    review: null,
    setup_future_usage: null,
    shipping: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: "requires_payment_method",
    transfer_data: null,
    transfer_group: null,
    source: null,
    excluded_payment_method_types: null,
    customer_account: null,
    managed_payments: null,
  };
}

export function balanceTransaction(p: {
  amount: number;
  currency: string;
  source: string;
  type: "charge" | "refund" | "adjustment";
  description: string | null;
}): StripeObject {
  const fee = p.type === "charge" ? Math.round(p.amount * 0.029) + 30 : 0;
  const created = nowSeconds();
  return {
    id: newId("txn"),
    object: "balance_transaction",
    amount: p.amount,
    available_on: created + 2 * 86400,
    created,
    currency: p.currency,
    description: p.description,
    exchange_rate: null,
    fee,
    fee_details: fee
      ? [
          {
            amount: fee,
            application: null,
            currency: p.currency,
            description: "Stripe processing fees",
            type: "stripe_fee",
          },
        ]
      : [],
    net: p.amount - fee,
    reporting_category: p.type === "adjustment" ? "dispute" : p.type,
    source: p.source,
    status: "pending",
    type: p.type,
    balance_type: "payments",
  };
}
