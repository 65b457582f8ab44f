import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { payments } from "../../src/db/schema";
import { expectEnvelope, postJson } from "../helpers/http";
import { type Caller, db, get, newCaller } from "./helpers";

/**
 * Issue 13, item 9: callers chose `merchant_id` freely, so a payment could be tagged with any
 * merchant (its staff then heard "payment received" and the revenue was attributed to it). Now
 * a payment names a merchant the directory knows; a user may pay any known merchant, a
 * merchant's staff only their own (docs/payments.md, "Merchant ids").
 */
const create = (caller: Caller, merchantId: string) =>
  postJson(
    "/api/v1/payments/create-intent",
    { amount: 1500, currency: "usd", merchant_id: merchantId },
    caller.headers,
  );
const rowsOf = (userId: string) => db().select().from(payments).where(eq(payments.userId, userId));

/** A merchant the directory knows: its staff member has made one authenticated request. */
async function knownMerchant() {
  const staff = await newCaller("merchant", crypto.randomUUID());
  expect((await get("/api/v1/payments/history", staff)).status).toBe(200);
  return staff;
}

describe("merchant_id on create-intent", () => {
  it("an unknown merchant id is a 422 and writes nothing", async () => {
    const user = await newCaller("user");
    const body = await expectEnvelope(await create(user, crypto.randomUUID()), 422, "UNPROCESSABLE");
    expect(body.error.details).toEqual([{ path: "merchant_id", message: "unknown merchant" }]);
    expect(await rowsOf(user.sub)).toEqual([]);
  });

  it("a user may pay a known merchant", async () => {
    const merchant = await knownMerchant();
    const user = await newCaller("user");
    expect((await create(user, merchant.merchantId ?? "")).status).toBe(201);
    expect((await rowsOf(user.sub)).map((r) => r.merchantId)).toEqual([merchant.merchantId]);
  });

  it("another merchant's staff may not tag a payment with the victim merchant (403); their own is fine", async () => {
    const victim = await knownMerchant();
    const attacker = await newCaller("merchant", crypto.randomUUID());
    await expectEnvelope(await create(attacker, victim.merchantId ?? ""), 403, "FORBIDDEN");
    expect(await rowsOf(attacker.sub)).toEqual([]);
    expect((await create(attacker, attacker.merchantId ?? "")).status).toBe(201);
    expect((await rowsOf(attacker.sub)).map((r) => r.merchantId)).toEqual([attacker.merchantId]);
  });
});
