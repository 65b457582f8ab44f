import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { advanceSubscription, pullWebhooks, stripeClient, stripeFailure } from "../helpers/stripe";

const stripe = stripeClient();

async function priceOf(lookupKey: string): Promise<string> {
  const [price] = (await stripe.prices.list({ lookup_keys: [lookupKey], active: true })).data;
  if (!price) throw new Error(`no price for ${lookupKey}`);
  return price.id;
}

async function subscribe(lookupKey = "basic_monthly", pm = "pm_card_visa") {
  const customer = await stripe.customers.create({ email: `${crypto.randomUUID()}@example.com` });
  const attached = await stripe.paymentMethods.attach(pm, { customer: customer.id });
  return stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: await priceOf(lookupKey) }],
    default_payment_method: attached.id,
  });
}

const itemOf = (sub: Stripe.Subscription) => {
  const item = sub.items.data[0];
  if (!item) throw new Error("no item");
  return item;
};

const latest = async (sub: Stripe.Subscription) => stripe.invoices.retrieve(String(sub.latest_invoice));

describe("stripe emulator: price changes with proration_behavior", () => {
  it("always_invoice: an invoice of proration lines is paid now and invoice.paid is sent", async () => {
    const sub = await subscribe();
    const first = sub.latest_invoice;
    const updated = await stripe.subscriptions.update(sub.id, {
      items: [{ id: itemOf(sub).id, price: await priceOf("pro_monthly") }],
      proration_behavior: "always_invoice",
    });
    expect(updated.latest_invoice).not.toBe(first);
    const inv = await latest(updated);
    expect(inv).toMatchObject({ object: "invoice", status: "paid", billing_reason: "subscription_update" });
    expect(inv.lines.data.map((l) => l.parent?.subscription_item_details?.proration)).toEqual([true, true]);
    expect(inv.total).toBe(inv.lines.data.reduce((s, l) => s + l.amount, 0));
    expect(inv.amount_paid).toBe(inv.total);
    const types = (await pullWebhooks({ forObject: sub.id })).deliveries.map((d) => d.type);
    expect(types.filter((t) => t === "invoice.paid")).toHaveLength(2);
    expect(types).toContain("customer.subscription.updated");
  });

  it("create_prorations (the default) bills the proration with the renewal; none bills nothing", async () => {
    const sub = await subscribe();
    const updated = await stripe.subscriptions.update(sub.id, {
      items: [{ id: itemOf(sub).id, price: await priceOf("pro_monthly") }],
    });
    expect(updated.latest_invoice).toBe(sub.latest_invoice);
    const renewed = await advanceSubscription(sub.id);
    const renewal = await latest(renewed);
    expect(renewal.lines.data).toHaveLength(3); // the new period + credit + remaining time
    expect(renewal.total).toBe(renewal.lines.data.reduce((s, l) => s + l.amount, 0));

    const other = await subscribe();
    const quiet = await stripe.subscriptions.update(other.id, {
      items: [{ id: itemOf(other).id, price: await priceOf("pro_monthly") }],
      proration_behavior: "none",
    });
    expect(quiet.latest_invoice).toBe(other.latest_invoice);
    expect(itemOf(quiet).price.lookup_key).toBe("pro_monthly");
    const next = await latest(await advanceSubscription(other.id));
    expect(next.lines.data).toHaveLength(1);
    expect(next.amount_paid).toBe(2900);
  });

  it("refuses an unknown proration_behavior and pending_if_incomplete, changing nothing", async () => {
    const sub = await subscribe();
    const price = await priceOf("pro_monthly");
    const bad = await stripeFailure(
      stripe.subscriptions.update(sub.id, {
        items: [{ id: itemOf(sub).id, price }],
        proration_behavior: "sometimes" as "none",
      }),
    );
    expect(bad.statusCode).toBe(400);
    expect(bad.param).toBe("proration_behavior");
    const pending = await stripeFailure(
      stripe.subscriptions.update(sub.id, {
        items: [{ id: itemOf(sub).id, price }],
        payment_behavior: "pending_if_incomplete",
      }),
    );
    expect(pending.statusCode).toBe(400);
    expect(itemOf(await stripe.subscriptions.retrieve(sub.id)).price.lookup_key).toBe("basic_monthly");
  });
});

describe("stripe emulator: subscription schedules", () => {
  it("from_subscription alone, one per subscription; phases switch the price at the period end; release", async () => {
    const sub = await subscribe("pro_monthly");
    const withPhases = await stripeFailure(
      stripe.subscriptionSchedules.create({
        from_subscription: sub.id,
        end_behavior: "release",
      }),
    );
    expect(withPhases.statusCode).toBe(400);
    const sched = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    expect(sched).toMatchObject({ object: "subscription_schedule", status: "active", subscription: sub.id });
    expect(
      (await stripeFailure(stripe.subscriptionSchedules.create({ from_subscription: sub.id }))).statusCode,
    ).toBe(400);

    const item = itemOf(sub);
    const both = await stripeFailure(
      stripe.subscriptionSchedules.update(sched.id, {
        phases: [
          {
            items: [{ price: item.price.id }],
            start_date: item.current_period_start,
            end_date: item.current_period_end,
          },
          {
            items: [{ price: await priceOf("basic_monthly") }],
            end_date: item.current_period_end + 100,
            duration: { interval: "month" },
          },
        ],
      }),
    );
    expect(both.statusCode).toBe(400);
    const updated = await stripe.subscriptionSchedules.update(sched.id, {
      phases: [
        {
          items: [{ price: item.price.id }],
          start_date: item.current_period_start,
          end_date: item.current_period_end,
        },
        {
          items: [{ price: await priceOf("basic_monthly") }],
          duration: { interval: "month", interval_count: 1 },
        },
      ],
    });
    expect(updated.phases[1]?.start_date).toBe(item.current_period_end);

    const renewed = await advanceSubscription(sub.id);
    expect(itemOf(renewed).price.lookup_key).toBe("basic_monthly");
    expect((await latest(renewed)).amount_paid).toBe(900);

    const released = await stripe.subscriptionSchedules.release(sched.id);
    expect(released).toMatchObject({ status: "released", subscription: null, released_subscription: sub.id });
    expect((await stripe.subscriptions.retrieve(sub.id)).schedule).toBeNull();
    expect((await stripeFailure(stripe.subscriptionSchedules.release(sched.id))).statusCode).toBe(400);
  });

  it("a scheduled subscription refuses cancel_at_period_end until released; cancelling it cancels the schedule", async () => {
    const sub = await subscribe();
    const sched = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    const refused = await stripeFailure(stripe.subscriptions.update(sub.id, { cancel_at_period_end: true }));
    expect(refused).toMatchObject({ type: "StripeInvalidRequestError", statusCode: 400 });
    expect(refused.message).toContain(`managed by the subscription schedule \`${sched.id}\``);
    expect((await stripe.subscriptions.retrieve(sub.id)).cancel_at_period_end).toBe(false);

    await stripe.subscriptionSchedules.release(sched.id);
    const later = await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
    expect(later).toMatchObject({ cancel_at_period_end: true, schedule: null });

    const other = await subscribe();
    const second = await stripe.subscriptionSchedules.create({ from_subscription: other.id });
    await stripe.subscriptions.cancel(other.id);
    expect(await stripe.subscriptionSchedules.retrieve(second.id)).toMatchObject({
      status: "canceled",
      current_phase: null,
    });
    const types = (await pullWebhooks({ forObject: second.id })).deliveries.map((d) => d.type);
    expect(types).toContain("subscription_schedule.canceled");
  });
});
