import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { webhookEvents } from "../../src/db/schema";
import { testDeps } from "../helpers/deps";
import { expectEnvelope } from "../helpers/http";
import { deliverWebhook, pullWebhooks, signPayload } from "../helpers/stripe";
import { confirm, createIntent, db, newCaller, paymentRow, stripeIntentId } from "./helpers";

async function succeededDelivery() {
  const user = await newCaller("user");
  const intent = await createIntent(user);
  expect((await confirm(user, intent.payment_id, "pm_card_visa")).status).toBe(200);
  const piId = await stripeIntentId(intent.payment_id);
  const { deliveries } = await pullWebhooks({ forObject: piId, type: "payment_intent.succeeded" });
  const d = deliveries[0];
  if (!d) throw new Error("no delivery");
  return { user, intent, piId, delivery: d };
}

describe("webhook signatures", () => {
  it("forged, stale, missing and tampered signatures are 400 and change nothing", async () => {
    const { delivery } = await succeededDelivery();
    const eventId = JSON.parse(delivery.payload).id as string;
    const forged = await signPayload(delivery.payload, undefined, "whsec_not_the_real_secret");
    const stale = await signPayload(delivery.payload, Math.floor(Date.now() / 1000) - 3600);
    const tampered = delivery.payload.replace('"succeeded"', '"canceled"');
    await expectEnvelope(
      await deliverWebhook({ payload: delivery.payload, signature: forged }),
      400,
      "BAD_REQUEST",
    );
    await expectEnvelope(
      await deliverWebhook({ payload: delivery.payload, signature: stale }),
      400,
      "BAD_REQUEST",
    );
    await expectEnvelope(
      await deliverWebhook({ payload: tampered, signature: delivery.signature }),
      400,
      "BAD_REQUEST",
    );
    await expectEnvelope(
      await deliverWebhook({ payload: delivery.payload, signature: "" }),
      400,
      "BAD_REQUEST",
    );
    expect(await db().select().from(webhookEvents).where(eq(webhookEvents.id, eventId))).toHaveLength(0);
    // The genuine delivery is still accepted afterwards, once.
    const ok = await deliverWebhook(delivery);
    expect(await ok.json()).toMatchObject({ received: true, duplicate: false });
    const again = await deliverWebhook(delivery);
    expect(await again.json()).toMatchObject({ received: true, duplicate: true });
  });

  it("a forged event for a real payment cannot move it", async () => {
    const user = await newCaller("user");
    const intent = await createIntent(user);
    const piId = await stripeIntentId(intent.payment_id);
    const fake = JSON.stringify({
      id: `evt_forged_${crypto.randomUUID().slice(0, 8)}`,
      object: "event",
      type: "payment_intent.succeeded",
      created: Math.floor(Date.now() / 1000),
      data: {
        object: {
          id: piId,
          object: "payment_intent",
          status: "succeeded",
          metadata: { payment_id: intent.payment_id },
        },
      },
    });
    const sig = await signPayload(fake, undefined, "whsec_attacker");
    await expectEnvelope(await deliverWebhook({ payload: fake, signature: sig }), 400, "BAD_REQUEST");
    expect((await paymentRow(intent.payment_id)).status).toBe("requires_payment_method");
  });

  it("an event that arrives before its row is parked, then applied when the row appears", async () => {
    const { intent, piId, delivery } = await succeededDelivery();
    // Simulate the race: the row is not there yet when Stripe's event lands.
    const row = await paymentRow(intent.payment_id);
    const { payments } = await import("../../src/db/schema");
    await db().delete(payments).where(eq(payments.id, intent.payment_id));
    const res = await deliverWebhook(delivery);
    expect(await res.json()).toMatchObject({ status: "deferred" });
    const parked = await db().select().from(webhookEvents).where(eq(webhookEvents.objectId, piId));
    expect(parked.map((p) => p.status)).toContain("deferred");

    // The row appears (as create-intent would write it) and the parked event is drained.
    const { drainDeferred } = await import("../../src/payments/webhooks/deferred");
    await db()
      .insert(payments)
      .values({ ...row, status: "requires_payment_method", paidAt: null, cardBrand: null, cardLast4: null });
    const deps = testDeps();
    expect(await drainDeferred(deps, piId)).toBe(1);
    expect(await paymentRow(intent.payment_id)).toMatchObject({ status: "succeeded", cardLast4: "4242" });
    const after = await db()
      .select()
      .from(webhookEvents)
      .where(eq(webhookEvents.id, JSON.parse(delivery.payload).id));
    expect(after[0]?.status).toBe("processed");
  });

  it("the 5-minute cron re-applies events still parked after their row appeared another way", async () => {
    const { intent, piId, delivery } = await succeededDelivery();
    const row = await paymentRow(intent.payment_id);
    const { payments } = await import("../../src/db/schema");
    await db().delete(payments).where(eq(payments.id, intent.payment_id));
    expect(await (await deliverWebhook(delivery)).json()).toMatchObject({ status: "deferred" });
    // The row comes back without draining (e.g. written by another isolate), and time passes.
    await db()
      .insert(payments)
      .values({ ...row, status: "requires_payment_method", paidAt: null, cardBrand: null, cardLast4: null });
    await db()
      .update(webhookEvents)
      .set({ receivedAt: Date.now() - 10 * 60_000 })
      .where(eq(webhookEvents.objectId, piId));

    const { createExecutionContext, createScheduledController, waitOnExecutionContext } = await import(
      "cloudflare:test"
    );
    const { env } = await import("cloudflare:workers");
    const worker = (await import("../../src/index")).default;
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await paymentRow(intent.payment_id)).toMatchObject({ status: "succeeded", cardLast4: "4242" });
  });
});
