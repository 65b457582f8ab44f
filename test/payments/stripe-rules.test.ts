import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { disputes } from "../../src/db/schema";
import { expectEnvelope, postJson } from "../helpers/http";
import {
  appealDispute,
  closeDispute,
  deliverWebhook,
  emulatorRequests,
  injectFault,
  openDispute,
  signPayload,
  stripeClient,
  stripeFailure,
  updateDispute,
} from "../helpers/stripe";
import { db, deliverAllFor, get, newCaller, paidPayment, stripeIntentId } from "./helpers";

// Stripe's rules the platform depends on, enforced by the emulator and mapped by the platform.

const createIntent = (caller: { headers: Record<string, string> }, body: Record<string, unknown>) =>
  postJson("/api/v1/payments/create-intent", body, caller.headers);

describe("Stripe errors the platform maps to retryable answers", () => {
  it("lock_timeout is a 429 at Stripe (StripeRateLimitError) → 503 UPSTREAM_UNAVAILABLE with Retry-After", async () => {
    const user = await newCaller("user");
    // Twice: Stripe sends Stripe-Should-Retry on a lock timeout, so the SDK retries once.
    await injectFault({
      path_prefix: "/v1/payment_intents",
      method: "POST",
      status: 429,
      code: "lock_timeout",
      count: 2,
      body_contains: user.sub,
    });
    const res = await createIntent(user, { amount: 2000, currency: "usd" });
    await expectEnvelope(res, 503, "UPSTREAM_UNAVAILABLE");
    expect(res.headers.get("retry-after")).toBeTruthy();
    const refused = (await emulatorRequests({ path_prefix: "/v1/payment_intents" })).filter(
      (r) => r.fault && (r.params.metadata as Record<string, string> | undefined)?.user_id === user.sub,
    );
    expect(refused.map((r) => r.status)).toEqual([429, 429]);
    // The fault is gone: the retry works.
    expect((await createIntent(user, { amount: 2000, currency: "usd" })).status).toBe(201);

    // On the wire it is Stripe's lock timeout (429, code lock_timeout), not a 409 or a rate limit.
    const tag = crypto.randomUUID();
    await injectFault({
      path_prefix: "/v1/payment_intents",
      method: "POST",
      status: 429,
      code: "lock_timeout",
      body_contains: tag,
    });
    const err = await stripeFailure(
      stripeClient().paymentIntents.create({ amount: 2000, currency: "usd", metadata: { tag } }),
    );
    expect(err).toMatchObject({ type: "StripeRateLimitError", statusCode: 429, code: "lock_timeout" });
  });

  it("the same Stripe idempotency key in flight twice: Stripe's 409 idempotency_key_in_use → our 409 CONFLICT", async () => {
    const user = await newCaller("user");
    // The first customer create (key cus:<user>) is slow; a concurrent first use sends the same key.
    await injectFault({
      path_prefix: "/v1/customers",
      method: "POST",
      delay_ms: 3000,
      count: 1,
      body_contains: user.sub,
    });
    const results = await Promise.all([
      createIntent(user, { amount: 2000, currency: "usd" }),
      createIntent(user, { amount: 3000, currency: "usd" }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    const loser = results.find((r) => r.status === 409);
    if (!loser) throw new Error("no loser");
    expect(loser.headers.get("retry-after")).toBe("1");
    await expectEnvelope(loser, 409, "CONFLICT");
    const creates = await emulatorRequests({ idempotency_key: `cus:${user.sub}` });
    expect(creates.filter((r) => r.status === 200 && !r.replayed)).toHaveLength(1);
    expect(creates.some((r) => r.status === 409)).toBe(true);
    expect((await createIntent(user, { amount: 3000, currency: "usd" })).status).toBe(201);
  });
});

describe("charge amounts Stripe refuses", () => {
  it("the emulator refuses amounts below the currency minimum and three-decimal amounts not divisible by 10", async () => {
    const stripe = stripeClient();
    const small = await stripeFailure(stripe.paymentIntents.create({ amount: 29, currency: "gbp" }));
    expect(small).toMatchObject({ statusCode: 400, code: "amount_too_small", param: "amount" });
    expect((await stripe.paymentIntents.create({ amount: 30, currency: "gbp" })).amount).toBe(30);
    const usd = await stripeFailure(stripe.paymentIntents.create({ amount: 49, currency: "usd" }));
    expect(usd.message).toBe("Amount must be at least $0.50 usd");
    const kwd = await stripeFailure(stripe.paymentIntents.create({ amount: 1005, currency: "kwd" }));
    expect(kwd).toMatchObject({ statusCode: 400, code: "invalid_charge_amount", param: "amount" });
    expect((await stripe.paymentIntents.create({ amount: 1000, currency: "bhd" })).currency).toBe("bhd");
  });

  it("the platform refuses them first with a 400 naming amount, and Stripe is not called", async () => {
    const user = await newCaller("user");
    for (const body of [
      { amount: 49, currency: "usd" },
      { amount: 29, currency: "GBP" },
      { amount: 1005, currency: "kwd" },
      { amount: 12_345, currency: "bhd" },
    ]) {
      const envelope = await expectEnvelope(await createIntent(user, body), 400, "VALIDATION_FAILED");
      expect(JSON.stringify(envelope.error.details)).toContain("amount");
    }
    const made = (await emulatorRequests({ path_prefix: "/v1/payment_intents" })).filter(
      (r) => (r.params.metadata as Record<string, string> | undefined)?.user_id === user.sub,
    );
    expect(made).toHaveLength(0);
    expect((await createIntent(user, { amount: 1000, currency: "kwd" })).status).toBe(201);
    expect((await createIntent(user, { amount: 50, currency: "usd" })).status).toBe(201);
  });
});

describe("receipt_number", () => {
  it("is null at Stripe until a receipt is sent; the platform's receipt falls back to its own number", async () => {
    const user = await newCaller("user");
    const p = await paidPayment(user, 2500);
    const pi = await stripeClient().paymentIntents.retrieve(await stripeIntentId(p.payment_id), {
      expand: ["latest_charge"],
    });
    const charge = pi.latest_charge as { receipt_number: string | null; receipt_email: string | null };
    expect(charge.receipt_email).toBeNull();
    expect(charge.receipt_number).toBeNull();
    const body = (await (await get(`/api/v1/payments/${p.payment_id}`, user)).json()) as {
      receipt: { receipt_number: string | null };
    };
    expect(body.receipt.receipt_number).toMatch(/^R-\d{8}-/);
  });
});

describe("dispute appeals", () => {
  it("a lost dispute moves into appeal and on to its decision; only a lost dispute can be appealed", async () => {
    const user = await newCaller("user");
    const p = await paidPayment(user, 4200);
    const opened = await openDispute({ payment_intent: await stripeIntentId(p.payment_id) });
    await updateDispute(opened.id, { status: "under_review" });
    await closeDispute(opened.id, "lost");
    const statusOf = async () =>
      (await db().select().from(disputes).where(eq(disputes.stripeDisputeId, opened.id)).get())?.status;
    await deliverAllFor(opened.id);
    expect(await statusOf()).toBe("lost");

    await appealDispute(opened.id);
    await updateDispute(opened.id, { status: "appeal_under_review" });
    await deliverAllFor(opened.id);
    expect(await statusOf()).toBe("appeal_under_review");
    await closeDispute(opened.id, "won");
    await deliverAllFor(opened.id);
    expect(await statusOf()).toBe("won");

    // Only a lost dispute can be appealed, at Stripe as in the emulator.
    await expect(appealDispute(opened.id)).rejects.toThrow(/Only a lost dispute/);
  });

  it("a won dispute stays won whatever arrives later", async () => {
    const user = await newCaller("user");
    const p = await paidPayment(user, 4200);
    const opened = await openDispute({ payment_intent: await stripeIntentId(p.payment_id) });
    const open = await deliverAllFor(opened.id);
    await closeDispute(opened.id, "won");
    await deliverAllFor(opened.id);
    // A late charge.dispute.created (needs_response), re-sent as a new delivery of a new event id,
    // is what an out-of-order delivery looks like: the row does not reopen.
    const stale = open[0];
    if (!stale) throw new Error("no created delivery");
    const event = JSON.parse(stale.payload) as { id: string };
    const payload = stale.payload.replace(event.id, `${event.id}_late`);
    await deliverWebhook({ payload, signature: await signPayload(payload) });
    expect(
      (await db().select().from(disputes).where(eq(disputes.stripeDisputeId, opened.id)).get())?.status,
    ).toBe("won");
  });
});
