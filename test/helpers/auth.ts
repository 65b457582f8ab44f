import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import type { Role } from "../../src/platform/types";

export type Caller = { role: Role; sub?: string; merchantId?: string };
export type TokenOptions = Caller & {
  expiresIn?: string | number;
  issuer?: string;
  audience?: string;
  secret?: string;
};

/** A real HS256 token, signed the way `npm run token` signs one. */
export async function tokenFor(opts: TokenOptions): Promise<string> {
  const sub = opts.sub ?? crypto.randomUUID();
  const claims: Record<string, unknown> = { role: opts.role };
  if (opts.merchantId !== undefined) claims.merchant_id = opts.merchantId;
  else if (opts.role === "merchant") claims.merchant_id = crypto.randomUUID();
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(sub)
    .setIssuer(opts.issuer ?? env.AUTH_ISSUER)
    .setAudience(opts.audience ?? env.AUTH_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? "10m")
    .sign(new TextEncoder().encode(opts.secret ?? env.JWT_SECRET));
}

export async function authHeaders(
  opts: TokenOptions,
  extra: Record<string, string> = {},
): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await tokenFor(opts)}`, ...extra };
}

/** A fresh identity: sub plus a signed token and headers for JSON requests. */
export async function newCaller(role: Role, merchantId?: string) {
  const sub = crypto.randomUUID();
  const opts: TokenOptions = { role, sub, ...(merchantId ? { merchantId } : {}) };
  const token = await tokenFor(opts);
  return {
    sub,
    token,
    merchantId: merchantId ?? null,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  };
}
