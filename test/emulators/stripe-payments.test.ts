import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import {
  closeDispute,
  confirmClientSide,
  eventOf,
  failRefund,
  openDispute,
  pullWebhooks,
  settleProcessing,
  startProcessing,
  stripeClient,
  stripeFailure,
  updateDispute,
} from "../helpers/stripe";

const stripe = stripeClient();

const failure = stripeFailure;

const newIntent = (extra: Partial<Stripe.PaymentIntentCreateParams> = {}) =>
  stripe.paymentIntents.create({
    amount: 2500,
    currency: "usd",
    description: "order",
    metadata: { payment_id: crypto.randomUUID() },
    automatic_payment_methods: { enabled: true },
    ...extra,
  });

async function typesFor(id: string): Promise<string[]> {
  return (await pullWebhooks({ forObject: id })).deliveries.map((d) => d.type);
}

describe("stripe emulator: payment intents", () => {
  it("creates an intent shaped like Stripe's (client_secret, status, metadata)", async () => {
    const pi = await newIntent();
    expect(pi.id).toMatch(/^pi_/);
    expect(pi.client_secret).toMatch(new RegExp(`^${pi.id}_secret_`));
    expect(pi.status).toBe("requires_payment_method");
    expect(pi.object).toBe("payment_intent");
    expect(pi.livemode).toBe(false);
    expect(pi.automatic_payment_methods?.enabled).toBe(true);
    expect(await typesFor(pi.id)).toEqual(["payment_intent.created"]);
  });

  it.each([
    ["pm_card_visa", "visa", "4242"],
    ["pm_card_mastercard", "mastercard", "4444"],
  ])("%s succeeds with a charge, receipt and balance transaction", async (pm, brand, last4) => {
    const pi = await newIntent();
    const confirmed = await stripe.paymentIntents.confirm(pi.id, { payment_method: pm });
    expect(confirmed.status).toBe("succeeded");
    expect(confirmed.amount_received).toBe(2500);
    expect(confirmed.payment_method).toMatch(/^pm_/);
    const expanded = await stripe.paymentIntents.retrieve(pi.id, { expand: ["latest_charge"] });
    const charge = expanded.latest_charge as Stripe.Charge;
    expect(charge.id).toMatch(/^ch_/);
    expect(charge.payment_method_details?.card?.brand).toBe(brand);
    expect(charge.payment_method_details?.card?.last4).toBe(last4);
    expect(charge.receipt_url).toMatch(/^https:\/\/pay\.stripe\.com\/receipts\//);
    // Stripe leaves receipt_number null until a receipt is sent (no receipt_email here).
    expect(charge.receipt_number).toBeNull();
    expect(charge.amount_refunded).toBe(0);
    expect(charge.refunded).toBe(false);
    expect(charge.balance_transaction).toMatch(/^txn_/);
    expect(await stripe.charges.retrieve(charge.id)).toEqual(charge);
    expect(await typesFor(pi.id)).toEqual([
      "payment_intent.created",
      "charge.succeeded",
      "payment_intent.succeeded",
    ]);
  });

  it("create with confirm=true runs the whole flow in one call", async () => {
    const pi = await newIntent({ payment_method: "pm_card_visa", confirm: true });
    expect(pi.status).toBe("succeeded");
  });

  it.each([
    ["pm_card_chargeDeclined", "card_declined", "generic_decline"],
    ["pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"],
  ])("%s is a 402 card_error carrying the updated intent", async (pm, code, declineCode) => {
    const pi = await newIntent();
    const err = await failure(stripe.paymentIntents.confirm(pi.id, { payment_method: pm }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err.statusCode).toBe(402);
    expect(err.type).toBe("StripeCardError");
    expect(err.code).toBe(code);
    expect(err.decline_code).toBe(declineCode);
    expect(err.doc_url).toContain("https://stripe.com/docs/error-codes/");
    expect(err.payment_intent?.id).toBe(pi.id);
    expect(err.payment_intent?.status).toBe("requires_payment_method");
    expect(err.payment_intent?.last_payment_error?.decline_code).toBe(declineCode);
    const after = await stripe.paymentIntents.retrieve(pi.id);
    expect(after.status).toBe("requires_payment_method");
    expect(after.last_payment_error?.code).toBe(code);
    expect(await typesFor(pi.id)).toEqual([
      "payment_intent.created",
      "charge.failed",
      "payment_intent.payment_failed",
    ]);
    // A declined intent can be retried with another card.
    expect((await stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa" })).status).toBe(
      "succeeded",
    );
  });

  it("pm_card_authenticationRequired needs action; Stripe.js completion then succeeds", async () => {
    const pi = await newIntent();
    const confirmed = await stripe.paymentIntents.confirm(pi.id, {
      payment_method: "pm_card_authenticationRequired",
    });
    expect(confirmed.status).toBe("requires_action");
    expect(confirmed.next_action?.type).toBe("use_stripe_sdk");
    expect(confirmed.next_action?.use_stripe_sdk).toBeTruthy();
    const client = await confirmClientSide(pi.id);
    expect(client.status).toBe(200);
    const reread = await stripe.paymentIntents.retrieve(pi.id);
    expect(reread.status).toBe("succeeded");
    expect(reread.next_action).toBeNull();
    expect(await typesFor(pi.id)).toEqual([
      "payment_intent.created",
      "payment_intent.requires_action",
      "charge.succeeded",
      "payment_intent.succeeded",
    ]);
  });

  it("a failed client-side authentication returns the intent to requires_payment_method", async () => {
    const pi = await newIntent({ payment_method: "pm_card_authenticationRequired", confirm: true });
    expect(pi.status).toBe("requires_action");
    await confirmClientSide(pi.id, { authenticate: false });
    const reread = await stripe.paymentIntents.retrieve(pi.id);
    expect(reread.status).toBe("requires_payment_method");
    expect(reread.last_payment_error?.code).toBe("payment_intent_authentication_failure");
  });

  it("client-side confirmation with a card (what Stripe.js does) succeeds without a server call", async () => {
    const pi = await newIntent();
    const res = await confirmClientSide(pi.id, { payment_method: "pm_card_visa" });
    expect(res.status).toBe(200);
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe("succeeded");
  });

  it("an unknown payment method is 400 resource_missing on param payment_method", async () => {
    const pi = await newIntent();
    const err = await failure(stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_nope" }));
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe("resource_missing");
    expect(err.param).toBe("payment_method");
  });

  it("validates amount and currency like Stripe", async () => {
    const tooSmall = await failure(newIntent({ amount: 10 }));
    expect(tooSmall.code).toBe("amount_too_small");
    const missing = await failure(
      stripe.paymentIntents.create({ currency: "usd" } as Stripe.PaymentIntentCreateParams),
    );
    expect(missing.code).toBe("parameter_missing");
    expect(missing.param).toBe("amount");
    const currency = await failure(newIntent({ currency: "xyz" }));
    expect(currency.param).toBe("currency");
  });

  it("cancels an open intent, and refuses to cancel or confirm a succeeded one", async () => {
    const open = await newIntent();
    const canceled = await stripe.paymentIntents.cancel(open.id, {
      cancellation_reason: "requested_by_customer",
    });
    expect(canceled.status).toBe("canceled");
    expect(canceled.canceled_at).toBeTypeOf("number");
    expect(await typesFor(open.id)).toContain("payment_intent.canceled");
    const done = await newIntent({ payment_method: "pm_card_visa", confirm: true });
    const cancelErr = await failure(stripe.paymentIntents.cancel(done.id));
    expect(cancelErr.code).toBe("payment_intent_unexpected_state");
    const confirmErr = await failure(
      stripe.paymentIntents.confirm(done.id, { payment_method: "pm_card_visa" }),
    );
    expect(confirmErr.code).toBe("payment_intent_unexpected_state");
  });
});

describe("stripe emulator: refunds", () => {
  it("refunds partially, then the rest, then refuses more", async () => {
    const pi = await newIntent({ payment_method: "pm_card_visa", confirm: true });
    const first = await stripe.refunds.create({
      payment_intent: pi.id,
      amount: 1000,
      reason: "requested_by_customer",
      metadata: { note: "late" },
    });
    expect(first.id).toMatch(/^re_/);
    expect(first.status).toBe("succeeded");
    expect(first.amount).toBe(1000);
    expect(first.metadata).toEqual({ note: "late" });
    const over = await failure(stripe.refunds.create({ payment_intent: pi.id, amount: 2000 }));
    expect(over.statusCode).toBe(400);
    expect(over.code).toBe("amount_too_large");
    expect(over.message).toBe("Refund amount ($20.00) is greater than unrefunded amount on charge ($15.00)");
    const rest = await stripe.refunds.create({ payment_intent: pi.id });
    expect(rest.amount).toBe(1500);
    const charge = await stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge.amount_refunded).toBe(2500);
    expect(charge.refunded).toBe(true);
    const again = await failure(stripe.refunds.create({ payment_intent: pi.id, amount: 1 }));
    expect(again.code).toBe("charge_already_refunded");
    expect(await stripe.refunds.retrieve(first.id)).toEqual(first);
    const refunded = (await pullWebhooks({ type: "charge.refunded", forObject: charge.id })).deliveries.map(
      eventOf,
    );
    expect(refunded).toHaveLength(2);
    expect(refunded[0]?.data.previous_attributes).toMatchObject({ amount_refunded: 0 });
  });

  it("refuses to refund an intent that has not succeeded", async () => {
    const pi = await newIntent();
    const err = await failure(stripe.refunds.create({ payment_intent: pi.id }));
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe("charge_not_refundable");
  });
});

describe("stripe emulator: delayed outcomes", () => {
  it("processing settles to succeeded or failed", async () => {
    const ok = await newIntent();
    expect((await startProcessing(ok.id)).status).toBe("processing");
    expect((await settleProcessing(ok.id, "succeeded")).status).toBe("succeeded");
    expect(await typesFor(ok.id)).toEqual([
      "payment_intent.created",
      "payment_intent.processing",
      "charge.succeeded",
      "payment_intent.succeeded",
    ]);
    const bad = await newIntent();
    await startProcessing(bad.id, "pm_card_visa");
    const failed = await settleProcessing(bad.id, "failed");
    expect(failed.status).toBe("requires_payment_method");
    expect(failed.last_payment_error?.decline_code).toBe("generic_decline");
  });

  it("a bounced refund emits refund.updated and restores the charge", async () => {
    const pi = await newIntent({ payment_method: "pm_card_visa", confirm: true });
    const refund = await stripe.refunds.create({ payment_intent: pi.id, amount: 500 });
    const failed = await failRefund(refund.id);
    expect(failed.status).toBe("failed");
    expect((await stripe.refunds.retrieve(refund.id)).status).toBe("failed");
    expect((await stripe.charges.retrieve(pi.latest_charge as string)).amount_refunded).toBe(0);
    const [updated] = (await pullWebhooks({ type: "refund.updated", forObject: refund.id })).deliveries.map(
      eventOf,
    );
    expect(updated?.data.previous_attributes).toMatchObject({ status: "succeeded" });
  });
});

describe("stripe emulator: disputes", () => {
  it("opens, updates and closes a dispute with charge.dispute.* events", async () => {
    const pi = await newIntent({ payment_method: "pm_card_visa", confirm: true });
    const dispute = await openDispute({ payment_intent: pi.id, reason: "fraudulent" });
    expect(dispute.id).toMatch(/^dp_/);
    expect(dispute.status).toBe("needs_response");
    expect(dispute.amount).toBe(2500);
    expect((await stripe.charges.retrieve(pi.latest_charge as string)).disputed).toBe(true);
    await updateDispute(dispute.id, { status: "under_review" });
    const closed = await closeDispute(dispute.id, "lost");
    expect(closed.status).toBe("lost");
    expect((await stripe.disputes.retrieve(dispute.id)).status).toBe("lost");
    const types = (await pullWebhooks({ type: "charge.dispute.*", forObject: dispute.id })).deliveries.map(
      (d) => d.type,
    );
    expect(types).toEqual(["charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed"]);
  });
});
