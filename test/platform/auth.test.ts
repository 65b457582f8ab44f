import { env } from "cloudflare:workers";
import { base64url, exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { verifyToken } from "../../src/platform/auth";
import { getConfig } from "../../src/platform/config";
import { tokenFor } from "../helpers/auth";
import { api, expectEnvelope } from "../helpers/http";

// Tokens are verified by the global `authenticate` middleware whenever one is sent,
// so any /api/v1 path exercises verification; health needs no role.
const PROBE = "/api/v1/health";

const call = (token: string) => api(PROBE, { headers: { authorization: `Bearer ${token}` } });

function unsignedToken(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
  return `${enc({ alg: "none", typ: "JWT" })}.${enc(claims)}.`;
}

describe("authentication", () => {
  it("accepts a valid HS256 token", async () => {
    const res = await call(await tokenFor({ role: "user" }));
    expect(res.status).toBe(200);
  });

  it("rejects an expired token with 401", async () => {
    const token = await new SignJWT({ role: "user" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(crypto.randomUUID())
      .setIssuer(env.AUTH_ISSUER)
      .setAudience(env.AUTH_AUDIENCE)
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(env.JWT_SECRET));
    const body = await expectEnvelope(await call(token), 401, "UNAUTHENTICATED");
    expect(body.error.message).toMatch(/expired/i);
  });

  it("rejects a token signed with another secret", async () => {
    const token = await tokenFor({ role: "admin", secret: "x".repeat(40) });
    const body = await expectEnvelope(await call(token), 401, "UNAUTHENTICATED");
    expect(body.error.message).toMatch(/signature/i);
  });

  it("rejects alg: none", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = unsignedToken({
      sub: crypto.randomUUID(),
      role: "admin",
      iss: env.AUTH_ISSUER,
      aud: env.AUTH_AUDIENCE,
      iat: now,
      exp: now + 600,
    });
    await expectEnvelope(await call(token), 401, "UNAUTHENTICATED");
  });

  it("rejects a wrong audience and a wrong issuer", async () => {
    await expectEnvelope(
      await call(await tokenFor({ role: "user", audience: "someone-else" })),
      401,
      "UNAUTHENTICATED",
    );
    await expectEnvelope(
      await call(await tokenFor({ role: "user", issuer: "evil" })),
      401,
      "UNAUTHENTICATED",
    );
  });

  it("rejects RS256 tokens in HS256 mode (no algorithm confusion)", async () => {
    const { privateKey, publicKey } = await generateKeyPair("RS256");
    const jwk = await exportJWK(publicKey);
    const token = await new SignJWT({ role: "admin" })
      .setProtectedHeader({ alg: "RS256", jwk })
      .setSubject(crypto.randomUUID())
      .setIssuer(env.AUTH_ISSUER)
      .setAudience(env.AUTH_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
    const body = await expectEnvelope(await call(token), 401, "UNAUTHENTICATED");
    expect(body.error.message).toMatch(/algorithm/i);
  });

  it("rejects unknown roles and merchant tokens without merchant_id", async () => {
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(crypto.randomUUID())
        .setIssuer(env.AUTH_ISSUER)
        .setAudience(env.AUTH_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(new TextEncoder().encode(env.JWT_SECRET));
    await expectEnvelope(await call(await sign({ role: "superuser" })), 401, "UNAUTHENTICATED");
    await expectEnvelope(await call(await sign({ role: "merchant" })), 401, "UNAUTHENTICATED");
  });

  it("rejects a malformed Authorization header", async () => {
    const res = await api(PROBE, { headers: { authorization: "Basic dXNlcjpwYXNz" } });
    await expectEnvelope(res, 401, "UNAUTHENTICATED");
    await expectEnvelope(await call("not-a-jwt"), 401, "UNAUTHENTICATED");
  });

  it("records verified callers in the users directory", async () => {
    const sub = crypto.randomUUID();
    const merchantId = crypto.randomUUID();
    await call(await tokenFor({ role: "merchant", sub, merchantId }));
    const row = await env.DB.prepare("select role, merchant_id from users where id = ?").bind(sub).first();
    expect(row).toEqual({ role: "merchant", merchant_id: merchantId });
  });

  it("accepts the previous secret only while JWT_SECRET_PREVIOUS is configured", async () => {
    const previous = "p".repeat(40);
    const token = await tokenFor({ role: "user", sub: "rotating-user", secret: previous });
    const config = getConfig(env);
    await expect(verifyToken(token, config)).rejects.toThrow(/signature/i);
    const during = { ...config, JWT_SECRET_PREVIOUS: previous };
    await expect(verifyToken(token, during)).resolves.toMatchObject({
      userId: "rotating-user",
      role: "user",
    });
    // A token signed with neither secret is still refused during the window.
    const stranger = await tokenFor({ role: "user", secret: "s".repeat(40) });
    await expect(verifyToken(stranger, during)).rejects.toThrow(/signature/i);
  });
});
