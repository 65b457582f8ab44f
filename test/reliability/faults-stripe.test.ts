import { describe, expect, it } from "vitest";
import { confirmClientSide } from "../helpers/stripe";
import { confirm, createIntent, newCaller, paymentRow, stripeIntentId } from "../payments/helpers";
import { confirmUnder, createIntentUnder, refundUnder, type StripeFault } from "./stripe-ops";

/**
 * Stripe answering 500 (retried once by the SDK, then 502) or 429 (not retried, 503 with
 * Retry-After) during each money-moving call. Each case proves: the envelope, nothing
 * half-written, and a retry with the same Idempotency-Key completing exactly once.
 */
const FAULTS: Array<[string, StripeFault]> = [
  ["500", { status: 500 }],
  ["429", { status: 429 }],
];

describe.concurrent.each(FAULTS)("Stripe answering %s", (_name, fault) => {
  it("during create-intent", () => createIntentUnder(fault));
  it("during confirm", () => confirmUnder(fault));
  it("during refund", () => refundUnder(fault));
});

describe("confirm after Stripe already confirmed (the answer to an earlier attempt was lost)", () => {
  it("re-reads the intent and answers 200 succeeded instead of 422", async () => {
    const user = await newCaller("user");
    const intent = await createIntent(user, { amount: 1800, currency: "usd" });
    const piId = await stripeIntentId(intent.payment_id);
    // Stripe confirmed (here via Stripe.js; in production a timed-out server confirm) but our row never heard.
    expect((await confirmClientSide(piId, { payment_method: "pm_card_visa" })).status).toBe(200);
    expect((await paymentRow(intent.payment_id)).status).toBe("requires_payment_method");

    const res = await confirm(user, intent.payment_id, "pm_card_visa");
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ status: "succeeded", amount: 1800 });
    expect(await paymentRow(intent.payment_id)).toMatchObject({ status: "succeeded", cardLast4: "4242" });
  });
});
