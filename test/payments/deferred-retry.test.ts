import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { payments, webhookEvents } from "../../src/db/schema";
import { MAX_RERUN_FAILURES, retryDeferred } from "../../src/payments/webhooks/deferred";
import { testDeps } from "../helpers/deps";
import { deliverWebhook, injectFault, signPayload } from "../helpers/stripe";
import { db, paymentRow } from "./helpers";

/**
 * Review of issue 12: a parked webhook whose re-run threw ended `failed` (Stripe had been
 * answered 200, so nobody redelivers it) and the throw aborted the whole sweep.
 */
const ledgerRow = async (id: string) => {
  const row = await db().select().from(webhookEvents).where(eq(webhookEvents.id, id)).get();
  if (!row) throw new Error(`no ledger row ${id}`);
  return row;
};

/** A payment_intent.succeeded for an intent our row does not exist for yet: it is parked. */
async function parkedIntentEvent() {
  const piId = `pi_parked${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const paymentId = crypto.randomUUID();
  const id = `evt_park_${crypto.randomUUID().slice(0, 12)}`;
  const intent = {
    id: piId,
    object: "payment_intent",
    status: "succeeded",
    amount: 1200,
    amount_received: 1200,
    currency: "usd",
    customer: null,
    latest_charge: null,
    last_payment_error: null,
    metadata: { payment_id: paymentId },
  };
  const payload = JSON.stringify({
    id,
    object: "event",
    type: "payment_intent.succeeded",
    created: 1_700_000_000,
    data: { object: intent },
  });
  const res = await deliverWebhook({ payload, signature: await signPayload(payload) });
  expect(await res.json()).toMatchObject({ status: "deferred" });
  return { eventId: id, piId, paymentId };
}

/** The row appears by another path (no drain ran for it). */
async function writeRow(p: { piId: string; paymentId: string }) {
  const t = Date.now();
  await db().insert(payments).values({
    id: p.paymentId,
    userId: crypto.randomUUID(),
    amount: 1200,
    currency: "usd",
    status: "requires_payment_method",
    stripePaymentIntentId: p.piId,
    createdAt: t,
    updatedAt: t,
  });
}

const ageBy = (eventId: string, minutes: number) =>
  db()
    .update(webhookEvents)
    .set({ receivedAt: Date.now() - minutes * 60_000 })
    .where(eq(webhookEvents.id, eventId));

/** Stripe answers 500 to re-reads of this intent (the SDK retries once, so two per call). */
const stripeDownFor = (piId: string, calls = 1) =>
  injectFault({ path_prefix: `/v1/payment_intents/${piId}`, method: "GET", status: 500, count: 2 * calls });

describe("re-running a parked webhook that throws", () => {
  it("is parked again with backoff, isolated from the rest of the sweep, and applied on a later try", async () => {
    const failing = await parkedIntentEvent();
    const healthy = await parkedIntentEvent();
    await writeRow(failing);
    await writeRow(healthy);
    await ageBy(failing.eventId, 30);
    await ageBy(healthy.eventId, 20);
    await stripeDownFor(failing.piId);

    // Before the fix this rejected (the sweep aborted) and `healthy` was never reached.
    await retryDeferred(testDeps(), 5 * 60_000, 2);
    expect(await ledgerRow(failing.eventId)).toMatchObject({ status: "deferred", failures: 1 });
    expect((await ledgerRow(healthy.eventId)).status).toBe("processed");
    expect((await paymentRow(healthy.paymentId)).status).toBe("succeeded");

    // Backoff: after one failure it waits twice the sweep age (10 min), not 5.
    await ageBy(failing.eventId, 7);
    await retryDeferred(testDeps(), 5 * 60_000, 50);
    expect(await ledgerRow(failing.eventId)).toMatchObject({ status: "deferred", failures: 1 });
    await ageBy(failing.eventId, 11);
    await retryDeferred(testDeps(), 5 * 60_000, 50);
    expect((await ledgerRow(failing.eventId)).status).toBe("processed");
    expect((await paymentRow(failing.paymentId)).status).toBe("succeeded");
  });

  it("gives up after MAX_RERUN_FAILURES and stays failed", async () => {
    const e = await parkedIntentEvent();
    await writeRow(e);
    await db()
      .update(webhookEvents)
      .set({ failures: MAX_RERUN_FAILURES - 1, receivedAt: 0 })
      .where(eq(webhookEvents.id, e.eventId));
    await stripeDownFor(e.piId);
    await retryDeferred(testDeps(), 5 * 60_000, 50);
    expect(await ledgerRow(e.eventId)).toMatchObject({ status: "failed", failures: MAX_RERUN_FAILURES });
    expect((await paymentRow(e.paymentId)).status).toBe("requires_payment_method");
  });
});
