import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { domainEvents, payments, refunds } from "../../src/db/schema";
import worker from "../../src/index";
import { reconcilePayments } from "../../src/payments/reconcile";
import { testDeps } from "../helpers/deps";
import { postJson } from "../helpers/http";
import {
  confirmClientSide,
  deliverWebhook,
  failRefund,
  pullWebhooks,
  settleProcessing,
  settleRefund,
  startProcessing,
} from "../helpers/stripe";
import { confirm, createIntent, db, newCaller, paymentRow, stripeIntentId } from "./helpers";

/**
 * Issue 12, item 8: the reconciler re-reads from Stripe what a lost webhook would have told
 * us. Each case lets Stripe move on and never delivers the webhook (the emulator records it;
 * nobody sends it), then runs the 5-minute cron.
 */
const HOUR = 60 * 60_000;

/** Pretends the row has been unsettled for an hour (longer than PAYMENT_RECONCILE_AFTER_MINUTES). */
const agePayment = (id: string) =>
  db()
    .update(payments)
    .set({ updatedAt: Date.now() - HOUR })
    .where(eq(payments.id, id));
const ageRefund = (stripeRefundId: string) =>
  db()
    .update(refunds)
    .set({ updatedAt: Date.now() - HOUR })
    .where(eq(refunds.stripeRefundId, stripeRefundId));

async function runCron() {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/** A payment our row shows as `processing` (the processing webhook was delivered). */
async function processingPayment() {
  const user = await newCaller("user");
  const intent = await createIntent(user);
  const piId = await stripeIntentId(intent.payment_id);
  await startProcessing(piId, "pm_card_visa");
  const { deliveries } = await pullWebhooks({ type: "payment_intent.processing", forObject: piId });
  for (const d of deliveries) expect((await deliverWebhook(d)).status).toBe(200);
  expect((await paymentRow(intent.payment_id)).status).toBe("processing");
  return { paymentId: intent.payment_id, piId };
}

async function pendingRefund() {
  const user = await newCaller("user");
  const admin = await newCaller("admin");
  const intent = await createIntent(user, { amount: 6000, currency: "usd" });
  expect((await confirm(user, intent.payment_id, "pm_card_pendingRefund")).status).toBe(200);
  const res = await postJson(
    `/api/v1/payments/${intent.payment_id}/refund`,
    { amount: 2000, reason: "requested_by_customer" },
    admin.headers,
  );
  expect(res.status).toBe(201);
  expect(((await res.json()) as { refund: { status: string } }).refund.status).toBe("pending");
  const row = await db().select().from(refunds).where(eq(refunds.paymentId, intent.payment_id)).get();
  if (!row?.stripeRefundId) throw new Error("no refund row");
  return { paymentId: intent.payment_id, stripeRefundId: row.stripeRefundId };
}

describe("reconciler for unknown outcomes", () => {
  // Review of issue 12, item 10: docs said an object still unsettled keeps its place; the code
  // re-stamps it, so it goes to the back and is not due again for the reconcile age.
  it("a payment Stripe still reports processing goes to the back of the order after its re-read", async () => {
    const stuck = await processingPayment();
    await agePayment(stuck.paymentId);
    const before = (await paymentRow(stuck.paymentId)).updatedAt;
    await reconcilePayments(testDeps());
    const after = await paymentRow(stuck.paymentId);
    expect(after.status).toBe("processing");
    expect(after.updatedAt).toBeGreaterThan(before + 30 * 60_000);
    const age = testDeps().config.PAYMENT_RECONCILE_AFTER_MINUTES * 60_000;
    // Not due again until the age has passed since that re-read.
    const early = await reconcilePayments(testDeps(), after.updatedAt + age - 1);
    const late = await reconcilePayments(testDeps(), after.updatedAt + age + 1);
    expect(late.checked).toBeGreaterThan(early.checked);
  });

  it("a payment stuck in processing whose payment_intent.succeeded never arrives ends succeeded", async () => {
    const stuck = await processingPayment();
    const recent = await processingPayment();
    await settleProcessing(stuck.piId, "succeeded");
    await settleProcessing(recent.piId, "succeeded");
    await agePayment(stuck.paymentId);

    await runCron();
    expect(await paymentRow(stuck.paymentId)).toMatchObject({ status: "succeeded", cardLast4: "4242" });
    const published = await db()
      .select()
      .from(domainEvents)
      .where(and(eq(domainEvents.id, `payment.succeeded:${stuck.paymentId}`)));
    expect(published).toHaveLength(1);
    // Younger than the configured age: left to its webhook for now.
    expect((await paymentRow(recent.paymentId)).status).toBe("processing");

    // The late webhook, when it does come, changes nothing more.
    const { deliveries } = await pullWebhooks({ type: "payment_intent.succeeded", forObject: stuck.piId });
    for (const d of deliveries) expect((await deliverWebhook(d)).status).toBe(200);
    expect(await paymentRow(stuck.paymentId)).toMatchObject({ status: "succeeded" });
  });

  it("requires_action completed in the browser, and a processing payment that failed, are corrected", async () => {
    const user = await newCaller("user");
    const intent = await createIntent(user);
    expect((await confirm(user, intent.payment_id, "pm_card_authenticationRequired")).status).toBe(200);
    expect((await paymentRow(intent.payment_id)).status).toBe("requires_action");
    const piId = await stripeIntentId(intent.payment_id);
    expect((await confirmClientSide(piId)).status).toBe(200);
    const failing = await processingPayment();
    await settleProcessing(failing.piId, "failed");
    await agePayment(intent.payment_id);
    await agePayment(failing.paymentId);

    const result = await reconcilePayments(testDeps());
    expect(result.corrected).toBeGreaterThanOrEqual(2);
    expect(result.failed).toBe(0);
    expect((await paymentRow(intent.payment_id)).status).toBe("succeeded");
    expect(await paymentRow(failing.paymentId)).toMatchObject({
      status: "failed",
      declineCode: "generic_decline",
    });
  });

  it("a refund stuck in pending ends succeeded, or failed, as Stripe says, moving forward only", async () => {
    const ok = await pendingRefund();
    const bounced = await pendingRefund();
    await settleRefund(ok.stripeRefundId);
    await failRefund(bounced.stripeRefundId);
    await ageRefund(ok.stripeRefundId);
    await ageRefund(bounced.stripeRefundId);

    await runCron();
    const okRow = await db()
      .select()
      .from(refunds)
      .where(eq(refunds.stripeRefundId, ok.stripeRefundId))
      .get();
    expect(okRow?.status).toBe("succeeded");
    expect(await paymentRow(ok.paymentId)).toMatchObject({
      status: "partially_refunded",
      amountRefunded: 2000,
    });
    const badRow = await db()
      .select()
      .from(refunds)
      .where(eq(refunds.stripeRefundId, bounced.stripeRefundId))
      .get();
    expect(badRow?.status).toBe("failed");
    expect(await paymentRow(bounced.paymentId)).toMatchObject({ status: "succeeded", amountRefunded: 0 });

    // Nothing is left to correct: a second run changes nothing.
    await ageRefund(ok.stripeRefundId);
    const again = await reconcilePayments(testDeps());
    expect(again.corrected).toBe(0);
  });
});
