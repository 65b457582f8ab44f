import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { exchangeAssertion, fcmSend, googleStats, signAssertion } from "../helpers/google";

type OAuthError = { error: string; error_description: string };

async function expectOAuthError(res: Response, status: number, error: string, description?: string | RegExp) {
  const body = await res.json<OAuthError>();
  expect({ status: res.status, error: body.error }).toEqual({ status, error });
  if (typeof description === "string") expect(body.error_description).toBe(description);
  else if (description) expect(body.error_description).toMatch(description);
  return body;
}

const b64url = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const SHORT_LIVED = /^Invalid JWT: Token must be a short-lived token \(60 minutes\)/;

async function otherPrivateKey(): Promise<CryptoKey> {
  const pair = (await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  return pair.privateKey;
}

describe("Google OAuth token endpoint (jwt-bearer grant)", () => {
  it("exchanges a valid RS256 assertion for a Bearer access token that FCM accepts", async () => {
    const before = await googleStats();
    const res = await exchangeAssertion(await signAssertion());
    expect(res.status).toBe(200);
    const body = await res.json<{ access_token: string; expires_in: number; token_type: string }>();
    expect(body.access_token).toMatch(/^ya29\.[A-Za-z0-9_-]{40,}$/);
    expect(body.expires_in).toBe(3599);
    expect(body.token_type).toBe("Bearer");
    expect((await googleStats()).token_exchanges).toBeGreaterThan(before.token_exchanges);

    const send = await fcmSend({ message: { token: `dev-${crypto.randomUUID()}` } }, body.access_token);
    expect(send.status).toBe(200);
  });

  it("accepts Google's production audience as well as the URL it was called on", async () => {
    const res = await exchangeAssertion(await signAssertion({ aud: "https://oauth2.googleapis.com/token" }));
    expect(res.status).toBe(200);
  });

  it("rejects an assertion signed by another key", async () => {
    const res = await exchangeAssertion(await signAssertion({}, { key: await otherPrivateKey() }));
    await expectOAuthError(res, 400, "invalid_grant", "Invalid JWT Signature.");
  });

  it("rejects an expired assertion", async () => {
    const issuedAt = Math.floor(Date.now() / 1000) - 7200;
    const res = await exchangeAssertion(await signAssertion({}, { issuedAt, lifetimeS: 3600 }));
    await expectOAuthError(res, 400, "invalid_grant", SHORT_LIVED);
  });

  it("rejects an assertion living longer than 60 minutes", async () => {
    const res = await exchangeAssertion(await signAssertion({}, { lifetimeS: 3601 }));
    await expectOAuthError(res, 400, "invalid_grant", SHORT_LIVED);
  });

  it("rejects an assertion without iat or exp", async () => {
    const res = await exchangeAssertion(await signAssertion({ iat: undefined }));
    await expectOAuthError(res, 400, "invalid_grant", SHORT_LIVED);
  });

  it("rejects the wrong audience", async () => {
    const res = await exchangeAssertion(await signAssertion({ aud: "https://example.com/token" }));
    await expectOAuthError(res, 400, "invalid_grant", /Failed audience check/);
  });

  it("rejects an unknown issuer", async () => {
    const res = await exchangeAssertion(await signAssertion({ iss: "someone@else.iam.gserviceaccount.com" }));
    await expectOAuthError(res, 400, "invalid_grant", "Invalid grant: account not found");
  });

  it("rejects an assertion without the firebase.messaging scope", async () => {
    const missing = await exchangeAssertion(await signAssertion({ scope: undefined }));
    await expectOAuthError(missing, 400, "invalid_scope");
    const other = await exchangeAssertion(
      await signAssertion({ scope: "https://www.googleapis.com/auth/drive" }),
    );
    await expectOAuthError(other, 400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.");
  });

  it("rejects an unsigned alg:none assertion", async () => {
    const good = await signAssertion();
    const [, payload] = good.split(".");
    const none = `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${payload}.`;
    await expectOAuthError(await exchangeAssertion(none), 400, "invalid_grant", "Invalid JWT Signature.");
  });

  it("rejects an HS256 assertion, even one keyed with the public key (algorithm confusion)", async () => {
    const sa = JSON.parse(env.GOOGLE_SERVICE_ACCOUNT_JSON) as { client_email: string; private_key: string };
    const now = Math.floor(Date.now() / 1000);
    const hs = await new SignJWT({ scope: "https://www.googleapis.com/auth/firebase.messaging" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(sa.client_email)
      .setAudience(env.GOOGLE_TOKEN_URL)
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(new TextEncoder().encode("-----BEGIN PUBLIC KEY-----"));
    await expectOAuthError(await exchangeAssertion(hs), 400, "invalid_grant", "Invalid JWT Signature.");
  });

  it("rejects a tampered payload under a valid signature", async () => {
    const [h, , s] = (await signAssertion()).split(".");
    const forged = b64url(JSON.stringify({ iss: "x", scope: "y" }));
    await expectOAuthError(await exchangeAssertion(`${h}.${forged}.${s}`), 400, "invalid_grant");
  });

  it("rejects garbage and other grant types like Google does", async () => {
    await expectOAuthError(await exchangeAssertion("not-a-jwt"), 400, "invalid_grant");
    const other = await exchangeAssertion(await signAssertion(), "client_credentials");
    await expectOAuthError(other, 400, "unsupported_grant_type", "Invalid grant_type: client_credentials");
    const noAssertion = await fetch(env.GOOGLE_TOKEN_URL, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
    });
    await expectOAuthError(noAssertion, 400, "invalid_request", "Missing required parameter: assertion");
  });

  it("counts rejected exchanges separately from issued tokens", async () => {
    const before = await googleStats();
    await exchangeAssertion("not-a-jwt");
    const after = await googleStats();
    expect(after.token_exchanges_failed).toBeGreaterThan(before.token_exchanges_failed);
  });
});
