import { z } from "zod";

/**
 * The parts of Stripe's objects that our webhook handlers read, per event family. A signed
 * event is still input: Stripe's own objects always carry these fields, so an event that
 * lacks one is malformed and is recorded as `ignored` before any query runs (issue 19: a
 * `payment_intent.succeeded` whose object had no id reached D1 with an undefined parameter).
 * Objects stay loose: everything else passes through untouched for the handlers.
 */
const id = z.string().min(1).max(255);
const expandable = z.union([id, z.looseObject({ id })]);
const metadata = z.record(z.string(), z.string()).nullish();
const amount = z.number().int().nonnegative();
const currency = z.string().min(3).max(3);

const paymentIntent = z.looseObject({ id, metadata });

const refund = z.looseObject({
  id,
  payment_intent: expandable.nullish(),
  metadata,
  amount,
  currency,
  status: z.string().nullish(),
});

const charge = z.looseObject({
  id,
  payment_intent: expandable.nullish(),
  metadata,
  refunds: z.looseObject({ data: z.array(refund), has_more: z.boolean() }).nullish(),
});

const dispute = z.looseObject({
  id,
  amount,
  currency,
  status: z.string().min(1),
  charge: expandable.nullish(),
  payment_intent: expandable.nullish(),
});

const subscription = z.looseObject({ id, metadata, status: z.string().min(1) });

const invoice = z.looseObject({
  id,
  customer: expandable.nullish(),
  currency,
  amount_paid: amount.optional(),
});

export const webhookObjectSchemas = { paymentIntent, refund, charge, dispute, subscription, invoice };
export type WebhookObjectKind = keyof typeof webhookObjectSchemas;

/** Why an object failed its family's schema, for the `ignored` reason and the log line. */
export function malformedFields(kind: WebhookObjectKind, object: unknown): string | null {
  const parsed = webhookObjectSchemas[kind].safeParse(object);
  if (parsed.success) return null;
  return parsed.error.issues.map((i) => i.path.join(".") || "(object)").join(", ");
}
