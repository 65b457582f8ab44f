import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { verifyToken } from "../../src/platform/auth";
import { getConfig } from "../../src/platform/config";
import { tokenFor } from "../helpers/auth";
import { api, expectEnvelope } from "../helpers/http";

// Issue 13 item 7: exp and iat are required, and a token may not live longer than
// AUTH_MAX_TOKEN_AGE_S (24 h by default); every 401 carries an RFC 6750 challenge.

const now = () => Math.floor(Date.now() / 1000);

/** An HS256 token with exactly the time claims given (undefined: the claim is left out). */
function signed(times: { iat?: number; exp?: number }, role = "admin"): Promise<string> {
  const jwt = new SignJWT({ role })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(crypto.randomUUID())
    .setIssuer(env.AUTH_ISSUER)
    .setAudience(env.AUTH_AUDIENCE);
  if (times.iat !== undefined) jwt.setIssuedAt(times.iat);
  if (times.exp !== undefined) jwt.setExpirationTime(times.exp);
  return jwt.sign(new TextEncoder().encode(env.JWT_SECRET));
}

// An admin-only route: without the fix, a token lacking exp reached it as an admin.
const ADMIN_ROUTE = "/api/v1/payments/disputes";
const call = (token: string) => api(ADMIN_ROUTE, { headers: { authorization: `Bearer ${token}` } });

async function refused(res: Response, message: RegExp) {
  const challenge = res.headers.get("www-authenticate") ?? "";
  const body = await expectEnvelope(res, 401, "UNAUTHENTICATED");
  expect(body.error.message).toMatch(message);
  expect(challenge).toMatch(/^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/);
}

describe("token lifetime", () => {
  it("a valid admin token (iat now, exp in 10 min) reaches the admin route", async () => {
    const res = await call(await tokenFor({ role: "admin" }));
    expect(res.status).toBe(200);
  });

  it("a token without exp is a 401 with WWW-Authenticate, not a token valid forever", async () => {
    await refused(await call(await signed({ iat: now() })), /"exp" is required/);
  });

  it("a token without iat is a 401 (its lifetime cannot be bounded)", async () => {
    await refused(await call(await signed({ exp: now() + 600 })), /"iat" is required/);
  });

  it("a token whose exp - iat exceeds AUTH_MAX_TOKEN_AGE_S (24 h) is a 401", async () => {
    const iat = now();
    await refused(await call(await signed({ iat, exp: iat + 86_400 + 3600 })), /lifetime exceeds 86400 s/);
    // Exactly the maximum is accepted.
    expect((await call(await signed({ iat, exp: iat + 86_400 }))).status).toBe(200);
  });

  it("an iat in the future (a way to stretch the lifetime) is a 401", async () => {
    const iat = now() + 3600;
    await refused(await call(await signed({ iat, exp: iat + 600 })), /"iat" is invalid/);
  });

  it("the maximum is configurable, and a cached verification does not outlive a lower one", async () => {
    const config = getConfig(env);
    const token = await tokenFor({ role: "user", expiresIn: "10m" });
    await expect(verifyToken(token, config)).resolves.toMatchObject({ role: "user" }); // now cached
    const strict = { ...config, AUTH_MAX_TOKEN_AGE_S: 300 };
    await expect(verifyToken(token, strict)).rejects.toThrow(/lifetime exceeds 300 s/);
  });
});

describe("WWW-Authenticate on 401s", () => {
  it("anonymous on a role-guarded route gets the bare challenge (no error code, RFC 6750 §3.1)", async () => {
    const res = await api(ADMIN_ROUTE);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="api"');
    await expectEnvelope(res, 401, "UNAUTHENTICATED");
  });

  it('a malformed Authorization header gets error="invalid_request"', async () => {
    const res = await api("/api/v1/health", { headers: { authorization: "Basic dXNlcjpwYXNz" } });
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="api", error="invalid_request"/);
    await expectEnvelope(res, 401, "UNAUTHENTICATED");
  });

  it('a bad token in the bearer subprotocol of an upgrade gets realm="ws" and invalid_token', async () => {
    const res = await api(`/ws/admin/${crypto.randomUUID()}`, {
      headers: { upgrade: "websocket", "sec-websocket-protocol": `bearer, ${await signed({ iat: now() })}` },
    });
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="ws", error="invalid_token"/);
    await expectEnvelope(res, 401, "UNAUTHENTICATED");
  });
});
