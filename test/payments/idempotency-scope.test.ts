import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { idempotencyKeys, payments, refunds, subscriptions } from "../../src/db/schema";
import { expectEnvelope, postJson } from "../helpers/http";
import { emulatorRequests } from "../helpers/stripe";
import { createIntent, db, newCaller, paidPayment, paymentRow } from "./helpers";

/**
 * Issue 12, items 1 and 4: an Idempotency-Key is bound to one concrete request (method, path
 * and body) for as long as its records live. It must never replay one payment's answer for
 * another, nor make a second PaymentIntent (or refund) beside an old row after the 24 h window.
 */
const refund = (id: string, headers: Record<string, string>) =>
  postJson(`/api/v1/payments/${id}/refund`, { reason: "duplicate" }, headers);

const keyRow = (userId: string, key: string) =>
  db()
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)))
    .get();

/** Moves the stored answer for (user, key) 25 hours into the past: the replay window is over. */
const expire = (userId: string, key: string) =>
  db()
    .update(idempotencyKeys)
    .set({ createdAt: Date.now() - 25 * 60 * 60_000 })
    .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)));

describe("Idempotency-Key is bound to the concrete path", () => {
  it("the same key and body on /payments/B/refund after /payments/A/refund is 409, and B is not told it was refunded", async () => {
    const user = await newCaller("user");
    const admin = await newCaller("admin");
    const a = await paidPayment(user, 3000);
    const b = await paidPayment(user, 3000);
    const headers = { ...admin.headers, "idempotency-key": `k-${crypto.randomUUID()}` };

    const first = await refund(a.payment_id, headers);
    expect(first.status).toBe(201);
    const replay = await refund(a.payment_id, headers);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");

    // Before the fix: 201, Idempotent-Replayed, carrying A's refund.
    const other = await refund(b.payment_id, headers);
    expect(other.headers.get("idempotent-replayed")).toBeNull();
    await expectEnvelope(other, 409, "IDEMPOTENCY_CONFLICT");
    expect(await paymentRow(b.payment_id)).toMatchObject({ status: "succeeded", amountRefunded: 0 });
    expect(await db().select().from(refunds).where(eq(refunds.paymentId, b.payment_id))).toHaveLength(0);
    expect(await paymentRow(a.payment_id)).toMatchObject({ status: "refunded", amountRefunded: 3000 });

    // B can still be refunded, under a key of its own.
    const own = await refund(b.payment_id, {
      ...admin.headers,
      "idempotency-key": `k-${crypto.randomUUID()}`,
    });
    expect(own.status).toBe(201);
  });

  it("POST /subscriptions/{id}/cancel: the same key on another subscription is 409 and leaves it alone", async () => {
    const admin = await newCaller("admin");
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const owner = await newCaller("user");
      const res = await postJson("/api/v1/subscriptions", { plan: "free" }, owner.headers);
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { subscription_id: string }).subscription_id);
    }
    const [subA, subB] = ids as [string, string];
    const headers = { ...admin.headers, "idempotency-key": `c-${crypto.randomUUID()}` };
    const cancel = (id: string) =>
      postJson(`/api/v1/subscriptions/${id}/cancel`, { at_period_end: false }, headers);

    expect((await cancel(subA)).status).toBe(200);
    await expectEnvelope(await cancel(subB), 409, "IDEMPOTENCY_CONFLICT");
    const b = await db().select().from(subscriptions).where(eq(subscriptions.id, subB)).get();
    expect(b?.status).toBe("active");
  });
});

describe("Idempotency-Key after the 24 h replay window", () => {
  it("another body under an expired key is 409, never a second PaymentIntent for the old row", async () => {
    const user = await newCaller("user");
    const key = `exp-${crypto.randomUUID()}`;
    const headers = { "idempotency-key": key };
    const first = await createIntent(user, { amount: 1000, currency: "usd" }, headers);
    const stored = await paymentRow(first.payment_id);
    const otherBody = () =>
      postJson(
        "/api/v1/payments/create-intent",
        { amount: 2500, currency: "usd" },
        { ...user.headers, ...headers },
      );
    await expire(user.sub, key);

    // Before the fix: 201 with a new PaymentIntent's client_secret beside the old 1000 usd row.
    await expectEnvelope(await otherBody(), 409, "IDEMPOTENCY_CONFLICT");
    // Also when the key record itself is gone: the payment row keeps the binding.
    await db()
      .delete(idempotencyKeys)
      .where(and(eq(idempotencyKeys.userId, user.sub), eq(idempotencyKeys.key, key)));
    await expectEnvelope(await otherBody(), 409, "IDEMPOTENCY_CONFLICT");
    expect(await keyRow(user.sub, key)).toBeUndefined();

    // The same request again returns the same row and its one intent.
    const again = await createIntent(user, { amount: 1000, currency: "usd" }, headers);
    expect(again).toMatchObject({ payment_id: first.payment_id, client_secret: first.client_secret });
    expect(await db().select().from(payments).where(eq(payments.userId, user.sub))).toHaveLength(1);
    expect(await paymentRow(first.payment_id)).toMatchObject({
      amount: 1000,
      stripePaymentIntentId: stored.stripePaymentIntentId,
    });
    const creates = (await emulatorRequests({ idempotency_key: `pi:${first.payment_id}` })).filter(
      (r) => r.method === "POST" && r.status === 200 && !r.replayed,
    );
    expect(creates).toHaveLength(1);
  });

  it("a refund key reused after expiry for another amount is 409; the same request returns the one refund", async () => {
    const user = await newCaller("user");
    const admin = await newCaller("admin");
    const p = await paidPayment(user, 4000);
    const key = `rexp-${crypto.randomUUID()}`;
    const headers = { ...admin.headers, "idempotency-key": key };
    const send = (amount: number) =>
      postJson(`/api/v1/payments/${p.payment_id}/refund`, { amount, reason: "duplicate" }, headers);
    const first = await send(1000);
    expect(first.status).toBe(201);
    const firstBody = (await first.json()) as { refund: { refund_id: string } };
    await expire(admin.sub, key);

    await expectEnvelope(await send(1500), 409, "IDEMPOTENCY_CONFLICT");
    await db()
      .delete(idempotencyKeys)
      .where(and(eq(idempotencyKeys.userId, admin.sub), eq(idempotencyKeys.key, key)));
    await expectEnvelope(await send(1500), 409, "IDEMPOTENCY_CONFLICT");
    const same = await send(1000);
    expect(same.status).toBe(201);
    expect(((await same.json()) as { refund: { refund_id: string } }).refund.refund_id).toBe(
      firstBody.refund.refund_id,
    );
    expect(await db().select().from(refunds).where(eq(refunds.paymentId, p.payment_id))).toHaveLength(1);
    expect(await paymentRow(p.payment_id)).toMatchObject({ amountRefunded: 1000 });
  });
});
