import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api } from "../helpers/http";
import { newCaller } from "./helpers";

/**
 * The per-isolate pre-check (src/platform/limit-precheck.ts) may let a read through before the
 * binding answers; a request that starts a charge must never be: once the binding has no budget
 * left for the caller, create-intent is refused on the very first request this isolate sees.
 */
describe("payment rate limit: state-changing routes always wait for the binding", () => {
  it("refuses create-intent with 429 when the caller's binding budget is already spent", async () => {
    const caller = await newCaller("user");
    // Spend the caller's budget on the binding directly (as other isolates would have).
    for (let i = 0; i < 40; i++) await env.PAYMENT_RATE_LIMITER.limit({ key: `pay:${caller.sub}` });
    const res = await api("/api/v1/payments/create-intent", {
      method: "POST",
      headers: { ...caller.headers, "idempotency-key": crypto.randomUUID() },
      body: JSON.stringify({ amount: 2000, currency: "usd" }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("60");
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe("RATE_LIMITED");
  });
});
