import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { refunds } from "../../src/db/schema";
import { bodyOf } from "../helpers/body";
import { expectEnvelope, postJson } from "../helpers/http";
import { stripeClient } from "../helpers/stripe";
import { safeId, withAbortTrigger } from "../reliability/helpers";
import { db, newCaller, paidPayment, paymentRow, stripeIntentId } from "./helpers";

/**
 * Review of issue 12: a refund Stripe made whose D1 write then failed was invisible to us (no
 * row, webhook not yet arrived), so a second admin refund under another key was decided on
 * totals without it and refunded the same money again.
 */
const refund = (id: string, body: unknown, headers: Record<string, string>) =>
  postJson(`/api/v1/payments/${id}/refund`, body, headers);

const stripeRefunds = async (paymentId: string) =>
  (await stripeClient().refunds.list({ payment_intent: await stripeIntentId(paymentId), limit: 100 })).data;

describe("a refund whose D1 write failed after Stripe made it", () => {
  it("is found at Stripe before the next refund: the second refund is refused, never made twice", async () => {
    const user = await newCaller("user");
    const admin = await newCaller("admin");
    const p = await paidPayment(user, 6000);
    const body = { amount: 2000, reason: "duplicate" };

    await withAbortTrigger("refunds", "INSERT", `NEW.payment_id = ${safeId(p.payment_id)}`, async () => {
      const lost = await refund(p.payment_id, body, {
        ...admin.headers,
        "idempotency-key": crypto.randomUUID(),
      });
      await expectEnvelope(lost, 500, "INTERNAL");
    });
    expect(await db().select().from(refunds).where(eq(refunds.paymentId, p.payment_id))).toHaveLength(0);
    expect(await stripeRefunds(p.payment_id)).toHaveLength(1);

    // The admin, told it failed, tries again under a new key: Stripe's refund is recorded first,
    // and the new one is refused because it was decided on totals that were wrong.
    const again = await refund(p.payment_id, body, {
      ...admin.headers,
      "idempotency-key": crypto.randomUUID(),
    });
    const refused = await expectEnvelope(again, 409, "CONFLICT");
    expect(refused.error.details).toMatchObject({ code: "unrecorded_refunds", refunds: [{ amount: 2000 }] });
    expect(await stripeRefunds(p.payment_id)).toHaveLength(1);
    expect(await paymentRow(p.payment_id)).toMatchObject({
      status: "partially_refunded",
      amountRefunded: 2000,
    });

    // Now that the totals are true, a deliberate further refund goes through against them.
    const rest = await refund(p.payment_id, { reason: "requested_by_customer" }, admin.headers);
    const done = await bodyOf(rest, "POST /payments/:payment_id/refund", 201);
    expect(done.refund.amount).toBe(4000);
    expect(done.payment).toMatchObject({ status: "refunded", amount_refunded: 6000 });
    expect((await stripeRefunds(p.payment_id)).reduce((sum, r) => sum + r.amount, 0)).toBe(6000);
  });

  it("the same request retried under its own key completes the lost refund, once", async () => {
    const user = await newCaller("user");
    const admin = await newCaller("admin");
    const p = await paidPayment(user, 5000);
    const headers = { ...admin.headers, "idempotency-key": crypto.randomUUID() };
    const body = { amount: 1500, reason: "requested_by_customer" };

    await withAbortTrigger("refunds", "INSERT", `NEW.payment_id = ${safeId(p.payment_id)}`, async () => {
      await expectEnvelope(await refund(p.payment_id, body, headers), 500, "INTERNAL");
    });
    const retry = await bodyOf(
      await refund(p.payment_id, body, headers),
      "POST /payments/:payment_id/refund",
      201,
    );
    expect(retry.refund).toMatchObject({ amount: 1500, reason: "requested_by_customer" });
    expect(retry.payment).toMatchObject({ status: "partially_refunded", amount_refunded: 1500 });
    expect(await stripeRefunds(p.payment_id)).toHaveLength(1);
  });
});
