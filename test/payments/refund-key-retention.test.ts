import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { idempotencyKeys, refunds } from "../../src/db/schema";
import { expectEnvelope, postJson } from "../helpers/http";
import { db, newCaller, paidPayment, paymentRow } from "./helpers";

/** The retention job deleted the key's row (IDEMPOTENCY_RETENTION_DAYS): only the refund row is left. */
const retain = (userId: string, key: string) =>
  db()
    .delete(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)));

// Review of issue 12: after the key's row was purged, a refund request without `amount`
// ("refund what is left") under the key of an earlier partial refund was answered 201 with
// the old partial refund, so the caller believed the rest was refunded and nothing was.
describe("refund Idempotency-Key after its row was purged", () => {
  it("a partial refund's key reused for 'the rest' is 409, and the rest can be refunded under a new key", async () => {
    const user = await newCaller("user");
    const admin = await newCaller("admin");
    const paid = await paidPayment(user, 3000);
    const key = `rk-${crypto.randomUUID()}`;
    const headers = { ...admin.headers, "idempotency-key": key };
    const url = `/api/v1/payments/${paid.payment_id}/refund`;

    expect((await postJson(url, { amount: 1000, reason: "duplicate" }, headers)).status).toBe(201);
    await retain(admin.sub, key);

    // The same request still gets its refund back.
    const same = await postJson(url, { amount: 1000, reason: "duplicate" }, headers);
    expect(same.status, await same.clone().text()).toBe(201);
    await retain(admin.sub, key);

    const rest = await postJson(url, { reason: "duplicate" }, headers);
    await expectEnvelope(rest, 409, "IDEMPOTENCY_CONFLICT");
    expect(await paymentRow(paid.payment_id)).toMatchObject({
      status: "partially_refunded",
      amountRefunded: 1000,
    });
    const fresh = await postJson(
      url,
      { reason: "duplicate" },
      { ...admin.headers, "idempotency-key": `rk-${crypto.randomUUID()}` },
    );
    expect(fresh.status).toBe(201);
    expect(await paymentRow(paid.payment_id)).toMatchObject({ status: "refunded", amountRefunded: 3000 });
    expect(await db().select().from(refunds).where(eq(refunds.paymentId, paid.payment_id))).toHaveLength(2);
  });

  it("a full refund's key reused with the explicit amount it refunded is 409 too (another request)", async () => {
    const user = await newCaller("user");
    const admin = await newCaller("admin");
    const paid = await paidPayment(user, 2000);
    const key = `rk-${crypto.randomUUID()}`;
    const headers = { ...admin.headers, "idempotency-key": key };
    const url = `/api/v1/payments/${paid.payment_id}/refund`;
    expect((await postJson(url, { reason: "duplicate" }, headers)).status).toBe(201);
    await retain(admin.sub, key);
    expect((await postJson(url, { reason: "duplicate" }, headers)).status).toBe(201);
    await retain(admin.sub, key);
    await expectEnvelope(
      await postJson(url, { amount: 2000, reason: "duplicate" }, headers),
      409,
      "IDEMPOTENCY_CONFLICT",
    );
  });
});
