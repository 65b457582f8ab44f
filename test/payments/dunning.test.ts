import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import {
  mrrMovements,
  notificationDeliveries,
  notifications,
  payments,
  subscriptions,
} from "../../src/db/schema";
import { cancelLapsedSubscriptions } from "../../src/payments/dunning-cancel";
import { derivedUuid } from "../../src/payments/ids";
import { ConfigError, getConfig } from "../../src/platform/config";
import { bodyOf } from "../helpers/body";
import { testDeps } from "../helpers/deps";
import { expectEnvelope, postJson } from "../helpers/http";
import {
  advanceSubscription,
  deliverWebhook,
  emulatorRequests,
  eventOf,
  pullWebhooks,
  signPayload,
  stripeClient,
  stripeFailure,
} from "../helpers/stripe";
import { registerDevice, uid } from "../notifications/helpers";
import { type Caller, db, deliverAllFor, newCaller } from "./helpers";

const stripe = stripeClient();
const DAY = 86_400_000;

const rowOf = async (id: string) => {
  const row = await db().select().from(subscriptions).where(eq(subscriptions.id, id)).get();
  if (!row?.stripeSubscriptionId) throw new Error("no subscription row");
  return { ...row, stripeSubscriptionId: row.stripeSubscriptionId };
};

const failedNotices = (userId: string) =>
  db()
    .select()
    .from(notifications)
    .where(and(eq(notifications.userId, userId), eq(notifications.type, "subscription_payment_failed")));

const invoicePayments = async (invoiceId: string) =>
  db()
    .select()
    .from(payments)
    .where(eq(payments.id, await derivedUuid("invoice", invoiceId)));

const churnOf = (subscriptionId: string) =>
  db()
    .select()
    .from(mrrMovements)
    .where(and(eq(mrrMovements.subscriptionId, subscriptionId), eq(mrrMovements.kind, "churn")));

const updateMethod = (user: Caller, id: string, pm: string, headers: Record<string, string> = {}) =>
  postJson(
    `/api/v1/subscriptions/${id}/payment-method`,
    { payment_method: pm },
    { ...user.headers, ...headers },
  );

/** A pro_monthly subscription whose renewal failed, with every webhook delivered. */
async function pastDue() {
  const user = await newCaller("user");
  await registerDevice(user, `ok-dun-${uid()}`);
  const res = await postJson(
    "/api/v1/subscriptions",
    { plan: "pro_monthly", payment_method: "pm_card_visa" },
    user.headers,
  );
  const sub = await bodyOf(res, "POST /subscriptions", 201);
  const row = await rowOf(sub.subscription_id);
  await deliverAllFor(row.stripeSubscriptionId);
  const failed = await advanceSubscription(row.stripeSubscriptionId, { fail: true });
  const deliveries = await deliverAllFor(row.stripeSubscriptionId);
  const invoiceId = String(failed.latest_invoice);
  return { user, id: sub.subscription_id, stripeId: row.stripeSubscriptionId, invoiceId, deliveries };
}

/** Ages the dunning clock past the grace period (14 days in wrangler.toml). */
const lapse = (id: string, extra: Partial<typeof subscriptions.$inferInsert> = {}) =>
  db()
    .update(subscriptions)
    .set({ dunningStartedAt: Date.now() - 15 * DAY, updatedAt: Date.now(), ...extra })
    .where(eq(subscriptions.id, id));

describe("dunning: a failed renewal", () => {
  it("is past_due at Stripe and here, starts dunning once and notifies once (in-app + one push)", async () => {
    const { user, id, invoiceId, deliveries } = await pastDue();
    // What Stripe produces for a failed renewal: an open invoice with an attempt, the
    // payment_failed event and the subscription's move to past_due.
    const inv = await stripe.invoices.retrieve(invoiceId);
    expect(inv).toMatchObject({
      status: "open",
      attempt_count: 1,
      attempted: true,
      billing_reason: "subscription_cycle",
    });
    expect(inv.next_payment_attempt).not.toBeNull();
    const types = deliveries.map((d) => d.type);
    expect(types).toContain("invoice.payment_failed");
    const updated = deliveries.filter((d) => d.type === "customer.subscription.updated").map(eventOf);
    expect(updated.map((e) => (e.data.object as Stripe.Subscription).status)).toContain("past_due");

    const row = await rowOf(id);
    expect(row.status).toBe("past_due");
    expect(row.dunningStartedAt).not.toBeNull();
    const notices = await failedNotices(user.sub);
    expect(notices).toHaveLength(1);
    const [notice] = notices;
    expect(notice?.data).toMatchObject({ subscription_id: id, invoice_id: invoiceId });
    expect(String(notice?.data?.url)).toBe(`http://localhost:8787/account/billing?subscription=${id}`);
    const pushes = await db()
      .select()
      .from(notificationDeliveries)
      .where(eq(notificationDeliveries.notificationId, notice?.id ?? ""));
    expect(pushes).toHaveLength(1);

    // Replays of every webhook, and Stripe's next retry attempt of the same invoice (a new
    // invoice.payment_failed event, attempt 2), notify nobody again and keep the dunning start.
    await deliverAllFor(invoiceId);
    const declined = await stripe.paymentMethods.attach("pm_card_chargeDeclined", {
      customer: String(inv.customer),
    });
    const err = await stripeFailure(stripe.invoices.pay(invoiceId, { payment_method: declined.id }));
    expect(err).toMatchObject({ statusCode: 402, code: "card_declined", decline_code: "generic_decline" });
    expect((await stripe.invoices.retrieve(invoiceId)).attempt_count).toBe(2);
    const retries = await deliverAllFor(invoiceId, "invoice.payment_failed");
    expect(retries).toHaveLength(2);
    expect(await failedNotices(user.sub)).toHaveLength(1);
    expect((await rowOf(id)).dunningStartedAt).toBe(row.dunningStartedAt);
  });
});

describe("dunning: POST /subscriptions/{id}/payment-method", () => {
  it("pays the open invoice with the new method: active, dunning cleared, one payment row", async () => {
    const { user, id, stripeId, invoiceId } = await pastDue();
    const res = await updateMethod(user, id, "pm_card_mastercard", { "Idempotency-Key": `k-${uid()}` });
    const body = await bodyOf(res, "POST /subscriptions/:id/payment-method", 200);
    expect(body.paid_invoice).toMatchObject({ invoice_id: invoiceId, amount: 2900, currency: "usd" });
    expect(body.subscription).toMatchObject({ status: "active", dunning_started_at: null, mrr: 2900 });
    const sub = await stripe.subscriptions.retrieve(stripeId);
    expect(sub.status).toBe("active");
    const pm = await stripe.paymentMethods.retrieve(String(sub.default_payment_method));
    expect(pm.card?.last4).toBe("4444");
    const customer = (await stripe.customers.retrieve(String(sub.customer))) as Stripe.Customer;
    expect(customer.invoice_settings.default_payment_method).toBe(pm.id);
    expect(await invoicePayments(invoiceId)).toHaveLength(1);

    // invoice.paid and the subscription update arrive afterwards: nothing is recorded twice.
    const later = await deliverAllFor(invoiceId);
    expect(later.map((d) => d.type)).toContain("invoice.paid");
    await deliverAllFor(stripeId);
    expect(await invoicePayments(invoiceId)).toHaveLength(1);
    expect(await rowOf(id)).toMatchObject({ status: "active", dunningStartedAt: null });

    // Stripe pays an invoice once.
    const again = await stripeFailure(stripe.invoices.pay(invoiceId));
    expect(again).toMatchObject({
      statusCode: 400,
      type: "StripeInvalidRequestError",
      message: "Invoice is already paid",
    });
  });

  it("a decline is a 402 with the decline code and changes nothing, here or at Stripe", async () => {
    const { user, id, stripeId, invoiceId } = await pastDue();
    const before = await rowOf(id);
    const defaultBefore = (await stripe.subscriptions.retrieve(stripeId)).default_payment_method;
    const res = await updateMethod(user, id, "pm_card_chargeDeclinedInsufficientFunds");
    const err = await expectEnvelope(res, 402, "PAYMENT_FAILED");
    expect(err.error.details).toMatchObject({
      code: "card_declined",
      decline_code: "insufficient_funds",
      subscription_id: id,
      invoice_id: invoiceId,
    });
    // Only the bookkeeping moved: the card update's lease was taken and given back.
    const { updatedAt: _u, ...unchanged } = before;
    expect(await rowOf(id)).toMatchObject({ ...unchanged, dunningCancelClaimedAt: null });
    const sub = await stripe.subscriptions.retrieve(stripeId);
    expect(sub).toMatchObject({ status: "past_due", default_payment_method: defaultBefore });
    expect(await invoicePayments(invoiceId)).toHaveLength(0);
    // The failed attempt's webhook is one more payment_failed for the same invoice: no new notice.
    await deliverAllFor(invoiceId);
    expect(await failedNotices(user.sub)).toHaveLength(1);
    expect(await rowOf(id)).toMatchObject({ status: "past_due", dunningStartedAt: before.dunningStartedAt });
  });

  it("parallel updates pay the invoice once", async () => {
    const { user, id, invoiceId } = await pastDue();
    const answers = await Promise.all(
      ["pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_visa"].map((pm) =>
        updateMethod(user, id, pm),
      ),
    );
    const statuses = answers.map((r) => r.status);
    const bodies = await Promise.all(answers.map((r) => r.json() as Promise<Record<string, unknown>>));
    const payers = bodies.filter(
      (b) => (b.paid_invoice as { invoice_id?: string } | null)?.invoice_id === invoiceId,
    );
    expect(payers).toHaveLength(1);
    for (const s of statuses) expect([200, 409]).toContain(s);
    expect(await invoicePayments(invoiceId)).toHaveLength(1);
    await deliverAllFor(invoiceId);
    expect(await invoicePayments(invoiceId)).toHaveLength(1);
    expect((await rowOf(id)).status).toBe("active");
  });

  it("on an active subscription only the default changes; bad input and others' ids are refused", async () => {
    const user = await newCaller("user");
    const created = await bodyOf(
      await postJson(
        "/api/v1/subscriptions",
        { plan: "basic_monthly", payment_method: "pm_card_visa" },
        user.headers,
      ),
      "POST /subscriptions",
      201,
    );
    const id = created.subscription_id;
    const ok = await bodyOf(
      await updateMethod(user, id, "pm_card_amex"),
      "POST /subscriptions/:id/payment-method",
      200,
    );
    expect(ok.paid_invoice).toBeNull();
    const sub = await stripe.subscriptions.retrieve((await rowOf(id)).stripeSubscriptionId);
    expect((await stripe.paymentMethods.retrieve(String(sub.default_payment_method))).card?.last4).toBe(
      "8431",
    );

    const stranger = await newCaller("user");
    await expectEnvelope(await updateMethod(stranger, id, "pm_card_visa"), 404, "NOT_FOUND");
    const extra = await postJson(
      `/api/v1/subscriptions/${id}/payment-method`,
      { payment_method: "pm_card_visa", card_number: "4242" },
      user.headers,
    );
    await expectEnvelope(extra, 400, "VALIDATION_FAILED");
    await expectEnvelope(await updateMethod(user, id, "not-a-pm"), 400, "VALIDATION_FAILED");
    // Another customer's method is refused by Stripe (attach), and nothing changes.
    const other = await stripe.customers.create({});
    const foreign = await stripe.paymentMethods.attach("pm_card_visa", { customer: other.id });
    await expectEnvelope(await updateMethod(user, id, foreign.id), 422, "UNPROCESSABLE");
    expect((await stripe.subscriptions.retrieve(sub.id)).default_payment_method).toBe(
      sub.default_payment_method,
    );

    // A method already used once without a customer is spent: Stripe refuses to attach it.
    const once = await stripe.paymentIntents.create({
      amount: 500,
      currency: "usd",
      payment_method: "pm_card_visa",
      confirm: true,
    });
    const spent = await updateMethod(user, id, String(once.payment_method));
    expect((await expectEnvelope(spent, 422, "UNPROCESSABLE")).error.message).toMatch(
      /may not be used again/,
    );

    await postJson(`/api/v1/subscriptions/${id}/cancel`, { at_period_end: false }, user.headers);
    await expectEnvelope(await updateMethod(user, id, "pm_card_visa"), 409, "CONFLICT");
  });
});

describe("dunning: out-of-order events", () => {
  it("a payment_failed arriving after the invoice was paid does not reopen dunning", async () => {
    const { user, id, invoiceId, deliveries } = await pastDue();
    await bodyOf(await updateMethod(user, id, "pm_card_visa"), "POST /subscriptions/:id/payment-method", 200);
    const failed = deliveries.find((d) => d.type === "invoice.payment_failed");
    if (!failed) throw new Error("no payment_failed delivery");
    // The same event under a new id (as a late retry-attempt event would be): not a duplicate.
    const payload = failed.payload.replace(eventOf(failed).id, `evt_late_${uid()}`);
    const res = await deliverWebhook({ payload, signature: await signPayload(payload) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ duplicate: false });
    expect(await rowOf(id)).toMatchObject({ status: "active", dunningStartedAt: null });
    expect(await failedNotices(user.sub)).toHaveLength(1);
    expect(await invoicePayments(invoiceId)).toHaveLength(1);
  });
});

describe("dunning: the grace period", () => {
  it("the cron cancels a lapsed subscription once, even when two runs overlap; churn once", async () => {
    const { id, stripeId } = await pastDue();
    // Inside the grace period nothing happens.
    await cancelLapsedSubscriptions(testDeps());
    expect((await rowOf(id)).status).toBe("past_due");

    await lapse(id);
    await Promise.all([cancelLapsedSubscriptions(testDeps()), cancelLapsedSubscriptions(testDeps())]);
    expect((await rowOf(id)).status).toBe("canceled");
    expect((await stripe.subscriptions.retrieve(stripeId)).status).toBe("canceled");
    const deletes = (await emulatorRequests({ path_prefix: `/v1/subscriptions/${stripeId}` })).filter(
      (r) => r.method === "DELETE",
    );
    expect(deletes).toHaveLength(1);
    expect(await churnOf(id)).toHaveLength(1);

    // Stripe's customer.subscription.deleted and a later run add nothing.
    await deliverAllFor(stripeId);
    await cancelLapsedSubscriptions(testDeps());
    expect(await churnOf(id)).toHaveLength(1);
  });

  it("a run that died after Stripe cancelled is finished by the next run once the lease expires", async () => {
    const { id, stripeId } = await pastDue();
    // The crashed run: claimed, cancelled at Stripe, never wrote D1.
    await stripe.subscriptions.cancel(stripeId);
    await lapse(id, { dunningCancelClaimedAt: Date.now() });
    await cancelLapsedSubscriptions(testDeps());
    expect((await rowOf(id)).status).toBe("past_due"); // the lease still holds
    await lapse(id, { dunningCancelClaimedAt: Date.now() - 5 * 60_000 });
    await cancelLapsedSubscriptions(testDeps());
    expect((await rowOf(id)).status).toBe("canceled");
    expect(await churnOf(id)).toHaveLength(1);
    const { deliveries } = await pullWebhooks({ forObject: stripeId, type: "customer.subscription.deleted" });
    expect(deliveries).toHaveLength(1);
  });
});

describe("dunning: the cron and a card update", () => {
  it("a card update while a cron run holds the cancel lease is a 409 and pays nothing", async () => {
    const { user, id, stripeId, invoiceId } = await pastDue();
    await lapse(id, { dunningCancelClaimedAt: Date.now() });
    const res = await updateMethod(user, id, "pm_card_mastercard");
    const err = await expectEnvelope(res, 409, "CONFLICT");
    expect(err.error.details).toMatchObject({ code: "dunning_in_progress" });
    expect(res.headers.get("Retry-After")).toBe("5");
    expect((await stripe.invoices.retrieve(invoiceId)).status).toBe("open");
    expect((await stripe.subscriptions.retrieve(stripeId)).status).toBe("past_due");
    expect(await invoicePayments(invoiceId)).toHaveLength(0);
  });

  it("racing each other, either the invoice is paid or the subscription cancelled, never both", async () => {
    for (let round = 0; round < 3; round++) {
      const { user, id, stripeId, invoiceId } = await pastDue();
      await lapse(id);
      const [, res] = await Promise.all([
        cancelLapsedSubscriptions(testDeps()),
        updateMethod(user, id, "pm_card_mastercard"),
      ]);
      const invoice = await stripe.invoices.retrieve(invoiceId);
      const sub = await stripe.subscriptions.retrieve(stripeId);
      if (invoice.status === "paid") {
        expect(res.status).toBe(200);
        expect(sub.status).toBe("active");
        expect(await invoicePayments(invoiceId)).toHaveLength(1);
        expect(await churnOf(id)).toHaveLength(0);
      } else {
        // The lease was the cron's, or Stripe already says canceled: 409 either way.
        const err = await expectEnvelope(res, 409, "CONFLICT");
        expect(["dunning_in_progress", "subscription_ended"]).toContain(
          (err.error.details as { code?: string }).code,
        );
        expect(sub.status).toBe("canceled");
        expect(await invoicePayments(invoiceId)).toHaveLength(0);
      }
      // Whatever won, the row ends as Stripe has it, and a later run changes nothing.
      await cancelLapsedSubscriptions(testDeps(), Date.now() + 5 * 60_000);
      expect((await rowOf(id)).status).toBe(sub.status);
      expect((await stripe.subscriptions.retrieve(stripeId)).status).toBe(sub.status);
    }
  });
});

describe("dunning: configuration", () => {
  it("DUNNING_GRACE_DAYS is a whole number of days from 1 to 90, APP_URL an http(s) URL", () => {
    expect(getConfig(env)).toMatchObject({ DUNNING_GRACE_DAYS: 14, APP_URL: "http://localhost:8787" });
    for (const bad of ["0", "91", "1.5", "two weeks"]) {
      expect(() => getConfig({ ...env, DUNNING_GRACE_DAYS: bad })).toThrow(ConfigError);
      expect(() => getConfig({ ...env, DUNNING_GRACE_DAYS: bad })).toThrow(/DUNNING_GRACE_DAYS/);
    }
    expect(() => getConfig({ ...env, APP_URL: "javascript:alert(1)" })).toThrow(/APP_URL/);
    expect(getConfig({ ...env, DUNNING_GRACE_DAYS: "3" }).DUNNING_GRACE_DAYS).toBe(3);
  });
});
