import { and, eq, like } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { domainEvents, webhookEvents } from "../../src/db/schema";
import { bodyOf } from "../helpers/body";
import { api, expectEnvelope, postJson } from "../helpers/http";
import { deliverWebhook, pullWebhooks, stripeClient } from "../helpers/stripe";
import { confirm, createIntent, db, get, newCaller, paymentRow, stripeIntentId } from "./helpers";

describe("create-intent and confirm", () => {
  it("pm_card_visa succeeds; webhooks replayed twice and out of order leave one correct row", async () => {
    const user = await newCaller("user");
    const intent = await createIntent(user, {
      amount: 1999,
      currency: "USD",
      description: "Mug",
      source: "web",
    });
    expect(intent).toMatchObject({
      status: "requires_payment_method",
      amount: 1999,
      amount_decimal: "19.99",
      currency: "usd",
    });
    expect(intent.client_secret).toMatch(/_secret_/);

    const res = await confirm(user, intent.payment_id, "pm_card_visa");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: "succeeded",
      payment_id: intent.payment_id,
      next_action: null,
    });

    const piId = await stripeIntentId(intent.payment_id);
    const { deliveries } = await pullWebhooks({ forObject: piId });
    const types = deliveries.map((d) => d.type);
    expect(types).toContain("payment_intent.succeeded");
    // Newest first, then everything twice more: replays and reordering.
    const order = [...deliveries].reverse().concat(deliveries, [...deliveries].reverse());
    for (const d of order) expect((await deliverWebhook(d)).status).toBe(200);

    const row = await paymentRow(intent.payment_id);
    expect(row).toMatchObject({
      status: "succeeded",
      amount: 1999,
      amountRefunded: 0,
      cardBrand: "visa",
      cardLast4: "4242",
    });
    expect(row.paidAt).not.toBeNull();
    expect(row.receiptUrl).toMatch(/^https?:\/\//);
    const events = await db()
      .select()
      .from(domainEvents)
      .where(
        and(eq(domainEvents.type, "payment.succeeded"), like(domainEvents.id, `%${intent.payment_id}%`)),
      );
    expect(events).toHaveLength(1);
    const ledger = await db().select().from(webhookEvents).where(eq(webhookEvents.objectId, piId));
    expect(new Set(ledger.map((l) => l.id)).size).toBe(ledger.length);
    expect(ledger.length).toBeGreaterThan(0);

    const detail = await get(`/api/v1/payments/${intent.payment_id}`, user);
    expect(detail.status).toBe(200);
    const body = await bodyOf(detail, "GET /payments/:payment_id", 200);
    expect(body.receipt).toMatchObject({
      amount_paid: 1999,
      amount_paid_decimal: "19.99",
      amount_refunded: 0,
      amount_net: 1999,
      card_brand: "visa",
      card_last4: "4242",
    });
    expect(body.receipt.receipt_number).toEqual(expect.any(String));
    expect(body.receipt.paid_at).toMatch(/Z$/);
  });

  it.each([
    ["pm_card_chargeDeclined", "generic_decline"],
    ["pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"],
  ])("%s is a 402 with decline_code %s and the row is failed", async (pm, declineCode) => {
    const user = await newCaller("user");
    const intent = await createIntent(user);
    const res = await confirm(user, intent.payment_id, pm);
    const body = await expectEnvelope(res, 402, "PAYMENT_FAILED");
    expect(body.error.details).toMatchObject({
      code: "card_declined",
      decline_code: declineCode,
      payment_id: intent.payment_id,
    });
    const row = await paymentRow(intent.payment_id);
    expect(row).toMatchObject({ status: "failed", declineCode });
    const failed = await db()
      .select()
      .from(domainEvents)
      .where(and(eq(domainEvents.type, "payment.failed"), like(domainEvents.id, `%${intent.payment_id}%`)));
    expect(failed).toHaveLength(1);

    // A later retry with a good card still succeeds: failed is not terminal.
    const retry = await confirm(user, intent.payment_id, "pm_card_visa");
    expect(retry.status).toBe(200);
    expect((await paymentRow(intent.payment_id)).status).toBe("succeeded");
  });

  it("pm_card_authenticationRequired answers requires_action with next_action", async () => {
    const user = await newCaller("user");
    const intent = await createIntent(user);
    const res = await confirm(user, intent.payment_id, "pm_card_authenticationRequired");
    expect(res.status).toBe(200);
    const body = await bodyOf(res, "POST /payments/confirm", 200);
    expect(body.status).toBe("requires_action");
    expect(body.next_action).not.toBeNull();
    expect((await paymentRow(intent.payment_id)).status).toBe("requires_action");
  });

  it("confirm without a method re-reads after client-side confirmation", async () => {
    const user = await newCaller("user");
    const intent = await createIntent(user);
    const { confirmClientSide } = await import("../helpers/stripe");
    const client = await confirmClientSide(await stripeIntentId(intent.payment_id), {
      payment_method: "pm_card_visa",
    });
    expect(client.status).toBe(200);
    const res = await confirm(user, intent.payment_id);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "succeeded" });
  });

  it("rejects card data, unknown fields, bad currencies and bad amounts with 400", async () => {
    const user = await newCaller("user");
    const bad: Record<string, unknown>[] = [
      { amount: 1000, currency: "usd", card_number: "4242424242424242" },
      { amount: 1000, currency: "usd", extra: true },
      { amount: 1000, currency: "xyz" },
      { amount: 0, currency: "usd" },
      { amount: -5, currency: "usd" },
      { amount: 10.5, currency: "usd" },
      { amount: "1000", currency: "usd" },
      { currency: "usd" },
    ];
    for (const body of bad) {
      await expectEnvelope(
        await postJson("/api/v1/payments/create-intent", body, user.headers),
        400,
        "VALIDATION_FAILED",
      );
    }
    await expectEnvelope(await confirm(user, "not-a-uuid", "pm_card_visa"), 400, "VALIDATION_FAILED");
  });

  it("anonymous is 401; another user's payment is 404; an admin may read it", async () => {
    const owner = await newCaller("user");
    const other = await newCaller("user");
    const admin = await newCaller("admin");
    await expectEnvelope(
      await postJson("/api/v1/payments/create-intent", { amount: 100, currency: "usd" }),
      401,
      "UNAUTHENTICATED",
    );
    const intent = await createIntent(owner);
    await expectEnvelope(await get(`/api/v1/payments/${intent.payment_id}`, other), 404, "NOT_FOUND");
    await expectEnvelope(await get(`/api/v1/payments/${crypto.randomUUID()}`, other), 404, "NOT_FOUND");
    await expectEnvelope(await confirm(other, intent.payment_id, "pm_card_visa"), 404, "NOT_FOUND");
    expect((await get(`/api/v1/payments/${intent.payment_id}`, admin)).status).toBe(200);
    await expectEnvelope(await api(`/api/v1/payments/${intent.payment_id}`), 401, "UNAUTHENTICATED");
  });

  it("zero-decimal currencies keep whole units", async () => {
    const user = await newCaller("user");
    const intent = await createIntent(user, { amount: 500, currency: "jpy" });
    expect(intent).toMatchObject({ amount: 500, amount_decimal: "500", currency: "jpy" });
    // Stored and sent upstream as 500 yen, not 50000 (no minor-unit scaling for JPY).
    expect(await paymentRow(intent.payment_id)).toMatchObject({
      userId: user.sub,
      amount: 500,
      currency: "jpy",
      status: "requires_payment_method",
    });
    const pi = await stripeClient().paymentIntents.retrieve(await stripeIntentId(intent.payment_id));
    expect(pi).toMatchObject({ amount: 500, currency: "jpy" });
  });
});
