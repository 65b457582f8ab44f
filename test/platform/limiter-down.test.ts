import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newCaller } from "../helpers/auth";
import { api, apiWithEnv, expectEnvelope, postJson } from "../helpers/http";

/**
 * A rate-limit binding that throws fails closed with 503 UPSTREAM_UNAVAILABLE and a short
 * Retry-After (src/platform/limits.ts): the request is refused, nothing behind the limit runs,
 * and a client knows to retry soon, which a 500 would not tell it.
 */
const down = { limit: () => Promise.reject(new Error("rate limiter unreachable")) };

const call = (path: string, init: RequestInit, overrides: Record<string, unknown>) =>
  apiWithEnv(path, init, overrides);

async function expectLimiterDown(res: Response) {
  expect(res.headers.get("retry-after")).toBe("5");
  const body = await expectEnvelope(res, 503, "UPSTREAM_UNAVAILABLE");
  expect(body.error.message).toBe("Rate limiting is unavailable; retry shortly");
}

describe("a failing rate-limit binding", () => {
  it("refuses ticket creation with 503 and Retry-After, and creates nothing", async () => {
    const user = await newCaller("user");
    const init = {
      method: "POST",
      headers: { ...user.headers, "content-type": "application/json" },
      body: JSON.stringify({ subject: "Help" }),
    };
    await expectLimiterDown(await call("/api/v1/support/tickets", init, { TICKET_RATE_LIMITER: down }));
    const { n } = (await env.DB.prepare("SELECT COUNT(*) AS n FROM support_tickets WHERE user_id = ?")
      .bind(user.sub)
      .first<{ n: number }>()) ?? { n: -1 };
    expect(n).toBe(0);
    // The same request with the binding back is served: the 503 was the binding, not the request.
    expect((await postJson("/api/v1/support/tickets", { subject: "Help" }, user.headers)).status).toBe(201);
  });

  it("refuses a payment intent (no payment row) and a token-bearing WebSocket upgrade", async () => {
    const user = await newCaller("user");
    const intent = {
      method: "POST",
      headers: {
        ...user.headers,
        "content-type": "application/json",
        "idempotency-key": crypto.randomUUID(),
      },
      body: JSON.stringify({ amount: 1000, currency: "usd" }),
    };
    await expectLimiterDown(
      await call("/api/v1/payments/create-intent", intent, { PAYMENT_RATE_LIMITER: down }),
    );
    const { n } = (await env.DB.prepare("SELECT COUNT(*) AS n FROM payments WHERE user_id = ?")
      .bind(user.sub)
      .first<{ n: number }>()) ?? { n: -1 };
    expect(n).toBe(0);
    const upgrade = await call(
      `/ws/support/${crypto.randomUUID()}`,
      { headers: { upgrade: "websocket", authorization: user.headers.authorization as string } },
      { AUTH_RATE_LIMITER: down },
    );
    await expectLimiterDown(upgrade);
  });

  it("is documented: every rate-limited operation lists 503 next to 429", async () => {
    const doc = (await (await api("/api/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>;
    };
    const ops = Object.entries(doc.paths).flatMap(([path, byMethod]) =>
      Object.entries(byMethod).map(([method, op]) => ({ op: `${method} ${path}`, responses: op.responses })),
    );
    const limited = ops.filter((o) => o.responses["429"]);
    expect(limited.length).toBeGreaterThan(5);
    for (const o of limited)
      expect(o.responses["503"]?.description ?? "", o.op).toContain("UPSTREAM_UNAVAILABLE");
  });
});
