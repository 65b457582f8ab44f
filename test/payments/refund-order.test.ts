import { eq } from "drizzle-orm";
import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { payments, refunds } from "../../src/db/schema";
import { applyRefund } from "../../src/payments/refund-sync";
import { testDeps } from "../helpers/deps";
import { expectEnvelope, postJson } from "../helpers/http";
import {
  deliverWebhook,
  emulatorRequests,
  failRefund,
  openDispute,
  pullWebhooks,
  signPayload,
  stripeClient,
  type WebhookDelivery,
} from "../helpers/stripe";
import { db, newCaller, paidPayment, paymentRow, stripeIntentId } from "./helpers";

/**
 * Issue 12, item 3 and item 7's refund leniencies. Refund events are re-read from Stripe and a
 * refund's status only moves forward (refund-state.ts), so stale or replayed deliveries, in any
 * order, end on Stripe's truth.
 */
async function refundedPayment(amount = 5000, refundAmount = 2000) {
  const user = await newCaller("user");
  const admin = await newCaller("admin");
  const p = await paidPayment(user, amount);
  const res = await postJson(
    `/api/v1/payments/${p.payment_id}/refund`,
    { amount: refundAmount, reason: "requested_by_customer" },
    admin.headers,
  );
  expect(res.status).toBe(201);
  const row = await db().select().from(refunds).where(eq(refunds.paymentId, p.payment_id)).get();
  if (!row?.stripeRefundId) throw new Error("no refund row");
  return { paymentId: p.payment_id, stripeRefundId: row.stripeRefundId };
}

/** A `refund.updated` carrying the refund as it was when created (status succeeded): a stale delivery. */
async function staleSucceeded(stripeRefundId: string): Promise<WebhookDelivery> {
  const { deliveries } = await pullWebhooks({ type: "refund.created", forObject: stripeRefundId });
  const created = deliveries[0];
  if (!created) throw new Error("no refund.created");
  const event = JSON.parse(created.payload) as Stripe.Event;
  expect((event.data.object as Stripe.Refund).status).toBe("succeeded");
  const payload = JSON.stringify({
    ...event,
    id: `evt_stale_${crypto.randomUUID().slice(0, 12)}`,
    type: "refund.updated",
  });
  return { ...created, payload, signature: await signPayload(payload) };
}

async function failedDeliveries(stripeRefundId: string) {
  await failRefund(stripeRefundId);
  const { deliveries } = await pullWebhooks({ type: "refund.*", forObject: stripeRefundId });
  return deliveries.filter((d) => (JSON.parse(d.payload).data.object as Stripe.Refund).status === "failed");
}

async function deliverAll(ds: WebhookDelivery[]) {
  for (const d of ds) expect((await deliverWebhook(d)).status).toBe(200);
}

async function expectRolledBackRefund(paymentId: string, stripeRefundId: string) {
  const r = await db().select().from(refunds).where(eq(refunds.stripeRefundId, stripeRefundId)).get();
  expect(r?.status).toBe("failed");
  expect(await paymentRow(paymentId)).toMatchObject({ status: "succeeded", amountRefunded: 0 });
}

describe("refund webhooks move a refund forward only", () => {
  it("a stale refund.updated(succeeded) after refund.failed changes nothing (and replays neither)", async () => {
    const { paymentId, stripeRefundId } = await refundedPayment();
    const stale = await staleSucceeded(stripeRefundId);
    const failed = await failedDeliveries(stripeRefundId);
    expect(failed.map((d) => d.type).sort()).toEqual(["refund.failed", "refund.updated"]);

    await deliverAll(failed);
    await expectRolledBackRefund(paymentId, stripeRefundId);
    // Before the fix: the payload's `succeeded` was copied, amount_refunded went back to 2000.
    await deliverAll([stale]);
    await expectRolledBackRefund(paymentId, stripeRefundId);
    await deliverAll([...failed, stale, stale]);
    await expectRolledBackRefund(paymentId, stripeRefundId);
  });

  it("the other order (stale first, then refund.failed) ends the same", async () => {
    const { paymentId, stripeRefundId } = await refundedPayment();
    const stale = await staleSucceeded(stripeRefundId);
    const failed = await failedDeliveries(stripeRefundId);
    await deliverAll([stale]);
    await deliverAll(failed);
    await expectRolledBackRefund(paymentId, stripeRefundId);
    await deliverAll([stale, ...failed]);
    await expectRolledBackRefund(paymentId, stripeRefundId);
    // An admin can refund what is left again (the failed refund no longer counts).
    const admin = await newCaller("admin");
    const again = await postJson(
      `/api/v1/payments/${paymentId}/refund`,
      { reason: "duplicate" },
      admin.headers,
    );
    expect(again.status).toBe(201);
    expect(await paymentRow(paymentId)).toMatchObject({ status: "refunded", amountRefunded: 5000 });
  });

  it("the conditional UPDATE alone refuses failed → succeeded, even given a stale object", async () => {
    const { paymentId, stripeRefundId } = await refundedPayment();
    const deps = testDeps();
    const stripe = stripeClient();
    const current = await stripe.refunds.retrieve(stripeRefundId);
    await applyRefund(deps, await paymentRow(paymentId), { ...current, status: "failed" });
    const moved = await applyRefund(deps, await paymentRow(paymentId), { ...current, status: "succeeded" });
    expect(moved).toEqual({ before: "failed", after: "failed" });
    await expectRolledBackRefund(paymentId, stripeRefundId);
    // Forward moves still apply: pending → succeeded.
    await db().update(refunds).set({ status: "pending" }).where(eq(refunds.stripeRefundId, stripeRefundId));
    expect(await applyRefund(deps, await paymentRow(paymentId), current)).toEqual({
      before: "pending",
      after: "succeeded",
    });
  });
});

describe("charge.refunded without an embedded refunds list", () => {
  it("lists the payment's refunds from Stripe (GET /v1/refunds) and records one made outside the platform", async () => {
    const user = await newCaller("user");
    const p = await paidPayment(user, 4000);
    const piId = await stripeIntentId(p.payment_id);
    // A refund made in Stripe's dashboard: only the webhooks tell us.
    const outside = await stripeClient().refunds.create({ payment_intent: piId, amount: 1500 });
    const { deliveries } = await pullWebhooks({ type: "charge.refunded", forObject: piId });
    const d = deliveries[0];
    if (!d) throw new Error("no charge.refunded");
    expect("refunds" in JSON.parse(d.payload).data.object).toBe(false);
    expect(await (await deliverWebhook(d)).json()).toMatchObject({ status: "processed" });

    const listed = (await emulatorRequests({ path_prefix: "/v1/refunds" })).filter(
      (r) => r.method === "GET" && r.path === "/v1/refunds" && r.params.payment_intent === piId,
    );
    expect(listed.length).toBeGreaterThan(0);
    const row = await db().select().from(refunds).where(eq(refunds.stripeRefundId, outside.id)).get();
    expect(row).toMatchObject({ amount: 1500, status: "succeeded", createdBy: "stripe" });
    expect(await paymentRow(p.payment_id)).toMatchObject({
      status: "partially_refunded",
      amountRefunded: 1500,
    });
  });
});

describe("refunding a disputed payment", () => {
  it("Stripe's charge_disputed is a 409 CONFLICT, and nothing is written", async () => {
    const user = await newCaller("user");
    const admin = await newCaller("admin");
    const p = await paidPayment(user, 2500);
    // The dispute exists at Stripe; its webhook has not reached us, so our row still looks refundable.
    await openDispute({ payment_intent: await stripeIntentId(p.payment_id) });
    const res = await postJson(
      `/api/v1/payments/${p.payment_id}/refund`,
      { reason: "duplicate" },
      admin.headers,
    );
    const body = await expectEnvelope(res, 409, "CONFLICT");
    expect(body.error.details).toMatchObject({ code: "charge_disputed" });
    expect(await db().select().from(refunds).where(eq(refunds.paymentId, p.payment_id))).toHaveLength(0);
    const row = await db().select().from(payments).where(eq(payments.id, p.payment_id)).get();
    expect(row).toMatchObject({ status: "succeeded", amountRefunded: 0 });
  });
});
