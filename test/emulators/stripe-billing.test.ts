import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { advanceSubscription, eventOf, pullWebhooks, stripeClient, stripeFailure } from "../helpers/stripe";

const stripe = stripeClient();

const failure = stripeFailure;

/** The synced plan price (test/setup.ts ran stripe:sync-plans' syncPlans) for a lookup key. */
async function priceOf(lookupKey: string): Promise<string> {
  const [price] = (await stripe.prices.list({ lookup_keys: [lookupKey], active: true })).data;
  if (!price) throw new Error(`no price for ${lookupKey}`);
  return price.id;
}

/** A customer with `pm` attached (one PaymentMethod per attach) and subscribed to a plan price. */
async function subscribe(pm: string, lookupKey = "pro_monthly") {
  const customer = await stripe.customers.create({ email: `${crypto.randomUUID()}@example.com` });
  const attached = await stripe.paymentMethods.attach(pm, { customer: customer.id });
  const sub = await stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: await priceOf(lookupKey), quantity: 1 }],
    default_payment_method: attached.id,
    metadata: { plan: lookupKey },
  });
  return { customer, sub, pm: attached };
}

const typesFor = async (id: string) => (await pullWebhooks({ forObject: id })).deliveries.map((d) => d.type);

describe("stripe emulator: products and prices", () => {
  it("has no pre-seeded ids: prices get generated ids and are found by lookup key", async () => {
    expect((await failure(stripe.prices.retrieve("price_basic_monthly"))).statusCode).toBe(404);
    const [yearly] = (await stripe.prices.list({ lookup_keys: ["pro_yearly"], active: true })).data;
    expect(yearly).toMatchObject({
      object: "price",
      lookup_key: "pro_yearly",
      unit_amount: 29000,
      currency: "usd",
      recurring: { interval: "year" },
    });
    expect(yearly?.id).toMatch(/^price_[A-Za-z0-9]{24}$/);
    expect((await stripe.prices.retrieve(yearly?.id ?? "")).product).toBe("plan_pro_yearly");
  });

  it("keeps lookup keys unique; transfer_lookup_key moves one; inactive prices cannot be subscribed", async () => {
    const product = await stripe.products.create({ name: `Test ${crypto.randomUUID()}` });
    expect(product.id).toMatch(/^prod_/);
    const key = `test_${crypto.randomUUID()}`;
    const base = { product: product.id, currency: "usd", recurring: { interval: "month" as const } };
    const first = await stripe.prices.create({ ...base, unit_amount: 500, lookup_key: key });
    const taken = await failure(stripe.prices.create({ ...base, unit_amount: 600, lookup_key: key }));
    expect(taken).toMatchObject({ statusCode: 400, param: "lookup_key" });
    expect(taken.message).toContain(first.id);
    const second = await stripe.prices.create({
      ...base,
      unit_amount: 600,
      lookup_key: key,
      transfer_lookup_key: true,
    });
    expect((await stripe.prices.retrieve(first.id)).lookup_key).toBeNull();
    expect((await stripe.prices.list({ lookup_keys: [key] })).data.map((p) => p.id)).toEqual([second.id]);

    await stripe.prices.update(second.id, { active: false });
    expect((await stripe.prices.list({ lookup_keys: [key], active: true })).data).toEqual([]);
    const customer = await stripe.customers.create({});
    const inactive = await failure(
      stripe.subscriptions.create({ customer: customer.id, items: [{ price: second.id }] }),
    );
    expect(inactive).toMatchObject({ statusCode: 400, param: "items[0][price]" });
    expect(inactive.message).toContain("inactive");
    const renamed = await stripe.products.update(product.id, { name: "Renamed" });
    expect(renamed.name).toBe("Renamed");
  });
});

describe("stripe emulator: payment methods must be attached", () => {
  it("refuses an unattached default_payment_method as Stripe does, and attach mints one object per call", async () => {
    const customer = await stripe.customers.create({});
    const price = await priceOf("basic_monthly");
    const refused = await failure(
      stripe.subscriptions.create({
        customer: customer.id,
        items: [{ price }],
        default_payment_method: "pm_card_visa",
      }),
    );
    expect(refused).toMatchObject({
      statusCode: 400,
      type: "StripeInvalidRequestError",
      code: "resource_missing",
      param: "default_payment_method",
    });
    expect(refused.message).toBe(
      "The customer does not have a payment method with the ID pm_card_visa. The payment method must be attached to the customer.",
    );
    const a = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
    const b = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
    expect(a.id).toMatch(/^pm_/);
    expect(b.id).not.toBe(a.id);
    expect(a).toMatchObject({
      object: "payment_method",
      type: "card",
      customer: customer.id,
      card: { last4: "4242" },
    });

    const other = await stripe.customers.create({});
    const elsewhere = await failure(
      stripe.customers.update(other.id, { invoice_settings: { default_payment_method: a.id } }),
    );
    expect(elsewhere).toMatchObject({
      code: "resource_missing",
      param: "invoice_settings[default_payment_method]",
    });
    const stolen = await failure(stripe.paymentMethods.attach(a.id, { customer: other.id }));
    expect(stolen.statusCode).toBe(400);

    const updated = await stripe.customers.update(customer.id, {
      invoice_settings: { default_payment_method: a.id },
    });
    expect(updated.invoice_settings.default_payment_method).toBe(a.id);
    // The customer's invoice default pays when the subscription names none.
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price }] });
    expect(sub.status).toBe("active");
  });
});

describe("stripe emulator: subscriptions", () => {
  it("creates an active subscription whose first invoice is paid, with periods on the item only", async () => {
    const { sub } = await subscribe("pm_card_visa");
    expect(sub.id).toMatch(/^sub_/);
    expect(sub.status).toBe("active");
    const item = sub.items.data[0];
    expect(item?.price.lookup_key).toBe("pro_monthly");
    expect(item?.current_period_end).toBeGreaterThan(item?.current_period_start ?? Number.POSITIVE_INFINITY);
    // Removed from the subscription in the pinned version (2026-10-28.endive).
    expect(sub).not.toHaveProperty("current_period_start");
    expect(sub).not.toHaveProperty("current_period_end");
    expect(sub.latest_invoice).toMatch(/^in_/);
    const expanded = await stripe.subscriptions.retrieve(sub.id, { expand: ["latest_invoice"] });
    const invoice = expanded.latest_invoice as Stripe.Invoice;
    expect(invoice).toMatchObject({
      object: "invoice",
      status: "paid",
      amount_paid: 2900,
      billing_reason: "subscription_create",
      parent: { type: "subscription_details", subscription_details: { subscription: sub.id } },
    });
    // The top-level `subscription` was removed too; it lives under parent.subscription_details.
    expect(invoice).not.toHaveProperty("subscription");
    expect(await typesFor(sub.id)).toEqual(["customer.subscription.created", "invoice.paid"]);
  });

  it("is incomplete with invoice.payment_failed when the card declines", async () => {
    const { sub } = await subscribe("pm_card_chargeDeclined");
    expect(sub.status).toBe("incomplete");
    expect(await typesFor(sub.id)).toEqual(["customer.subscription.created", "invoice.payment_failed"]);
  });

  it("advances a period with a new paid invoice, or past_due when it fails", async () => {
    const { sub } = await subscribe("pm_card_visa", "basic_monthly");
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
    const { sub } = await subscribe("pm_card_visa", "pro_monthly");
    const itemId = sub.items.data[0]?.id ?? "";
    const business = await priceOf("business_monthly");
    const changed = await stripe.subscriptions.update(sub.id, {
      items: [{ id: itemId, price: business }],
      proration_behavior: "none",
    });
    expect(changed.items.data[0]?.price.id).toBe(business);
    const canceled = await stripe.subscriptions.cancel(sub.id);
    expect(canceled.status).toBe("canceled");
    expect(canceled.ended_at).toBeTypeOf("number");
    expect(await typesFor(sub.id)).toContain("customer.subscription.deleted");
    const err = await failure(stripe.subscriptions.update(sub.id, { cancel_at_period_end: true }));
    expect(err.statusCode).toBe(400);
  });

  it("rejects an unknown customer or price", async () => {
    const noCustomer = await failure(
      stripe.subscriptions.create({ customer: "cus_nope", items: [{ price: await priceOf("pro_monthly") }] }),
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
