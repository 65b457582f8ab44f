import { expect } from "vitest";
import { bodyOf } from "../helpers/body";
import { expectEnvelope, postJson } from "../helpers/http";
import { emulatorRequests, injectFault, stripeClient } from "../helpers/stripe";
import {
  type Caller,
  createIntent,
  newCaller,
  paidPayment,
  paymentRow,
  stripeIntentId,
} from "../payments/helpers";
import { clearFault, idempotencyRow, marker, paymentsOf, refundsOf } from "./helpers";

/** How Stripe misbehaves: an error status (the SDK retries 5xx once, never 429) or a delay past its timeout. */
export type StripeFault = { status?: 500 | 429; delay_ms?: number };

/** Both SDK attempts (first try and its one retry) meet the fault. */
const ATTEMPTS = 2;

/**
 * 500 → 502 UPSTREAM_FAILED; rate limit and timeout → 503 UPSTREAM_UNAVAILABLE with Retry-After.
 * A timeout whose SDK retry reaches Stripe while the first attempt is still running meets
 * Stripe's 409 idempotency_key_in_use instead: our 409 CONFLICT, retryable (Retry-After) too.
 */
async function expectUpstreamError(res: Response, fault: StripeFault) {
  if (fault.status === 500) {
    await expectEnvelope(res, 502, "UPSTREAM_FAILED");
  } else if (fault.delay_ms !== undefined && res.status === 409) {
    await expectEnvelope(res, 409, "CONFLICT");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  } else {
    await expectEnvelope(res, 503, "UPSTREAM_UNAVAILABLE");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  }
}

const post = (path: string, body: unknown, caller: Caller, key: string) =>
  postJson(path, body, { ...caller.headers, "idempotency-key": key });

/** Requests Stripe really carried out (not a fault, not an idempotent replay). */
const applied = async (filter: { path_prefix?: string; idempotency_key?: string }, exactPath?: string) =>
  (await emulatorRequests(filter)).filter(
    (r) => r.status === 200 && !r.replayed && !r.fault && (exactPath === undefined || r.path === exactPath),
  );

/**
 * create-intent under the fault: an upstream error, no payment row, the key released; then
 * the retry with the same key makes exactly one PaymentIntent and one row.
 */
export async function createIntentUnder(fault: StripeFault) {
  const user = await newCaller("user");
  const key = `ci-${crypto.randomUUID()}`;
  const m = marker();
  const body = { amount: 4321, currency: "eur", metadata: { marker: m } };
  const { id } = await injectFault({
    path_prefix: "/v1/payment_intents",
    method: "POST",
    count: ATTEMPTS,
    body_contains: m,
    ...fault,
  });
  await expectUpstreamError(await post("/api/v1/payments/create-intent", body, user, key), fault);
  expect(await paymentsOf(user.sub)).toHaveLength(0);
  expect(await idempotencyRow(user.sub, key)).toBeUndefined();
  await clearFault(id);

  const retry = await post("/api/v1/payments/create-intent", body, user, key);
  expect(retry.status).toBe(201);
  const { payment_id } = await bodyOf(retry, "POST /payments/create-intent", 201);
  const rows = await paymentsOf(user.sub);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ id: payment_id, amount: 4321, currency: "eur" });
  expect(await applied({ idempotency_key: `pi:${payment_id}` })).toHaveLength(1);
  const pi = await stripeClient().paymentIntents.retrieve(await stripeIntentId(payment_id));
  expect(pi).toMatchObject({ amount: 4321, currency: "eur", metadata: { payment_id } });
}

/**
 * confirm under the fault: an upstream error, the row still in an open state; the retry
 * with the same key succeeds with one charge.
 */
export async function confirmUnder(fault: StripeFault) {
  const user = await newCaller("user");
  const intent = await createIntent(user, { amount: 2500, currency: "usd" });
  const piId = await stripeIntentId(intent.payment_id);
  const key = `cf-${crypto.randomUUID()}`;
  const body = { payment_id: intent.payment_id, payment_method: "pm_card_visa" };
  const { id } = await injectFault({
    path_prefix: `/v1/payment_intents/${piId}/confirm`,
    method: "POST",
    count: ATTEMPTS,
    ...fault,
  });
  await expectUpstreamError(await post("/api/v1/payments/confirm", body, user, key), fault);
  expect((await paymentRow(intent.payment_id)).status).toBe("requires_payment_method");
  expect(await idempotencyRow(user.sub, key)).toBeUndefined();
  await clearFault(id);

  const retry = await post("/api/v1/payments/confirm", body, user, key);
  expect(retry.status, await retry.clone().text()).toBe(200);
  expect(await retry.json()).toMatchObject({ status: "succeeded", amount: 2500 });
  const row = await paymentRow(intent.payment_id);
  expect(row).toMatchObject({ status: "succeeded", amount: 2500, cardLast4: "4242" });
  const pi = await stripeClient().paymentIntents.retrieve(piId);
  expect(pi.status).toBe("succeeded");
  expect(row.stripeChargeId).toBe(pi.latest_charge);
  // However many attempts reached Stripe, it confirmed (charged) once.
  // (The emulator's SQLite caps LIKE patterns at 50 bytes, so the exact path is matched here.)
  const confirmPath = `/v1/payment_intents/${piId}/confirm`;
  expect(await applied({ path_prefix: "/v1/payment_intents/" }, confirmPath)).toHaveLength(1);
}

/**
 * refund under the fault: an upstream error, no refund row and the payment untouched; the
 * retry with the same key makes one Stripe refund, one row and the right totals.
 */
export async function refundUnder(fault: StripeFault) {
  const user = await newCaller("user");
  const admin = await newCaller("admin");
  const p = await paidPayment(user, 6000);
  const piId = await stripeIntentId(p.payment_id);
  const key = `rf-${crypto.randomUUID()}`;
  const body = { amount: 1500, reason: "requested_by_customer" };
  const path = `/api/v1/payments/${p.payment_id}/refund`;
  const { id } = await injectFault({
    path_prefix: "/v1/refunds",
    method: "POST",
    count: ATTEMPTS,
    body_contains: piId,
    ...fault,
  });
  await expectUpstreamError(await post(path, body, admin, key), fault);
  expect(await refundsOf(p.payment_id)).toHaveLength(0);
  expect(await paymentRow(p.payment_id)).toMatchObject({ status: "succeeded", amountRefunded: 0 });
  await clearFault(id);

  const retry = await post(path, body, admin, key);
  expect(retry.status, await retry.clone().text()).toBe(201);
  const rows = await refundsOf(p.payment_id);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ amount: 1500 });
  expect(await paymentRow(p.payment_id)).toMatchObject({
    status: "partially_refunded",
    amountRefunded: 1500,
  });
  const made = (await applied({ path_prefix: "/v1/refunds" })).filter(
    (r) => r.method === "POST" && r.params.payment_intent === piId,
  );
  expect(made).toHaveLength(1);
  const charge = await stripeClient().charges.retrieve(
    String((await paymentRow(p.payment_id)).stripeChargeId),
  );
  expect(charge.amount_refunded).toBe(1500);
}
