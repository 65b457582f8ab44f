import type { HonoRequest } from "hono";
import { createMiddleware } from "hono/factory";
import {
  createRemoteJWKSet,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  errors as joseErrors,
  jwtVerify,
} from "jose";
import { z } from "zod";
import type { AppEnv } from "./app-env";
import type { Config } from "./config";
import { rememberUser } from "./directory";
import { ApiError } from "./errors";
import { unicodeText } from "./text";
import { type Principal, ROLES, type Role } from "./types";

const claimsSchema = z
  .object({
    sub: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[\w.:@-]+$/),
    role: z.enum(ROLES),
    // Stored on tickets and published in events, whose schemas refuse an unpaired surrogate.
    merchant_id: unicodeText(z.string().min(1).max(128)).optional(),
    // Required by jwtVerify (requiredClaims) before this runs; typed here for the lifetime check.
    exp: z.number(),
    iat: z.number(),
    nbf: z.number().optional(),
  })
  .refine((c) => c.role !== "merchant" || c.merchant_id !== undefined, {
    message: "merchant tokens must carry merchant_id",
  });

const encoder = new TextEncoder();
// One JWKS client per URL per isolate: jose caches keys and handles rotation (kid miss → refetch).
const jwksCache = new Map<string, JWTVerifyGetKey>();

function jwks(url: string): JWTVerifyGetKey {
  let set = jwksCache.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000 });
    jwksCache.set(url, set);
  }
  return set;
}

/**
 * Verifies a bearer token. Algorithms are pinned per mode, which is what defeats
 * `alg: none` and HS/RS confusion: an HS256 token is never checked against a JWKS key,
 * and an RS256 token is never checked against the shared secret.
 *
 * Lifetime: jose checks `exp` only when it is present, so `exp` and `iat` are required
 * claims; `maxTokenAge` refuses an `iat` in the future or older than AUTH_MAX_TOKEN_AGE_S,
 * and `exp - iat` may not exceed it either. A token is therefore never trusted for longer
 * than the configured maximum, whatever its issuer wrote into `exp`.
 */
export async function verifyToken(token: string, config: Config): Promise<Principal> {
  const hit = cachedPrincipal(token, config);
  if (hit) return hit;
  const options: JWTVerifyOptions = {
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    clockTolerance: CLOCK_TOLERANCE_S,
    requiredClaims: ["exp", "iat"],
    maxTokenAge: config.AUTH_MAX_TOKEN_AGE_S,
  };
  let payload: unknown;
  try {
    if (config.AUTH_JWKS_URL) {
      ({ payload } = await jwtVerify(token, jwks(config.AUTH_JWKS_URL), {
        ...options,
        algorithms: ["RS256", "ES256"],
      }));
    } else {
      payload = await verifyHs256(token, config, options);
    }
  } catch (err) {
    throw new ApiError("UNAUTHENTICATED", describeJoseError(err));
  }
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) throw new ApiError("UNAUTHENTICATED", "Token claims are invalid");
  const { exp, iat } = claims.data;
  if (exp - iat > config.AUTH_MAX_TOKEN_AGE_S)
    throw new ApiError("UNAUTHENTICATED", `Token lifetime exceeds ${config.AUTH_MAX_TOKEN_AGE_S} s`);
  // Frozen: the same object is handed to every request that presents this token.
  const principal: Principal = Object.freeze({
    userId: claims.data.sub,
    role: claims.data.role,
    merchantId: claims.data.merchant_id ?? null,
  });
  remember(token, config, principal, claims.data);
  return principal;
}

const CLOCK_TOLERANCE_S = 30;
/** Longest a verified token is trusted without re-verification (JWKS key removals apply after this). */
const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX = 2_000;
type Verified = {
  config: Config;
  principal: Principal;
  until: number;
  exp: number;
  iat: number;
  nbf?: number;
};
// Verified tokens by their exact text. The result of verifying the same bytes with the same
// config cannot change except through time, so time is re-checked on every hit (exp, nbf and
// the maximum age with jose's tolerance, plus a short TTL). Signature checks were ~7% of a
// history request.
const verified = new Map<string, Verified>();

/** Whether a cached verification still holds at `nowMs` (exported for tests). */
export function stillValid(v: Omit<Verified, "principal">, config: Config, nowMs: number): boolean {
  const s = Math.floor(nowMs / 1000); // jose's clock, in whole seconds
  const maxAge = config.AUTH_MAX_TOKEN_AGE_S;
  return (
    v.config === config &&
    nowMs < v.until &&
    typeof v.exp === "number" &&
    typeof v.iat === "number" &&
    v.exp > s - CLOCK_TOLERANCE_S &&
    v.exp - v.iat <= maxAge &&
    s - v.iat <= maxAge + CLOCK_TOLERANCE_S &&
    (v.nbf === undefined || v.nbf <= s + CLOCK_TOLERANCE_S)
  );
}

function cachedPrincipal(token: string, config: Config): Principal | null {
  const v = verified.get(token);
  if (!v) return null;
  if (stillValid(v, config, Date.now())) return v.principal;
  verified.delete(token);
  return null;
}

function remember(
  token: string,
  config: Config,
  principal: Principal,
  claims: { exp: number; iat: number; nbf?: number | undefined },
): void {
  if (verified.size >= VERIFIED_MAX) {
    // Oldest first (Map keeps insertion order): drop a tenth to amortise the sweep.
    let n = VERIFIED_MAX / 10;
    for (const key of verified.keys()) {
      if (n-- <= 0) break;
      verified.delete(key);
    }
  }
  verified.set(token, {
    config,
    principal,
    until: Date.now() + VERIFIED_TTL_MS,
    exp: claims.exp,
    iat: claims.iat,
    ...(claims.nbf === undefined ? {} : { nbf: claims.nbf }),
  });
}

// jose imports raw key bytes with crypto.subtle.importKey on every verification; the secret
// is fixed for the isolate, so import it once per secret and hand jose the CryptoKey.
// Bounded: only the current and previous secrets are ever in use.
const hmacKeys = new Map<string, Promise<CryptoKey>>();
const HMAC_KEYS_MAX = 8;

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "verify",
    ]);
    // A failed import (e.g. an empty secret) is not cached, so it fails the same way next time.
    key.catch(() => hmacKeys.delete(secret));
    if (hmacKeys.size >= HMAC_KEYS_MAX) hmacKeys.clear();
    hmacKeys.set(secret, key);
  }
  return key;
}

async function verifyHs256(token: string, config: Config, options: JWTVerifyOptions): Promise<unknown> {
  const verify = async (secret: string) =>
    jwtVerify(token, await hmacKey(secret), { ...options, algorithms: ["HS256"] });
  try {
    return (await verify(config.JWT_SECRET ?? "")).payload;
  } catch (err) {
    // During a rotation, tokens signed with the previous secret stay valid until they expire.
    const previous = config.JWT_SECRET_PREVIOUS;
    if (previous && err instanceof joseErrors.JWSSignatureVerificationFailed)
      return (await verify(previous)).payload;
    throw err;
  }
}

function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return "Token has expired";
  if (err instanceof joseErrors.JWTClaimValidationFailed)
    return err.reason === "missing"
      ? `Token claim "${err.claim}" is required`
      : `Token claim "${err.claim}" is invalid`;
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return "Token algorithm is not allowed";
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "Token signature is invalid";
  return "Token is invalid";
}

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return m?.[1] ?? null;
}

/**
 * Sets `principal` when an Authorization header is present. A present but bad token is
 * still a 401: silently treating it as anonymous would hide client bugs.
 */
export const authenticate = createMiddleware<AppEnv>(async function authenticate(c, next) {
  const header = c.req.header("authorization");
  if (header !== undefined) {
    const token = bearerToken(header);
    if (!token) throw new ApiError("UNAUTHENTICATED", "Authorization header must be 'Bearer <token>'");
    const principal = await verifyToken(token, c.var.config);
    c.set("principal", principal);
    await rememberUser(() => c.var.deps.db, principal);
  }
  await next();
});

// No WWW-Authenticate here: onError adds the RFC 6750 challenge to every 401 (bearerChallenge).
export const requireAuth = createMiddleware<AppEnv>(async function requireAuth(c, next) {
  if (!c.var.principal) throw new ApiError("UNAUTHENTICATED", "Authentication required");
  await next();
});

/** 401 when anonymous, 403 when authenticated with the wrong role. */
export function requireRole(...roles: Role[]) {
  return createMiddleware<AppEnv>(async function requireRole(c, next) {
    const p = c.var.principal;
    if (!p) throw new ApiError("UNAUTHENTICATED", "Authentication required");
    if (!roles.includes(p.role)) throw new ApiError("FORBIDDEN", `Requires role: ${roles.join(" or ")}`);
    await next();
  });
}

/** For handlers behind requireAuth: the principal, typed as present. */
export function principalOf(c: { var: { principal?: Principal } }): Principal {
  const p = c.var.principal;
  if (!p) throw new ApiError("UNAUTHENTICATED", "Authentication required");
  return p;
}

/**
 * The `WWW-Authenticate` value of a 401 (RFC 6750 §3), added by onError to every one of them.
 * A request that presented no credentials gets the bare challenge (no error code, as §3.1
 * asks); one that presented a token (Authorization header, `bearer` subprotocol, or a socket's
 * `?ticket=`) gets error="invalid_token" and the reason; an Authorization header that is not
 * `Bearer <token>` gets error="invalid_request".
 */
export function bearerChallenge(req: HonoRequest, message: string): string {
  const ws = req.path.startsWith("/ws/");
  const header = req.header("authorization");
  const protocol = req.header("sec-websocket-protocol")?.trimStart() ?? "";
  let error: "invalid_request" | "invalid_token" | null = null;
  if (header !== undefined) error = bearerToken(header) ? "invalid_token" : "invalid_request";
  else if (ws && /^bearer\s*(,|$)/.test(protocol))
    error = /^bearer\s*,\s*\S/.test(protocol) ? "invalid_token" : "invalid_request";
  else if (ws && req.query("ticket") !== undefined) error = "invalid_token";
  const realm = `Bearer realm="${ws ? "ws" : "api"}"`;
  if (!error) return realm;
  // error_description allows printable ASCII except `"` and `\` (RFC 6750 §3).
  const description = message.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, "?");
  return `${realm}, error="${error}", error_description="${description}"`;
}
