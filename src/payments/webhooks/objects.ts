import { z } from "zod";

/**
 * The parts of Stripe's objects that our webhook handlers read, per event family. A signed
 * event is still input: Stripe's own objects always carry these fields, so an event that
 * lacks one is malformed and is recorded as `ignored` before any query runs (issue 19: a
 * `payment_intent.succeeded` whose object had no id reached D1 with an undefined parameter).
 * Objects stay loose: everything else passes through untouched for the handlers.
 */
// Stripe ids are short (`pi_` + 24 characters); 100 leaves room for the domain-event ids built
// from them (`dispute.created:<id>`), which publish() bounds at 128.
const id = z.string().min(1).max(100);
const expandable = z.union([id, z.looseObject({ id })]);
const metadata = z.record(z.string(), z.string()).nullish();
const amount = z.number().int().nonnegative().max(1e12);
const currency = z.string().min(3).max(3);
/** Unix seconds; bounded so that × 1000 stays a finite, storable number of milliseconds. */
const time = z.number().int().nonnegative().max(253_402_300_799);
const text = z.string().max(5000);

const charge = z.looseObject({
  id,
  created: time.optional(),
  receipt_url: text.nullish(),
  receipt_number: text.nullish(),
  payment_method_details: z
    .looseObject({ card: z.looseObject({ brand: text.nullish(), last4: text.nullish() }).nullish() })
    .nullish(),
});

const paymentIntent = z.looseObject({
  id,
  metadata,
  status: text.optional(),
  customer: expandable.nullish(),
  latest_charge: z.union([id, charge]).nullish(),
  last_payment_error: z.looseObject({ code: text.nullish(), decline_code: text.nullish() }).nullish(),
});

const refund = z.looseObject({
  id,
  payment_intent: expandable.nullish(),
  metadata,
  amount,
  currency,
  status: text.nullish(),
  reason: text.nullish(),
  created: time.optional(),
});

const chargeWithRefunds = charge.extend({
  payment_intent: expandable.nullish(),
  metadata,
  refunds: z.looseObject({ data: z.array(refund), has_more: z.boolean() }).nullish(),
});

const dispute = z.looseObject({
  id,
  amount,
  currency,
  status: z.string().min(1).max(64),
  reason: text.nullish(),
  created: time.optional(),
  charge: expandable.nullish(),
  payment_intent: expandable.nullish(),
  evidence_details: z.looseObject({ due_by: time.nullish() }).nullish(),
});

const subscriptionItem = z.looseObject({
  quantity: z.number().int().nonnegative().nullish(),
  current_period_start: time.nullish(),
  current_period_end: time.nullish(),
  price: z
    .looseObject({
      lookup_key: text.nullish(),
      unit_amount: amount.nullish(),
      currency: currency.nullish(),
      recurring: z.looseObject({ interval: text.nullish() }).nullish(),
    })
    .nullish(),
});

const subscription = z.looseObject({
  id,
  metadata,
  status: z.string().min(1).max(64),
  customer: expandable,
  cancel_at_period_end: z.boolean().optional(),
  canceled_at: time.nullish(),
  ended_at: time.nullish(),
  items: z.looseObject({ data: z.array(subscriptionItem) }).optional(),
});

const invoice = z.looseObject({
  id,
  customer: expandable.nullish(),
  currency,
  amount_paid: amount.optional(),
  number: text.nullish(),
  hosted_invoice_url: text.nullish(),
  status_transitions: z.looseObject({ paid_at: time.nullish() }).nullish(),
});

const webhookObjectSchemas = {
  paymentIntent,
  refund,
  charge: chargeWithRefunds,
  dispute,
  subscription,
  invoice,
};
export type WebhookObjectKind = keyof typeof webhookObjectSchemas;

/** Why an object failed its family's schema, for the `ignored` reason and the log line. */
export function malformedFields(kind: WebhookObjectKind, object: unknown): string | null {
  const parsed = webhookObjectSchemas[kind].safeParse(object);
  if (parsed.success) return null;
  return parsed.error.issues.map((i) => i.path.join(".") || "(object)").join(", ");
}
