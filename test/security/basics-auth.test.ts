import { env } from "cloudflare:workers";
import { base64url, exportSPKI, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { verifyToken } from "../../src/platform/auth";
import { getConfig } from "../../src/platform/config";
import { bodyOf } from "../helpers/body";
import { expectEnvelope, upgrade } from "../helpers/http";
import { signPayload } from "../helpers/stripe";
import { api, makeCallers, postJson } from "./fixtures";

// Complements test/platform/auth.test.ts (HS256 mode), test/payments/webhooks.test.ts (stale
// and forged signatures) and test/chat/ws-auth.test.ts (ticket reuse, wrong path).

// JWKS mode: the URL is never fetched, because the algorithm allowlist is checked first.
const jwksConfig = () => ({
  ...getConfig(env),
  AUTH_JWKS_URL: "http://127.0.0.1:8788/.well-known/jwks.json",
});
const claims = { role: "admin" };
const sign = (header: { alg: string }, key: Uint8Array | CryptoKey) =>
  new SignJWT(claims)
    .setProtectedHeader(header)
    .setSubject(crypto.randomUUID())
    .setIssuer(env.AUTH_ISSUER)
    .setAudience(env.AUTH_AUDIENCE)
    .setExpirationTime("5m")
    .sign(key);

describe("JWT algorithm pinning in JWKS mode", () => {
  it("refuses an HS256 token whose HMAC key is the public key (HS/RS confusion)", async () => {
    const { publicKey } = await generateKeyPair("RS256", { extractable: true });
    const pem = await exportSPKI(publicKey);
    const token = await sign({ alg: "HS256" }, new TextEncoder().encode(pem));
    await expect(verifyToken(token, jwksConfig())).rejects.toThrow(/algorithm/i);
  });

  it("refuses alg: none and an HS256 token signed with JWT_SECRET", async () => {
    const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
    const now = Math.floor(Date.now() / 1000);
    const none = `${enc({ alg: "none" })}.${enc({ ...claims, sub: "x", iss: env.AUTH_ISSUER, aud: env.AUTH_AUDIENCE, exp: now + 60 })}.`;
    await expect(verifyToken(none, jwksConfig())).rejects.toThrow();
    const hs = await sign({ alg: "HS256" }, new TextEncoder().encode(env.JWT_SECRET));
    await expect(verifyToken(hs, jwksConfig())).rejects.toThrow(/algorithm/i);
  });
});

describe("webhook timestamp tolerance (300 s)", () => {
  const event = () =>
    JSON.stringify({
      id: `evt_tol_${crypto.randomUUID().replaceAll("-", "")}`,
      object: "event",
      type: "customer.created",
      created: Math.floor(Date.now() / 1000),
      data: { object: { id: "cus_tol", object: "customer" } },
    });
  const deliver = async (body: string, ageSeconds: number) =>
    api("/api/v1/payments/webhook", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "stripe-signature": await signPayload(body, Math.floor(Date.now() / 1000) - ageSeconds),
      },
      body,
    });

  it("accepts a signature well inside the window and refuses one well outside it", async () => {
    const fresh = await deliver(event(), 120);
    expect(fresh.status).toBe(200);
    await expectEnvelope(await deliver(event(), 600), 400, "BAD_REQUEST");
  });
});

describe("connect tickets", () => {
  it("are consumed atomically: two simultaneous upgrades with one ticket open one socket", async () => {
    const { merchant } = await makeCallers();
    const path = `/ws/merchant/${merchant.merchantId}`;
    const issued = await postJson("/api/v1/realtime/tickets", { path }, merchant.headers);
    expect(issued.status).toBe(201);
    const { ticket } = await bodyOf(issued, "POST /realtime/tickets", 201);
    const results = await Promise.all([1, 2, 3].map(() => upgrade(`${path}?ticket=${ticket}`)));
    const opened = results.filter((r) => r.status === 101);
    expect(opened).toHaveLength(1);
    for (const r of results) {
      if (r.webSocket) {
        r.webSocket.accept();
        r.webSocket.close(1000, "done");
      } else expect(r.status).toBe(401);
    }
  });
});

describe("rate limits on auth-sensitive paths", () => {
  it("POST /realtime/tickets beyond the AUTH_RATE_LIMITER limit answers 429 with Retry-After", async () => {
    const { merchant } = await makeCallers();
    const path = `/ws/merchant/${merchant.merchantId}`;
    let limited: Response | null = null;
    let issued = 0;
    // The binding allows 60 per 60 s per caller; a few extra tries absorb window edges.
    for (let i = 0; i < 70 && !limited; i++) {
      const res = await postJson("/api/v1/realtime/tickets", { path }, merchant.headers);
      if (res.status === 429) limited = res;
      else {
        expect(res.status).toBe(201);
        issued++;
        await res.body?.cancel();
      }
    }
    expect(limited, `no 429 after ${issued} tickets`).not.toBeNull();
    expect(issued).toBeGreaterThanOrEqual(1);
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThan(0);
    await expectEnvelope(limited as Response, 429, "RATE_LIMITED");
    // Another caller is unaffected: the limit is per caller, not global.
    const other = (await makeCallers()).merchant;
    const ok = await postJson(
      "/api/v1/realtime/tickets",
      { path: `/ws/merchant/${other.merchantId}` },
      other.headers,
    );
    expect(ok.status).toBe(201);
  });
});
