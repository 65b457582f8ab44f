import { eq } from "drizzle-orm";
import Stripe from "stripe";
import { z } from "zod";
import { webhookEvents } from "../../db/schema";
import type { Deps } from "../../platform/deps";
import { ApiError } from "../../platform/errors";
import { webhookCrypto } from "../stripe-client";
import { ref } from "../stripe-objects";
import { drainDeferred } from "./deferred";
import { claim, runClaimed } from "./ledger";

/** Stripe's default tolerance: a signature older than this is a replay. */
export const SIGNATURE_TOLERANCE_S = 300;
/**
 * The fields we store and dispatch on. Only Stripe can sign, but a signed body is still
 * input: a malformed one is a 400, never a failed INSERT answered with 500.
 */
const eventShape = z.object({
  // Stripe's event ids are ~30 characters; domain-event ids built from them must fit in 128.
  id: z.string().min(1).max(100),
  type: z.string().min(1).max(255),
  created: z.number().int().nonnegative(),
  data: z.object({ object: z.record(z.string(), z.unknown()) }),
});

/**
 * The SDK only checks a signature's age (`now - t > tolerance`), so one dated ahead passes
 * however far ahead it is. Stripe signs with its send time, so `t` beyond the tolerance in the
 * future is a forged or replay-staged delivery (or a broken clock): refused the same way.
 * Every `t=` element counts; a header without one is left to the SDK, which refuses it.
 */
function signedInTheFuture(header: string, nowS = Math.floor(Date.now() / 1000)): boolean {
  return header
    .split(",")
    .map((part) => part.trim().split("="))
    .some(([k, v]) => k === "t" && (!/^\d{1,12}$/.test(v ?? "") || Number(v) > nowS + SIGNATURE_TOLERANCE_S));
}

/** A `received` event older than this was abandoned mid-flight and may be retried. */
const ABANDONED_MS = 2 * 60_000;

export type WebhookResult = { received: true; duplicate: boolean; status: string };

/**
 * Verifies the signature over the raw body, records the event once (its id is the
 * primary key, so a redelivery is a failed INSERT), and applies it.
 */
export async function handleWebhook(
  deps: Deps,
  body: string,
  signature: string | undefined,
): Promise<WebhookResult> {
  if (!signature) throw new ApiError("BAD_REQUEST", "Missing Stripe-Signature header");
  if (signedInTheFuture(signature)) {
    throw new ApiError("BAD_REQUEST", "Webhook signature is dated in the future");
  }
  let event: Stripe.Event;
  try {
    event = await Stripe.webhooks.constructEventAsync(
      body,
      signature,
      deps.config.STRIPE_WEBHOOK_SECRET,
      SIGNATURE_TOLERANCE_S,
      webhookCrypto,
    );
  } catch {
    throw new ApiError("BAD_REQUEST", "Webhook signature is invalid or too old");
  }
  if (!eventShape.safeParse(event).success) throw new ApiError("BAD_REQUEST", "Webhook event is malformed");

  const inserted = await deps.db
    .insert(webhookEvents)
    .values({
      id: event.id,
      type: event.type,
      stripeCreated: event.created,
      objectId: ref(event.data.object),
      payload: body,
      status: "received",
      attempts: 1,
      receivedAt: Date.now(),
    })
    .onConflictDoNothing()
    .returning({ id: webhookEvents.id });

  if (inserted.length === 0) {
    const existing = await deps.db.select().from(webhookEvents).where(eq(webhookEvents.id, event.id)).get();
    const retryable =
      existing &&
      (existing.status === "failed" ||
        (existing.status === "received" && existing.receivedAt < Date.now() - ABANDONED_MS));
    if (!existing || !retryable || !(await claim(deps, event.id, existing.status as "failed" | "received"))) {
      return { received: true, duplicate: true, status: existing?.status ?? "received" };
    }
  }

  const outcome = await runClaimed(deps, event);
  if (outcome.status === "deferred") {
    // The row may have been written while we parked the event: try once more now.
    await drainDeferred(deps, outcome.key);
  }
  return { received: true, duplicate: false, status: outcome.status };
}
