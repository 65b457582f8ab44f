import { describe, expect, it } from "vitest";
import {
  confirmClientSide,
  deliverWebhook,
  openDispute,
  pullWebhooks,
  stripeClient,
} from "../helpers/stripe";
import { createIntent, newCaller, paymentRow, stripeIntentId } from "../payments/helpers";

/** Delivers one recorded event of `type` for the intent, expecting it to be applied. */
async function deliver(piId: string, type: string) {
  const { deliveries } = await pullWebhooks({ forObject: piId, type });
  const d = deliveries[0];
  if (!d) throw new Error(`no ${type} for ${piId}`);
  const res = await deliverWebhook(d);
  expect(res.status, await res.clone().text()).toBe(200);
}

async function clientConfirmed() {
  const user = await newCaller("user");
  const intent = await createIntent(user, { amount: 3000, currency: "usd" });
  const piId = await stripeIntentId(intent.payment_id);
  expect((await confirmClientSide(piId, { payment_method: "pm_card_visa" })).status).toBe(200);
  return { paymentId: intent.payment_id, piId };
}

/** Found by the webhook storm: a refund or dispute event that beats payment_intent.succeeded. */
describe("webhooks out of order", () => {
  it("a refund recorded before the success still shows once the success lands", async () => {
    const { paymentId, piId } = await clientConfirmed();
    await stripeClient().refunds.create({ payment_intent: piId, amount: 1000 });
    await deliver(piId, "refund.created");
    expect(await paymentRow(paymentId)).toMatchObject({
      status: "requires_payment_method",
      amountRefunded: 1000,
    });
    await deliver(piId, "payment_intent.succeeded");
    expect(await paymentRow(paymentId)).toMatchObject({ status: "partially_refunded", amountRefunded: 1000 });
  });

  it("a dispute recorded before the success leaves the payment disputed", async () => {
    const { paymentId, piId } = await clientConfirmed();
    await openDispute({ payment_intent: piId });
    await deliver(piId, "charge.dispute.created");
    await deliver(piId, "payment_intent.succeeded");
    expect((await paymentRow(paymentId)).status).toBe("disputed");
  });
});
