import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { webhookEvents } from "../../src/db/schema";
import { retryDeferred } from "../../src/payments/webhooks/deferred";
import { testDeps } from "../helpers/deps";
import { expectEnvelope } from "../helpers/http";
import { deliverWebhook, signPayload } from "../helpers/stripe";
import { db } from "./helpers";

/** Issue 12, items 9 and 10. */
function eventPayload(type: string, object: Record<string, unknown>) {
  const id = `evt_guard_${crypto.randomUUID().slice(0, 12)}`;
  return {
    id,
    payload: JSON.stringify({ id, object: "event", type, created: 1_700_000_000, data: { object } }),
  };
}

const ledgerRow = (id: string) => db().select().from(webhookEvents).where(eq(webhookEvents.id, id)).get();

/** An invoice.paid for Stripe subscription `subId`, whose subscription metadata is `metadata`. */
function invoice(subId: string, metadata: Record<string, string>) {
  return eventPayload("invoice.paid", {
    id: `in_${crypto.randomUUID().slice(0, 12)}`,
    object: "invoice",
    currency: "usd",
    amount_paid: 900,
    customer: "cus_elsewhere",
    parent: { type: "subscription_details", subscription_details: { subscription: subId, metadata } },
  });
}

async function deliver(e: { payload: string }) {
  return deliverWebhook({ payload: e.payload, signature: await signPayload(e.payload) });
}

describe("webhook signatures dated in the future", () => {
  it("a valid signature dated an hour ahead is 400 and stores nothing; within the tolerance it is accepted", async () => {
    const now = Math.floor(Date.now() / 1000);
    const ahead = eventPayload("customer.created", { id: "cus_future", object: "customer" });
    // Before the fix the SDK accepted it: it only checks that `t` is not too old.
    const res = await deliverWebhook({
      payload: ahead.payload,
      signature: await signPayload(ahead.payload, now + 3600),
    });
    await expectEnvelope(res, 400, "BAD_REQUEST");
    expect(await ledgerRow(ahead.id)).toBeUndefined();

    const skewed = eventPayload("customer.created", { id: "cus_skewed", object: "customer" });
    const ok = await deliverWebhook({
      payload: skewed.payload,
      signature: await signPayload(skewed.payload, now + 60),
    });
    expect(ok.status).toBe(200);
    expect((await ledgerRow(skewed.id))?.status).toBe("ignored");
  });
});

describe("invoices for subscriptions the platform does not own", () => {
  it("are ignored, not parked; an invoice naming our subscription id is still parked", async () => {
    const foreign = invoice(`sub_foreign_${crypto.randomUUID().slice(0, 8)}`, { plan: "someone-else" });
    const res = await deliver(foreign);
    // Before the fix: `deferred`, and re-parked by every sweep.
    expect(await res.json()).toMatchObject({ status: "ignored" });
    expect(await ledgerRow(foreign.id)).toMatchObject({
      status: "ignored",
      error: "invoice for a subscription not ours",
    });

    const ours = invoice(`sub_ours_${crypto.randomUUID().slice(0, 8)}`, {
      subscription_id: crypto.randomUUID(),
    });
    expect(await (await deliver(ours)).json()).toMatchObject({ status: "deferred" });
  });
});

describe("the deferred sweep", () => {
  it("takes the oldest parked events first, and a re-parked event goes to the back", async () => {
    const parked: string[] = [];
    for (let i = 0; i < 3; i++) {
      const e = invoice(`sub_wait_${crypto.randomUUID().slice(0, 8)}`, {
        subscription_id: crypto.randomUUID(),
      });
      expect(await (await deliver(e)).json()).toMatchObject({ status: "deferred" });
      parked.push(e.id);
    }
    // Parked in reverse: the last delivered is the oldest.
    const [youngest, middle, oldest] = parked as [string, string, string];
    const ago = (min: number) => Date.now() - min * 60_000;
    for (const [id, at] of [
      [oldest, ago(30)],
      [middle, ago(20)],
      [youngest, ago(10)],
    ] as const) {
      await db().update(webhookEvents).set({ receivedAt: at }).where(eq(webhookEvents.id, id));
    }
    const counts = async () => Promise.all(parked.map(async (id) => (await ledgerRow(id))?.attempts ?? 0));
    const base = await counts();
    // Attempts made by the sweeps so far, per event (delivery itself already re-checked once).
    const retried = async () => (await counts()).map((n, i) => n - (base[i] ?? 0));
    const deps = testDeps();

    await retryDeferred(deps, 5 * 60_000, 1);
    expect(await retried()).toEqual([0, 0, 1]); // the oldest, re-parked now
    await retryDeferred(deps, 5 * 60_000, 1);
    expect(await retried()).toEqual([0, 1, 1]);
    await retryDeferred(deps, 5 * 60_000, 1);
    expect(await retried()).toEqual([1, 1, 1]);
    for (const id of parked) expect((await ledgerRow(id))?.status).toBe("deferred");
  });
});
