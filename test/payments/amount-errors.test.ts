import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { mapStripeError } from "../../src/payments/stripe-errors";
import { stripeClient, stripeFailure } from "../helpers/stripe";

/**
 * Issue 12, review finding 9: Stripe refuses an amount below the currency's minimum with
 * `amount_too_small` and one above the maximum with `amount_too_large` (docs.stripe.com/error-codes,
 * docs.stripe.com/currencies "Minimum and maximum charge amounts"); the platform answers both as the
 * same 400 VALIDATION_FAILED naming `amount` that its own pre-check gives, not a 422.
 */
describe("charge amount errors", () => {
  it("the emulator answers amount_too_small / amount_too_large with Stripe's codes", async () => {
    const stripe = stripeClient();
    const small = await stripeFailure(stripe.paymentIntents.create({ amount: 49, currency: "eur" }));
    expect(small).toMatchObject({ statusCode: 400, code: "amount_too_small", param: "amount" });
    const large = await stripeFailure(stripe.paymentIntents.create({ amount: 100_000_000, currency: "usd" }));
    expect(large).toMatchObject({ statusCode: 400, code: "amount_too_large", param: "amount" });
  });

  it("maps Stripe's amount codes to 400 VALIDATION_FAILED naming the parameter", async () => {
    const stripe = stripeClient();
    for (const [amount, code] of [
      [10, "amount_too_small"],
      [100_000_000, "amount_too_large"],
    ] as const) {
      const err = await stripeFailure(stripe.paymentIntents.create({ amount, currency: "usd" }));
      expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      const mapped = mapStripeError(err, "payment intent create");
      expect(mapped).toMatchObject({ code: "VALIDATION_FAILED", status: 400 });
      expect(mapped.details).toEqual([expect.objectContaining({ path: "amount", code })]);
    }
    // A refund larger than what is left is a state problem, not a bad amount: still 422.
    const refundTooLarge = new Stripe.errors.StripeInvalidRequestError({
      type: "invalid_request_error",
      code: "amount_too_large",
      param: "amount",
      message: "Refund amount is greater than unrefunded amount on charge",
      statusCode: 400,
    });
    expect(mapStripeError(refundTooLarge, "refund create")).toMatchObject({ code: "UNPROCESSABLE" });
  });
});
