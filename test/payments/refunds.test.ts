import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditLog, domainEvents } from "../../src/db/schema";
import { bodyOf } from "../helpers/body";
import { expectEnvelope, postJson } from "../helpers/http";
import { db, deliverAllFor, get, newCaller, paidPayment, paymentRow, stripeIntentId } from "./helpers";

const refund = (id: string, body: unknown, headers: Record<string, string>) =>
  postJson(`/api/v1/payments/${id}/refund`, body, headers);

describe("refunds", () => {
  it("partial then full refund; over-refund rejected; audit rows name the admin", async () => {
    const user = await newCaller("user");
    const admin = await newCaller("admin");
    const p = await paidPayment(user, 5000);

    const first = await refund(
      p.payment_id,
      { amount: 1500, reason: "requested_by_customer", note: "asked nicely" },
      admin.headers,
    );
    expect(first.status).toBe(201);
    const firstBody = await bodyOf(first, "POST /payments/:payment_id/refund", 201);
    expect(firstBody.refund).toMatchObject({
      amount: 1500,
      amount_decimal: "15.00",
      reason: "requested_by_customer",
      note: "asked nicely",
      created_by: admin.sub,
    });
    expect(firstBody.payment).toMatchObject({ status: "partially_refunded", amount_refunded: 1500 });

    const over = await refund(p.payment_id, { amount: 3501, reason: "duplicate" }, admin.headers);
    const overBody = await expectEnvelope(over, 422, "UNPROCESSABLE");
    expect(overBody.error.details).toMatchObject({ amount_refundable: 3500 });

    const rest = await refund(p.payment_id, { reason: "other", note: "goodwill" }, admin.headers);
    expect(rest.status).toBe(201);
    expect((await bodyOf(rest, "POST /payments/:payment_id/refund", 201)).payment).toMatchObject({
      status: "refunded",
      amount_refunded: 5000,
    });

    await expectEnvelope(
      await refund(p.payment_id, { amount: 1, reason: "duplicate" }, admin.headers),
      422,
      "UNPROCESSABLE",
    );

    // Webhooks for the refunds (charge.refunded, refund.*) change nothing more.
    await deliverAllFor(await stripeIntentId(p.payment_id));
    const row = await paymentRow(p.payment_id);
    expect(row).toMatchObject({ status: "refunded", amountRefunded: 5000 });

    const detail = await get(`/api/v1/payments/${p.payment_id}`, user);
    const body = await bodyOf(detail, "GET /payments/:payment_id", 200);
    expect(body.receipt).toMatchObject({ amount_paid: 5000, amount_refunded: 5000, amount_net: 0 });
    expect(body.refunds.map((r) => r.amount).sort()).toEqual([1500, 3500]);
    expect(body.refunds.find((r) => r.amount === 3500)).toMatchObject({ reason: "other", note: "goodwill" });

    const audits = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.targetId, p.payment_id), eq(auditLog.action, "payment.refund")));
    expect(audits).toHaveLength(2);
    expect(audits.every((a) => a.actorId === admin.sub && a.actorRole === "admin")).toBe(true);
    const events = await db().select().from(domainEvents).where(eq(domainEvents.type, "payment.refunded"));
    expect(
      events.filter((e) => (e.payload as { payment_id?: string }).payment_id === p.payment_id),
    ).toHaveLength(2);
  });

  it("non-admins get 403, anonymous 401, bad input 400, unknown payment 404", async () => {
    const user = await newCaller("user");
    const merchant = await newCaller("merchant", crypto.randomUUID());
    const admin = await newCaller("admin");
    const p = await paidPayment(user, 1000);
    await expectEnvelope(await refund(p.payment_id, { reason: "duplicate" }, user.headers), 403, "FORBIDDEN");
    await expectEnvelope(
      await refund(p.payment_id, { reason: "duplicate" }, merchant.headers),
      403,
      "FORBIDDEN",
    );
    await expectEnvelope(await refund(p.payment_id, { reason: "duplicate" }, {}), 401, "UNAUTHENTICATED");
    await expectEnvelope(
      await refund(p.payment_id, { reason: "because" }, admin.headers),
      400,
      "VALIDATION_FAILED",
    );
    await expectEnvelope(
      await refund(p.payment_id, { reason: "duplicate", amount: 0 }, admin.headers),
      400,
      "VALIDATION_FAILED",
    );
    await expectEnvelope(
      await refund(p.payment_id, { reason: "duplicate", card_number: "4242" }, admin.headers),
      400,
      "VALIDATION_FAILED",
    );
    await expectEnvelope(
      await refund(crypto.randomUUID(), { reason: "duplicate" }, admin.headers),
      404,
      "NOT_FOUND",
    );
    expect((await paymentRow(p.payment_id)).amountRefunded).toBe(0);
  });
});
