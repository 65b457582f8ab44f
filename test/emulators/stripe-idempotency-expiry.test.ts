import { and, eq } from "drizzle-orm";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { idempotencyKeys, payments } from "../../src/db/schema";
import { expectEnvelope, postJson } from "../helpers/http";
import { ageIdempotencyKeys, emulatorRequests, stripeClient, stripeFailure } from "../helpers/stripe";
import { createIntent, db, newCaller } from "../payments/helpers";

/**
 * Issue 12, review finding 8: Stripe prunes idempotency keys once they are at least 24 hours
 * old, and a key reused after that is a new request (docs.stripe.com/idempotency). Within 24 h
 * the same key with other parameters is an idempotency_error.
 */
const stripe = stripeClient();
const HOUR = 60 * 60;

describe("stripe emulator: idempotency keys expire after 24 h", () => {
  it("a key reused after 24 h creates a new object; within 24 h other params are idempotency_error", async () => {
    const key = `exp-${crypto.randomUUID()}`;
    const first = await stripe.customers.create({ email: "a@example.com" }, { idempotencyKey: key });

    expect(await ageIdempotencyKeys(23 * HOUR, key)).toEqual({ aged: 1 });
    const replay = await stripe.customers.create({ email: "a@example.com" }, { idempotencyKey: key });
    expect(replay.id).toBe(first.id);
    const err = await stripeFailure(
      stripe.customers.create({ email: "b@example.com" }, { idempotencyKey: key }),
    );
    expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(err.statusCode).toBe(400);

    await ageIdempotencyKeys(1 * HOUR + 1, key); // 24 h and a second old: pruned
    const fresh = await stripe.customers.create({ email: "b@example.com" }, { idempotencyKey: key });
    expect(fresh.id).not.toBe(first.id);
    expect(fresh.email).toBe("b@example.com");
    // …and the new request holds the key afresh for the next 24 h.
    const again = await stripe.customers.create({ email: "b@example.com" }, { idempotencyKey: key });
    expect(again.id).toBe(fresh.id);
    const logged = await emulatorRequests({ idempotency_key: key });
    expect(logged.map((r) => [r.status, r.replayed])).toEqual([
      [200, false],
      [200, true],
      [400, false],
      [200, false],
      [200, true],
    ]);
  });

  it("the platform never makes a second PaymentIntent once both its key and Stripe's have expired", async () => {
    const user = await newCaller("user");
    const key = `exp-${crypto.randomUUID()}`;
    const headers = { "idempotency-key": key };
    const first = await createIntent(user, { amount: 1200, currency: "usd" }, headers);
    await db()
      .update(idempotencyKeys)
      .set({ createdAt: Date.now() - 25 * HOUR * 1000 })
      .where(and(eq(idempotencyKeys.userId, user.sub), eq(idempotencyKeys.key, key)));
    expect((await ageIdempotencyKeys(25 * HOUR, `pi:${first.payment_id}`)).aged).toBe(1);

    const again = await createIntent(user, { amount: 1200, currency: "usd" }, headers);
    expect(again).toMatchObject({ payment_id: first.payment_id, client_secret: first.client_secret });
    await expectEnvelope(
      await postJson(
        "/api/v1/payments/create-intent",
        { amount: 3400, currency: "usd" },
        { ...user.headers, ...headers },
      ),
      409,
      "IDEMPOTENCY_CONFLICT",
    );
    expect(await db().select().from(payments).where(eq(payments.userId, user.sub))).toHaveLength(1);
    const creates = (await emulatorRequests({ idempotency_key: `pi:${first.payment_id}` })).filter(
      (r) => r.method === "POST" && !r.replayed,
    );
    expect(creates).toHaveLength(1);
  });
});
