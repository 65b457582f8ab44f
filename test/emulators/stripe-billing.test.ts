import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { advanceSubscription, eventOf, pullWebhooks, stripeClient, stripeFailure } from "../helpers/stripe";

const stripe = stripeClient();

const failure = stripeFailure;

async function subscribe(pm: string, price = "price_pro_monthly") {
  const customer = await stripe.customers.create({ email: `${crypto.randomUUID()}@example.com` });
  const sub = await stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price, quantity: 1 }],
    default_payment_method: pm,
    metadata: { plan: price },
  });
  return { customer, sub };
}

const typesFor = async (id: string) => (await pullWebhooks({ forObject: id })).deliveries.map((d) => d.type);

describe("stripe emulator: prices", () => {
  it("serves the plan catalogue", async () => {
    const price = await stripe.prices.retrieve("price_pro_yearly");
    expect(price).toMatchObject({
      object: "price",
      unit_amount: 29000,
      currency: "usd",
      recurring: { interval: "year" },
    });
    expect(price.product).toMatch(/^prod_/);
    expect((await stripe.prices.retrieve("price_basic_monthly")).unit_amount).toBe(900);
    expect((await stripe.prices.retrieve("price_business_monthly")).unit_amount).toBe(9900);
    expect((await failure(stripe.prices.retrieve("price_nope"))).statusCode).toBe(404);
  });
});

describe("stripe emulator: subscriptions", () => {
  it("creates an active subscription whose first invoice is paid, with periods on sub and item", async () => {
    const { sub } = await subscribe("pm_card_visa");
    expect(sub.id).toMatch(/^sub_/);
    expect(sub.status).toBe("active");
    const item = sub.items.data[0];
    expect(item?.price.id).toBe("price_pro_monthly");
    expect(item?.current_period_end).toBeGreaterThan(item?.current_period_start ?? Number.POSITIVE_INFINITY);
    const raw = sub as unknown as { current_period_start: number; current_period_end: number };
    expect(raw.current_period_end).toBe(item?.current_period_end);
    expect(sub.latest_invoice).toMatch(/^in_/);
    const expanded = await stripe.subscriptions.retrieve(sub.id, { expand: ["latest_invoice"] });
    const invoice = expanded.latest_invoice as Stripe.Invoice;
    expect(invoice).toMatchObject({
      object: "invoice",
      status: "paid",
      amount_paid: 2900,
      billing_reason: "subscription_create",
    });
    expect(await typesFor(sub.id)).toEqual(["customer.subscription.created", "invoice.paid"]);
  });

  it("is incomplete with invoice.payment_failed when the card declines", async () => {
    const { sub } = await subscribe("pm_card_chargeDeclined");
    expect(sub.status).toBe("incomplete");
    expect(await typesFor(sub.id)).toEqual(["customer.subscription.created", "invoice.payment_failed"]);
  });

  it("advances a period with a new paid invoice, or past_due when it fails", async () => {
    const { sub } = await subscribe("pm_card_visa", "price_basic_monthly");
    const next = await advanceSubscription(sub.id);
    const [before, after] = [sub.items.data[0], next.items.data[0]];
    expect(after?.current_period_start).toBe(before?.current_period_end);
    expect(next.status).toBe("active");
    expect(next.latest_invoice).not.toBe(sub.latest_invoice);
    const failed = await advanceSubscription(sub.id, { fail: true });
    expect(failed.status).toBe("past_due");
    const types = await typesFor(sub.id);
    expect(types.slice(2)).toEqual([
      "invoice.paid",
      "customer.subscription.updated",
      "invoice.payment_failed",
      "customer.subscription.updated",
    ]);
    const updated = (
      await pullWebhooks({ type: "customer.subscription.updated", forObject: sub.id })
    ).deliveries.map(eventOf);
    expect(updated[1]?.data.previous_attributes).toMatchObject({ status: "active" });
  });

  it("cancel_at_period_end keeps it active until the period ends, then deletes it", async () => {
    const { sub } = await subscribe("pm_card_visa");
    const pending = await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
    expect(pending.status).toBe("active");
    expect(pending.cancel_at_period_end).toBe(true);
    const ended = await advanceSubscription(sub.id);
    expect(ended.status).toBe("canceled");
    expect(ended.ended_at).toBe(sub.items.data[0]?.current_period_end);
    const types = await typesFor(sub.id);
    expect(types.slice(-2)).toEqual(["customer.subscription.updated", "customer.subscription.deleted"]);
    const [updated] = (
      await pullWebhooks({ type: "customer.subscription.updated", forObject: sub.id })
    ).deliveries.map(eventOf);
    expect(updated?.data.previous_attributes).toMatchObject({ cancel_at_period_end: false });
  });

  it("changes plan in place and cancels immediately with DELETE", async () => {
    const { sub } = await subscribe("pm_card_visa", "price_pro_monthly");
    const itemId = sub.items.data[0]?.id ?? "";
    const changed = await stripe.subscriptions.update(sub.id, {
      items: [{ id: itemId, price: "price_business_monthly" }],
      proration_behavior: "none",
    });
    expect(changed.items.data[0]?.price.id).toBe("price_business_monthly");
    const canceled = await stripe.subscriptions.cancel(sub.id);
    expect(canceled.status).toBe("canceled");
    expect(canceled.ended_at).toBeTypeOf("number");
    expect(await typesFor(sub.id)).toContain("customer.subscription.deleted");
    const err = await failure(stripe.subscriptions.update(sub.id, { cancel_at_period_end: true }));
    expect(err.statusCode).toBe(400);
  });

  it("rejects an unknown customer or price", async () => {
    const noCustomer = await failure(
      stripe.subscriptions.create({ customer: "cus_nope", items: [{ price: "price_pro_monthly" }] }),
    );
    expect(noCustomer.code).toBe("resource_missing");
    expect(noCustomer.param).toBe("customer");
    const customer = await stripe.customers.create({});
    const noPrice = await failure(
      stripe.subscriptions.create({ customer: customer.id, items: [{ price: "price_nope" }] }),
    );
    expect(noPrice.param).toBe("items[0][price]");
  });
});

describe("stripe emulator: events", () => {
  it("lists events newest first, filters by type and pages with starting_after", async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 1234,
      currency: "eur",
      payment_method: "pm_card_visa",
      confirm: true,
    });
    const page = await stripe.events.list({ type: "payment_intent.*", limit: 100 });
    expect(page.object).toBe("list");
    expect(page.data.every((e) => e.type.startsWith("payment_intent."))).toBe(true);
    const mine = page.data.filter((e) => (e.data.object as { id?: string }).id === pi.id).map((e) => e.type);
    expect(mine).toEqual(["payment_intent.succeeded", "payment_intent.created"]);
    const [first, second] = (await stripe.events.list({ limit: 2 })).data;
    if (!first || !second) throw new Error("expected events");
    const next = await stripe.events.list({ limit: 1, starting_after: first.id });
    expect(next.data[0]?.id).toBe(second.id);
    const one = await stripe.events.retrieve(first.id);
    expect(one).toMatchObject({
      id: first.id,
      object: "event",
      api_version: Stripe.API_VERSION,
      livemode: false,
    });
    expect(one.request).toHaveProperty("idempotency_key");
  });
});
