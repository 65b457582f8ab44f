import { eq, like } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { disputes, domainEvents } from "../../src/db/schema";
import {
  appealDispute,
  closeDispute,
  deliverWebhook,
  openDispute,
  pullWebhooks,
  updateDispute,
} from "../helpers/stripe";
import { db, deliverAllFor, newCaller, paidPayment, paymentRow, stripeIntentId } from "./helpers";

/** The domain events published for one Stripe dispute, as (type, status) in id order. */
async function published(stripeDisputeId: string) {
  const rows = await db()
    .select()
    .from(domainEvents)
    .where(like(domainEvents.id, `dispute.%:${stripeDisputeId}%`));
  return rows
    .map((r) => ({ id: r.id, type: r.type, status: (r.payload as { status?: string }).status ?? null }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

async function disputeStatus(stripeDisputeId: string) {
  const row = await db().select().from(disputes).where(eq(disputes.stripeDisputeId, stripeDisputeId)).get();
  return row?.status;
}

describe("dispute transitions (issue 12, review finding 7)", () => {
  it("created → under_review → lost → appeal → won: each move applies once, the won appeal closes again", async () => {
    const user = await newCaller("user");
    const p = await paidPayment(user, 3100);
    const dp = await openDispute({ payment_intent: await stripeIntentId(p.payment_id) });
    await deliverAllFor(dp.id);
    await updateDispute(dp.id, { status: "under_review" });
    await deliverAllFor(dp.id);
    await closeDispute(dp.id, "lost");
    await deliverAllFor(dp.id);
    expect(await disputeStatus(dp.id)).toBe("lost");
    await appealDispute(dp.id);
    await deliverAllFor(dp.id);
    expect(await disputeStatus(dp.id)).toBe("appeal_needs_response");
    await updateDispute(dp.id, { status: "appeal_under_review" });
    await deliverAllFor(dp.id);
    await closeDispute(dp.id, "won");
    const all = await deliverAllFor(dp.id); // every event delivered again: all duplicates or no-ops
    expect(all.map((d) => d.type)).toContain("charge.dispute.closed");

    expect(await disputeStatus(dp.id)).toBe("won");
    expect((await paymentRow(p.payment_id)).status).toBe("disputed");
    const events = await published(dp.id);
    expect(events.filter((e) => e.type === "dispute.created")).toHaveLength(1);
    expect(
      events
        .filter((e) => e.type === "dispute.closed")
        .map((e) => e.status)
        .sort(),
    ).toEqual(["lost", "won"]);
    expect(
      events
        .filter((e) => e.type === "dispute.updated")
        .map((e) => e.status)
        .sort(),
    ).toEqual(["appeal_needs_response", "appeal_under_review", "under_review"]);
  });

  it("out of order: closed(won) delivered first, then the older events, publishes one close and never moves back", async () => {
    const user = await newCaller("user");
    const p = await paidPayment(user, 2700);
    const dp = await openDispute({ payment_intent: await stripeIntentId(p.payment_id) });
    await updateDispute(dp.id, { status: "under_review" });
    await closeDispute(dp.id, "won");
    const { deliveries } = await pullWebhooks({ forObject: dp.id });
    expect(deliveries.map((d) => d.type)).toEqual([
      "charge.dispute.created",
      "charge.dispute.updated",
      "charge.dispute.closed",
    ]);
    for (const d of [...deliveries].reverse()) expect((await deliverWebhook(d)).status).toBe(200);

    expect(await disputeStatus(dp.id)).toBe("won");
    expect((await paymentRow(p.payment_id)).status).toBe("disputed");
    const events = await published(dp.id);
    expect(events.map((e) => [e.type, e.status])).toEqual([
      ["dispute.closed", "won"],
      ["dispute.created", null],
    ]);
  });
});
