import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getConfig } from "../../src/platform/config";
import { injectFault } from "../helpers/stripe";
import { api, makeCallers, postJson } from "./fixtures";

/**
 * Security basics (issue 8 item 6) that other suites do not already cover. Covered elsewhere:
 * - API secure headers, simple CORS, 500 without internals, 413: test/platform/envelope.test.ts
 * - alg none, RS256 in HS256 mode, expired/forged tokens: test/platform/auth.test.ts
 * - forged, stale, tampered webhook signatures: test/payments/webhooks.test.ts
 * - single-use connect tickets, wrong path burns the ticket: test/chat/ws-auth.test.ts
 * - per-user payment rate limit: test/payments/idempotency.test.ts
 */

const SECURE = { "x-content-type-options": "nosniff", "x-frame-options": "DENY" };

describe("secure headers", () => {
  it.each(["/api/v1/health", "/api/v1/docs", "/api/v1/openapi.json", "/api/v1/nope", "/", "/dashboard/"])(
    "%s carries them",
    async (path) => {
      const res = await api(path);
      await res.body?.cancel();
      for (const [h, v] of Object.entries(SECURE)) expect(res.headers.get(h), `${path} ${h}`).toBe(v);
      expect(res.headers.get("strict-transport-security"), path).toContain("max-age");
      expect(res.headers.get("referrer-policy"), path).toBeTruthy();
    },
  );
});

describe("CORS allowlist", () => {
  const preflight = (origin: string) =>
    api("/api/v1/payments/create-intent", {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });

  it("answers a preflight from a configured origin", async () => {
    const allowed = getConfig(env).corsOrigins[0] ?? "";
    const res = await preflight(allowed);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(allowed);
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
  });

  it("gives a preflight from any other origin no allow-origin", async () => {
    for (const origin of ["https://evil.example", "null", "http://localhost:8787.evil.example"]) {
      const res = await preflight(origin);
      expect(res.headers.get("access-control-allow-origin"), origin).toBeNull();
    }
  });
});

const STACK = /\n\s+at |\.ts:\d+|\/src\/|node_modules|Failed query|SQLITE/;

describe("no stack traces or internals in error bodies", () => {
  it("4xx answers from real routes", async () => {
    const user = await makeCallers();
    const bodies = await Promise.all([
      api("/api/v1/payments/not-a-uuid", { headers: user.user.headers }),
      postJson("/api/v1/payments/create-intent", { amount: "x" }, user.user.headers),
      api("/api/v1/payments/create-intent", { method: "POST", headers: user.user.headers, body: "{" }),
      api("/api/v1/health", { headers: { authorization: "Bearer a.b.c" } }),
      api("/ws/support/x"),
      api("/api/v1/nope", { method: "PATCH" }),
    ]);
    for (const res of bodies) {
      const text = await res.text();
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(text).not.toMatch(STACK);
    }
  });

  it("an upstream 5xx says nothing about Stripe's answer", async () => {
    const { user } = await makeCallers();
    const marker = `fault-${crypto.randomUUID()}`;
    await injectFault({ path_prefix: "/v1/payment_intents", status: 500, count: 3, body_contains: marker });
    const res = await postJson(
      "/api/v1/payments/create-intent",
      { amount: 700, currency: "usd", description: marker },
      user.headers,
    );
    expect(res.status).toBeGreaterThanOrEqual(500);
    const text = await res.text();
    expect(text).not.toMatch(STACK);
    expect(text).not.toContain("api_error");
    expect(text).not.toContain(env.STRIPE_SECRET_KEY);
  });
});
