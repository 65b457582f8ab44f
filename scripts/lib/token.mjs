import { SignJWT } from "jose";

// Must match wrangler.toml [vars] AUTH_ISSUER / AUTH_AUDIENCE.
export const ISSUER = "edge-platform";
export const AUDIENCE = "edge-platform-api";

/** Signs a dev token (HS256) the way the platform verifies it locally. */
export function signDevToken(secret, { role, sub, merchantId, expiresIn = "12h" }) {
  const claims = { role };
  if (merchantId) claims.merchant_id = merchantId;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}
