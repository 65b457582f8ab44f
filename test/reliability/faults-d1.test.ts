import { describe, expect, it } from "vitest";
import { expectEnvelope, postJson } from "../helpers/http";
import { deliverWebhook, emulatorRequests, eventOf, pullWebhooks, stripeClient } from "../helpers/stripe";
import { newCaller, paidPayment, paymentRow, stripeIntentId } from "../payments/helpers";
import { countWhere, idempotencyRow, refundsOf, safeId, withAbortTrigger } from "./helpers";

describe("D1 failing mid-request", () => {
  it("refund: the audit insert (last in the batch) aborts → 500 envelope, refund row and totals rolled back; retry completes once", async () => {
    const user = await newCaller("user");
    const admin = await newCaller("admin");
    const p = await paidPayment(user, 8000);
    const piId = await stripeIntentId(p.payment_id);
    const key = `d1-${crypto.randomUUID()}`;
    const headers = { ...admin.headers, "idempotency-key": key };
    const path = `/api/v1/payments/${p.payment_id}/refund`;
    const body = { amount: 3000, reason: "duplicate", note: "d1 fault" };

    await withAbortTrigger("audit_log", "INSERT", `NEW.target_id = ${safeId(p.payment_id)}`, async () => {
      const res = await postJson(path, body, headers);
      const envelope = await expectEnvelope(res, 500, "INTERNAL");
      expect(JSON.stringify(envelope)).not.toContain("injected");
    });
    // The refund insert and the totals update ran before the abort in the same batch: both undone.
    expect(await refundsOf(p.payment_id)).toHaveLength(0);
    expect(await paymentRow(p.payment_id)).toMatchObject({ status: "succeeded", amountRefunded: 0 });
    expect(await countWhere("audit_log", "target_id = ?", p.payment_id)).toBe(0);
    expect(await idempotencyRow(admin.sub, key)).toBeUndefined();

    const retry = await postJson(path, body, headers);
    expect(retry.status, await retry.clone().text()).toBe(201);
    const rows = await refundsOf(p.payment_id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ amount: 3000, note: "d1 fault", createdBy: admin.sub });
    expect(await paymentRow(p.payment_id)).toMatchObject({
      status: "partially_refunded",
      amountRefunded: 3000,
    });
    expect(await countWhere("audit_log", "target_id = ? and action = 'payment.refund'", p.payment_id)).toBe(
      1,
    );
    // Stripe refunded once: the retry reused the refund id derived from the key.
    const made = (await emulatorRequests({ path_prefix: "/v1/refunds" })).filter(
      (r) => r.method === "POST" && r.params.payment_intent === piId && r.status === 200 && !r.replayed,
    );
    expect(made).toHaveLength(1);
  });

  it("webhook: the totals update aborts → 5xx, event marked failed, nothing half-applied; redelivery applies it once", async () => {
    const user = await newCaller("user");
    const p = await paidPayment(user, 5000);
    const piId = await stripeIntentId(p.payment_id);
    // A refund made outside our API (Stripe dashboard): only the webhook tells us.
    const refund = await stripeClient().refunds.create({ payment_intent: piId, amount: 1200 });
    const { deliveries } = await pullWebhooks({ forObject: refund.id, type: "refund.created" });
    const delivery = deliveries[0];
    if (!delivery) throw new Error("no refund.created delivery");
    const eventId = eventOf(delivery).id;

    await withAbortTrigger(
      "payments",
      "UPDATE",
      `OLD.id = ${safeId(p.payment_id)} AND NEW.amount_refunded <> OLD.amount_refunded`,
      async () => {
        const res = await deliverWebhook(delivery);
        expect(res.status).toBeGreaterThanOrEqual(500);
        await expectEnvelope(res, res.status);
      },
    );
    expect(await refundsOf(p.payment_id)).toHaveLength(0);
    expect(await paymentRow(p.payment_id)).toMatchObject({ status: "succeeded", amountRefunded: 0 });
    expect(await countWhere("webhook_events", "id = ? and status = 'failed'", eventId)).toBe(1);

    // Stripe redelivers the same bytes; the failed event is re-claimed and applied once.
    const again = await deliverWebhook(delivery);
    expect(await again.json()).toMatchObject({ received: true, duplicate: false, status: "processed" });
    const third = await deliverWebhook(delivery);
    expect(await third.json()).toMatchObject({ duplicate: true });
    const rows = await refundsOf(p.payment_id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ amount: 1200, stripeRefundId: refund.id });
    expect(await paymentRow(p.payment_id)).toMatchObject({
      status: "partially_refunded",
      amountRefunded: 1200,
    });
    expect(await countWhere("domain_events", "id = ?", `payment.refunded:${refund.id}`)).toBe(1);
  });
});
