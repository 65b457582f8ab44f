import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { idempotencyKeys, payments } from "../../src/db/schema";
import { bodyOf } from "../helpers/body";
import { expectEnvelope, postJson } from "../helpers/http";
import { emulatorRequests, injectFault } from "../helpers/stripe";
import { db, get, newCaller } from "./helpers";

const create = (body: unknown, headers: Record<string, string>) =>
  postJson("/api/v1/payments/create-intent", body, headers);

describe("Idempotency-Key", () => {
  it("a replay returns the first response; a different body is 409; keys are per user", async () => {
    const user = await newCaller("user");
    const key = `order-${crypto.randomUUID()}`;
    const body = { amount: 1234, currency: "eur", order_id: "o-1" };
    const first = await create(body, { ...user.headers, "idempotency-key": key });
    expect(first.status).toBe(201);
    const firstBody = await bodyOf(first, "POST /payments/create-intent", 201);
    const replay = await create(body, { ...user.headers, "idempotency-key": key });
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await replay.json()).toEqual(firstBody);

    await expectEnvelope(
      await create({ ...body, amount: 1235 }, { ...user.headers, "idempotency-key": key }),
      409,
      "IDEMPOTENCY_CONFLICT",
    );
    const rows = await db().select().from(payments).where(eq(payments.userId, user.sub));
    expect(rows).toHaveLength(1);

    // The same key from someone else is their own, independent request.
    const other = await newCaller("user");
    const theirs = await create(body, { ...other.headers, "idempotency-key": key });
    expect(theirs.status).toBe(201);
    expect((await bodyOf(theirs, "POST /payments/create-intent", 201)).payment_id).not.toBe(
      firstBody.payment_id,
    );
  });

  it("an upstream failure stores nothing, and the retry with the same key completes once", async () => {
    const user = await newCaller("user");
    const key = `retry-${crypto.randomUUID()}`;
    const marker = `m${crypto.randomUUID().replaceAll("-", "")}`;
    await injectFault({
      path_prefix: "/v1/payment_intents",
      method: "POST",
      status: 500,
      count: 2,
      body_contains: marker,
    });
    const body = { amount: 999, currency: "usd", metadata: { marker } };
    const failed = await create(body, { ...user.headers, "idempotency-key": key });
    expect([502, 503]).toContain(failed.status);
    await expectEnvelope(failed, failed.status);
    expect(await db().select().from(payments).where(eq(payments.userId, user.sub))).toHaveLength(0);
    expect(
      await db()
        .select()
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.userId, user.sub), eq(idempotencyKeys.key, key))),
    ).toHaveLength(0);

    const retry = await create(body, { ...user.headers, "idempotency-key": key });
    expect(retry.status).toBe(201);
    const { payment_id } = await bodyOf(retry, "POST /payments/create-intent", 201);
    expect(await db().select().from(payments).where(eq(payments.userId, user.sub))).toHaveLength(1);
    const calls = await emulatorRequests({ idempotency_key: `pi:${payment_id}` });
    expect(calls.filter((c) => c.status === 200 && !c.replayed)).toHaveLength(1);
  });

  it("rejects an over-long key", async () => {
    const user = await newCaller("user");
    await expectEnvelope(
      await create({ amount: 100, currency: "usd" }, { ...user.headers, "idempotency-key": "k".repeat(256) }),
      400,
      "VALIDATION_FAILED",
    );
  });

  it("a duplicate while the first is in flight is 409 CONFLICT", async () => {
    const user = await newCaller("user");
    const key = `inflight-${crypto.randomUUID()}`;
    await db().insert(idempotencyKeys).values({
      userId: user.sub,
      key,
      route: "POST /api/v1/payments/create-intent",
      requestHash: "x",
      state: "in_progress",
      createdAt: Date.now(),
    });
    await expectEnvelope(
      await create({ amount: 100, currency: "usd" }, { ...user.headers, "idempotency-key": key }),
      409,
    );
  });
});

describe("rate limiting", () => {
  it("more than 30 payment requests a minute from one user get 429 with Retry-After", async () => {
    const user = await newCaller("user");
    const other = await newCaller("user");
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 40 && !limited; i++) {
      const res = await get("/api/v1/payments/history?limit=1", user);
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(limited).toBeDefined();
    if (!limited) return;
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(30);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    await expectEnvelope(limited, 429, "RATE_LIMITED");
    // Per user: someone else is unaffected.
    expect((await get("/api/v1/payments/history?limit=1", other)).status).toBe(200);
  });
});
