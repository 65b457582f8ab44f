import { env } from "cloudflare:workers";
import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import {
  EMULATOR,
  eventOf,
  openDispute,
  pullWebhooks,
  settleRefund,
  stripeClient,
  stripeFailure,
} from "../helpers/stripe";

/**
 * Issue 12, item 7: refund rules the emulator used to relax. Since API 2022-11-15 (and so in
 * the pinned 2026-10-28.endive) a Charge carries no `refunds` list unless expanded, refunds are
 * found with `GET /v1/refunds`, and a charged-back charge cannot be refunded (`charge_disputed`).
 */
const stripe = stripeClient();

const paidIntent = (paymentMethod = "pm_card_visa") =>
  stripe.paymentIntents.create({
    amount: 3000,
    currency: "usd",
    payment_method: paymentMethod,
    confirm: true,
    automatic_payment_methods: { enabled: true, allow_redirects: "never" },
  });

describe("stripe emulator: charge.refunds is not embedded", () => {
  it("a charge, its webhook and the expanded intent carry no refunds list; expand[]=refunds adds it", async () => {
    const pi = await paidIntent();
    const refund = await stripe.refunds.create({ payment_intent: pi.id, amount: 700 });
    const chargeId = pi.latest_charge as string;
    const charge = await stripe.charges.retrieve(chargeId);
    expect("refunds" in charge).toBe(false);
    expect(charge.amount_refunded).toBe(700);
    const expanded = await stripe.charges.retrieve(chargeId, { expand: ["refunds"] });
    expect(expanded.refunds).toMatchObject({
      object: "list",
      has_more: false,
      url: `/v1/charges/${chargeId}/refunds`,
    });
    expect(expanded.refunds?.data.map((r) => r.id)).toEqual([refund.id]);
    const [event] = (await pullWebhooks({ type: "charge.refunded", forObject: chargeId })).deliveries.map(
      eventOf,
    );
    expect(event && "refunds" in (event.data.object as object)).toBe(false);
    const withCharge = await stripe.paymentIntents.retrieve(pi.id, { expand: ["latest_charge"] });
    expect("refunds" in (withCharge.latest_charge as Stripe.Charge)).toBe(false);
  });
});

describe("stripe emulator: GET /v1/refunds", () => {
  it("lists a payment's refunds newest first, by payment_intent or charge, paginated with has_more", async () => {
    const pi = await paidIntent();
    const made: string[] = [];
    for (const amount of [100, 200, 300])
      made.push((await stripe.refunds.create({ payment_intent: pi.id, amount })).id);
    const newestFirst = [...made].reverse();

    const page1 = await stripe.refunds.list({ payment_intent: pi.id, limit: 2 });
    expect(page1.data.map((r) => r.id)).toEqual(newestFirst.slice(0, 2));
    expect(page1.has_more).toBe(true);
    const page2 = await stripe.refunds.list({
      payment_intent: pi.id,
      limit: 2,
      starting_after: page1.data[1]?.id,
    });
    expect(page2.data.map((r) => r.id)).toEqual(newestFirst.slice(2));
    expect(page2.has_more).toBe(false);
    const back = await stripe.refunds.list({ payment_intent: pi.id, ending_before: newestFirst[2] });
    expect(back.data.map((r) => r.id)).toEqual(newestFirst.slice(0, 2));

    const byCharge = await stripe.refunds.list({ charge: pi.latest_charge as string });
    expect(byCharge.data.map((r) => r.id)).toEqual(newestFirst);
    expect(
      await stripe.refunds.list({ payment_intent: pi.id }).autoPagingToArray({ limit: 10 }),
    ).toHaveLength(3);

    // Another payment's refunds never leak into this one's list.
    const other = await paidIntent();
    await stripe.refunds.create({ payment_intent: other.id, amount: 50 });
    expect((await stripe.refunds.list({ payment_intent: pi.id })).data).toHaveLength(3);
  });

  it("refuses a limit outside 1–100, an unknown cursor and an unknown parameter", async () => {
    const limit = await stripeFailure(stripe.refunds.list({ limit: 101 }));
    expect(limit).toMatchObject({ statusCode: 400, type: "StripeInvalidRequestError", param: "limit" });
    const cursor = await stripeFailure(stripe.refunds.list({ starting_after: "re_missing" }));
    expect(cursor).toMatchObject({ statusCode: 400, code: "resource_missing", param: "starting_after" });
    const res = await fetch(`${EMULATOR}/v1/refunds?customer=cus_x`, {
      headers: { authorization: `Bearer ${env.STRIPE_SECRET_KEY}` },
    });
    expect(res.status).toBe(400);
  });
});

describe("stripe emulator: refunds of disputed charges", () => {
  it("refuses with charge_disputed, as Stripe does, and changes nothing", async () => {
    const pi = await paidIntent();
    await openDispute({ payment_intent: pi.id });
    const err = await stripeFailure(stripe.refunds.create({ payment_intent: pi.id, amount: 100 }));
    expect(err).toMatchObject({
      statusCode: 400,
      type: "StripeInvalidRequestError",
      code: "charge_disputed",
    });
    expect(err.message).toBe(`Charge ${pi.latest_charge as string} has been charged back.`);
    expect((await stripe.charges.retrieve(pi.latest_charge as string)).amount_refunded).toBe(0);
    expect((await stripe.refunds.list({ payment_intent: pi.id })).data).toHaveLength(0);
  });
});

describe("stripe emulator: asynchronous refunds", () => {
  it("pm_card_pendingRefund: the refund starts pending, then settles with refund.updated", async () => {
    const pi = await paidIntent("pm_card_pendingRefund");
    const refund = await stripe.refunds.create({ payment_intent: pi.id, amount: 1000 });
    expect(refund.status).toBe("pending");
    const settled = await settleRefund(refund.id);
    expect(settled.status).toBe("succeeded");
    expect((await stripe.refunds.retrieve(refund.id)).status).toBe("succeeded");
    const [updated] = (await pullWebhooks({ type: "refund.updated", forObject: refund.id })).deliveries.map(
      eventOf,
    );
    expect(updated?.data.previous_attributes).toMatchObject({ status: "pending" });
    // Only a pending refund settles.
    await expect(settleRefund(refund.id)).rejects.toThrow(/not pending/);
  });
});
