import { eq } from "drizzle-orm";
import type Stripe from "stripe";
import { payments } from "../../db/schema";
import type { Deps } from "../../platform/deps";
import { applyIntent } from "../payment-sync";
import { isMissing, mapStripeError } from "../stripe-errors";
import type { PaymentRow } from "../views";
import { deferred, type EventHandler, ignored, processed } from "./types";

/** Our row for an intent: by Stripe id, else by the payment_id we put in its metadata. */
export async function paymentForIntent(
  deps: Deps,
  piId: string,
  metadataPaymentId: string | null | undefined,
): Promise<PaymentRow | undefined> {
  const byPi = await deps.db.select().from(payments).where(eq(payments.stripePaymentIntentId, piId)).get();
  if (byPi || !metadataPaymentId) return byPi;
  return deps.db.select().from(payments).where(eq(payments.id, metadataPaymentId)).get();
}

/**
 * payment_intent.* (succeeded, payment_failed, processing, canceled, requires_action…).
 * The event only says "this intent changed": we re-read the intent, so replays and
 * out-of-order deliveries all converge on Stripe's current state, forward-only.
 */
export const onPaymentIntent: EventHandler = async (deps, event) => {
  const pi = event.data.object as Stripe.PaymentIntent;
  const row = await paymentForIntent(deps, pi.id, pi.metadata?.payment_id);
  if (!row) return pi.metadata?.payment_id ? deferred(pi.id) : ignored("intent not created by this platform");
  let current: Stripe.PaymentIntent = pi;
  try {
    current = await deps.stripe.paymentIntents.retrieve(pi.id);
  } catch (err) {
    if (!isMissing(err)) throw mapStripeError(err, "payment intent retrieve");
  }
  await applyIntent(deps, row, current);
  return processed;
};
