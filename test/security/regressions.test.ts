import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newCaller } from "../helpers/auth";
import { bodyOf } from "../helpers/body";
import { api, expectEnvelope, postJson } from "../helpers/http";
import { signPayload } from "../helpers/stripe";

// Bugs the hostile-input property found, pinned as plain examples.

describe("found by fuzzing", () => {
  it("a signed but malformed Stripe event is a 400 and stores nothing (was a 500 from a failed INSERT)", async () => {
    for (const event of [
      { id: "", type: "x", data: {} },
      { id: `evt_${crypto.randomUUID()}`, type: "payment_intent.succeeded" },
      { id: `evt_${crypto.randomUUID()}`, type: "charge.refunded", created: 1_700_000_000, data: null },
    ]) {
      const body = JSON.stringify(event);
      const res = await api("/api/v1/payments/webhook", {
        method: "POST",
        headers: { "content-type": "application/json", "stripe-signature": await signPayload(body) },
        body,
      });
      await expectEnvelope(res, 400, "BAD_REQUEST");
      const row = await env.DB.prepare("select count(*) as n from webhook_events where id = ?")
        .bind(event.id)
        .first<{ n: number }>();
      expect(row?.n).toBe(0);
    }
  });

  it("a 400 leaves no Idempotency-Key replay behind, so the corrected request can use the key", async () => {
    const user = await newCaller("user");
    const key = crypto.randomUUID();
    const headers = { ...user.headers, "idempotency-key": key };
    const bad = await postJson("/api/v1/payments/create-intent", { amount: -5, currency: "usd" }, headers);
    await expectEnvelope(bad, 400, "VALIDATION_FAILED");
    const stored = await env.DB.prepare("select count(*) as n from idempotency_keys where key = ?")
      .bind(key)
      .first<{ n: number }>();
    expect(stored?.n).toBe(0);
    const good = await postJson("/api/v1/payments/create-intent", { amount: 500, currency: "usd" }, headers);
    expect(good.status).toBe(201);
  });

  it("free text with a lone surrogate is a 400, not a 502 from Stripe's form encoding; emoji are fine", async () => {
    const user = await newCaller("user");
    const admin = await newCaller("admin");
    const bad = await postJson(
      "/api/v1/payments/create-intent",
      { amount: 500, currency: "usd", description: "x\ud800y" },
      user.headers,
    );
    await expectEnvelope(bad, 400, "VALIDATION_FAILED");
    const ok = await postJson(
      "/api/v1/payments/create-intent",
      { amount: 500, currency: "usd", description: "🧨 gift", metadata: { note: "e\u0301" } },
      user.headers,
    );
    expect(ok.status).toBe(201);
    const { payment_id } = await bodyOf(ok, "POST /payments/create-intent", 201);
    const refund = await postJson(
      `/api/v1/payments/${payment_id}/refund`,
      { reason: "other", note: "\udc00" },
      admin.headers,
    );
    await expectEnvelope(refund, 400, "VALIDATION_FAILED");
  });
});
