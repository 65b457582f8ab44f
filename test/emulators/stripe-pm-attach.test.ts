import { describe, expect, it } from "vitest";
import { stripeClient, stripeFailure } from "../helpers/stripe";

/**
 * Review of issue 12, item 3: confirming an intent attached its PaymentMethod to the intent's
 * customer. Stripe attaches it only with `setup_future_usage` ("attach the payment method to
 * the Customer after the PaymentIntent is confirmed"); an unattached method is single-use, and
 * one attached to a customer can only be used with that customer.
 */
const stripe = stripeClient();

const customer = () => stripe.customers.create({ metadata: { test: crypto.randomUUID() } });

const paid = (
  customerId: string | undefined,
  pm: string,
  extra: { setup_future_usage?: "off_session" } = {},
) =>
  stripe.paymentIntents.create({
    amount: 2500,
    currency: "usd",
    ...(customerId ? { customer: customerId } : {}),
    payment_method: pm,
    automatic_payment_methods: { enabled: true, allow_redirects: "never" },
    confirm: true,
    ...extra,
  });

describe("stripe emulator: confirming does not attach the payment method", () => {
  it("without setup_future_usage the method stays unattached and is spent once charged", async () => {
    const c = await customer();
    const pi = await paid(c.id, "pm_card_visa");
    expect(pi.status).toBe("succeeded");
    const pmId = String(pi.payment_method);
    expect((await stripe.paymentMethods.retrieve(pmId)).customer).toBeNull();
    const reuse = await stripeFailure(paid(c.id, pmId));
    expect(reuse).toMatchObject({
      statusCode: 400,
      type: "StripeInvalidRequestError",
      param: "payment_method",
    });
    expect(reuse.message).toContain("may not be used again");
    // Not attached, so it cannot be the customer's invoice default either.
    const asDefault = await stripeFailure(
      stripe.customers.update(c.id, { invoice_settings: { default_payment_method: pmId } }),
    );
    expect(asDefault).toMatchObject({ statusCode: 400, code: "resource_missing" });
  });

  it("with setup_future_usage it is attached to the intent's customer, and only that customer may use it", async () => {
    const c = await customer();
    const pi = await paid(c.id, "pm_card_visa", { setup_future_usage: "off_session" });
    expect(pi.setup_future_usage).toBe("off_session");
    const pmId = String(pi.payment_method);
    expect((await stripe.paymentMethods.retrieve(pmId)).customer).toBe(c.id);
    expect((await paid(c.id, pmId)).status).toBe("succeeded");

    const other = await customer();
    const foreign = await stripeFailure(paid(other.id, pmId));
    expect(foreign).toMatchObject({ statusCode: 400, param: "payment_method" });
    expect(foreign.message).toContain(c.id);
    const anonymous = await stripeFailure(paid(undefined, pmId));
    expect(anonymous).toMatchObject({ statusCode: 400, param: "payment_method" });
    expect(anonymous.message).toContain("include the Customer");
  });

  it("attaching a method that belongs to another customer is refused", async () => {
    const c = await customer();
    const pm = await stripe.paymentMethods.attach("pm_card_visa", { customer: c.id });
    const other = await customer();
    const err = await stripeFailure(stripe.paymentMethods.attach(pm.id, { customer: other.id }));
    expect(err).toMatchObject({ statusCode: 400, type: "StripeInvalidRequestError" });
    expect((await stripe.paymentMethods.retrieve(pm.id)).customer).toBe(c.id);
  });
});
