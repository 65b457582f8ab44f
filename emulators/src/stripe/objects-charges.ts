import { newId, nowSeconds, randomChars } from "./ids";
import type { Metadata, PaymentIntent, PaymentMethod } from "./objects-payments";
import type { StripeObject } from "./store";

/** Charge, refund and dispute factories, shaped like fixtures3.json. */

export type Charge = StripeObject & {
  amount: number;
  amount_refunded: number;
  currency: string;
  refunded: boolean;
  disputed: boolean;
  status: string;
  payment_intent: string | null;
  customer: string | null;
};

export type Failure = { code: string; declineCode: string; message: string };

export function charge(
  pi: PaymentIntent,
  pm: PaymentMethod,
  balanceTransaction: string | null,
  failure: Failure | null,
): Charge {
  const id = newId("ch");
  const ok = failure === null;
  return {
    id,
    object: "charge",
    amount: pi.amount,
    amount_captured: ok ? pi.amount : 0,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: balanceTransaction,
    billing_details: {
      address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null },
      email: null,
      name: null,
      phone: null,
      tax_id: null,
    },
    calculated_statement_descriptor: "EMULATOR",
    captured: ok,
    created: nowSeconds(),
    currency: pi.currency,
    customer: pi.customer,
    description: pi.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: failure?.code ?? null,
    failure_message: failure?.message ?? null,
    fraud_details: {},
    livemode: false,
    metadata: { ...pi.metadata },
    on_behalf_of: null,
    outcome: {
      advice_code: null,
      network_advice_code: null,
      network_decline_code: null,
      network_status: ok ? "approved_by_network" : "declined_by_network",
      reason: failure?.declineCode ?? null,
      risk_level: "normal",
      risk_score: 32,
      seller_message: ok
        ? "Payment complete."
        : "The bank did not return any further details with this decline.",
      type: ok ? "authorized" : "issuer_declined",
    },
    paid: ok,
    payment_intent: pi.id,
    payment_method: pm.id,
    payment_method_details: {
      card: {
        amount_authorized: ok ? pi.amount : null,
        brand: pm.card.brand,
        checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: "pass" },
        country: "US",
        exp_month: 12,
        exp_year: new Date().getUTCFullYear() + 3,
        extended_authorization: { status: "disabled" },
        fingerprint: pm.card.fingerprint,
        funding: "credit",
        incremental_authorization: { status: "unavailable" },
        installments: null,
        last4: pm.card.last4,
        mandate: null,
        multicapture: { status: "unavailable" },
        network: pm.card.brand,
        network_token: { used: false },
        overcapture: { maximum_amount_capturable: pi.amount, status: "unavailable" },
        three_d_secure: null,
        wallet: null,
        authorization_code: ok ? String(100000 + Math.floor(Math.random() * 900000)) : null,
        regulated_status: "unregulated",
        network_transaction_id: randomChars(15),
        transaction_link_id: null,
      },
      type: "card",
    },
    receipt_email: pi.receipt_email,
    // Null until a receipt is sent, which needs receipt_email (Charge object, receipt_number).
    receipt_number:
      ok && pi.receipt_email
        ? `${1000 + Math.floor(Math.random() * 9000)}-${1000 + Math.floor(Math.random() * 9000)}`
        : null,
    receipt_url: `https://pay.stripe.com/receipts/payment/${randomChars(60)}`,
    // No `refunds` list: since API 2022-11-15 a Charge embeds it only with `expand[]=refunds`.
    refunded: false,
    review: null,
    shipping: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: ok ? "succeeded" : "failed",
    transfer_data: null,
    transfer_group: null,
    source: null,
  };
}

export type Refund = StripeObject & {
  amount: number;
  charge: string;
  status: string;
  reason: string | null;
  metadata: Metadata;
};

export function refund(p: {
  charge: Charge;
  amount: number;
  reason: string | null;
  metadata: Metadata;
  balanceTransaction: string;
  status: "pending" | "succeeded";
}): Refund {
  return {
    id: newId("re"),
    object: "refund",
    amount: p.amount,
    balance_transaction: p.balanceTransaction,
    charge: p.charge.id,
    created: nowSeconds(),
    currency: p.charge.currency,
    destination_details: {
      card: {
        reference: randomChars(12),
        reference_status: "pending",
        reference_type: "acquirer_reference_number",
        type: "refund",
      },
      type: "card",
    },
    metadata: p.metadata,
    payment_intent: p.charge.payment_intent,
    reason: p.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: p.status,
    transfer_reversal: null,
    customer: p.charge.customer,
    customer_account: null,
    payment_method: (p.charge.payment_method as string | null) ?? null,
  };
}

export const DISPUTE_REASONS = [
  "bank_cannot_process",
  "credit_not_processed",
  "customer_initiated",
  "debit_not_authorized",
  "duplicate",
  "fraudulent",
  "general",
  "incorrect_account_details",
  "insufficient_funds",
  "product_not_received",
  "product_unacceptable",
  "subscription_canceled",
  "unrecognized",
] as const;

const EVIDENCE_KEYS = [
  "access_activity_log",
  "billing_address",
  "cancellation_policy",
  "cancellation_policy_disclosure",
  "cancellation_rebuttal",
  "customer_communication",
  "customer_email_address",
  "customer_name",
  "customer_purchase_ip",
  "customer_signature",
  "duplicate_charge_documentation",
  "duplicate_charge_explanation",
  "duplicate_charge_id",
  "product_description",
  "receipt",
  "refund_policy",
  "refund_policy_disclosure",
  "refund_refusal_explanation",
  "service_date",
  "service_documentation",
  "shipping_address",
  "shipping_carrier",
  "shipping_date",
  "shipping_documentation",
  "shipping_tracking_number",
  "uncategorized_file",
  "uncategorized_text",
];

export type Dispute = StripeObject & {
  status: string;
  amount: number;
  charge: string;
  evidence_details: { due_by: number } & Record<string, unknown>;
};

export function dispute(ch: Charge, reason: string, balanceTransaction: string): Dispute {
  const evidence: Record<string, unknown> = Object.fromEntries(EVIDENCE_KEYS.map((k) => [k, null]));
  evidence.enhanced_evidence = {};
  const created = nowSeconds();
  return {
    id: newId("dp"),
    object: "dispute",
    amount: ch.amount - ch.amount_refunded,
    balance_transactions: [balanceTransaction],
    charge: ch.id,
    created,
    currency: ch.currency,
    evidence,
    evidence_details: {
      due_by: created + 7 * 86400,
      has_evidence: false,
      past_due: false,
      submission_count: 0,
      enhanced_eligibility: {},
    },
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: ch.payment_intent,
    payment_method_details: {
      card: {
        brand: (ch.payment_method_details as { card: { brand: string } }).card.brand,
        case_type: "chargeback",
        network_reason_code: "10.4",
        network: "visa",
      },
      type: "card",
    },
    reason,
    status: "needs_response",
    enhanced_eligibility_types: [],
  };
}
