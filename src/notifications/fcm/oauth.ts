import { importPKCS8, SignJWT } from "jose";
import type { ServiceAccount } from "../../platform/config";

export const FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
/** Refresh this long before Google's expiry so a token never dies mid-batch. */
const REFRESH_MARGIN_MS = 5 * 60_000;
const ASSERTION_LIFETIME_S = 3600;

export class OAuthError extends Error {
  override name = "OAuthError";
  constructor(
    message: string,
    readonly status: number,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

type Cached = { key: string; token: string; expiresAt: number };

// Module scope = per isolate: one token exchange serves every send until near expiry.
let cached: Cached | null = null;
// Concurrent callers share one in-flight exchange instead of each starting their own.
let inFlight: { key: string; promise: Promise<Cached> } | null = null;
const keys = new Map<string, Promise<CryptoKey>>();

function signingKey(pem: string): Promise<CryptoKey> {
  let key = keys.get(pem);
  if (!key) {
    // Secrets pasted into .dev.vars often carry "\n" escapes instead of newlines.
    key = importPKCS8(pem.replace(/\\n/g, "\n"), "RS256");
    keys.set(pem, key);
  }
  return key;
}

async function exchange(
  sa: ServiceAccount,
  tokenUrl: string,
  key: string,
  timeoutMs: number,
): Promise<Cached> {
  const iat = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ scope: FCM_SCOPE })
    .setProtectedHeader({
      alg: "RS256",
      typ: "JWT",
      ...(sa.private_key_id ? { kid: sa.private_key_id } : {}),
    })
    .setIssuer(sa.client_email)
    .setAudience(tokenUrl)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ASSERTION_LIFETIME_S)
    .sign(await signingKey(sa.private_key));
  let res: Response;
  try {
    res = await fetch(tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }),
      // A hung token endpoint must not stall every send waiting on this shared exchange.
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new OAuthError(`token endpoint unreachable: ${String(err)}`, 0, true);
  }
  const body = (await res.json().catch(() => null)) as {
    access_token?: unknown;
    expires_in?: unknown;
    error?: unknown;
  } | null;
  if (!res.ok || typeof body?.access_token !== "string") {
    throw new OAuthError(
      `token exchange failed: ${res.status} ${typeof body?.error === "string" ? body.error : ""}`.trim(),
      res.status,
      res.status === 429 || res.status >= 500,
    );
  }
  const expiresIn = typeof body.expires_in === "number" ? body.expires_in : 3600;
  return { key, token: body.access_token, expiresAt: Date.now() + expiresIn * 1000 };
}

/**
 * An access token for FCM, from the isolate cache while it has more than 5 minutes left.
 * `staleToken`: the token a send just got a 401 with; it is dropped and replaced once,
 * but a token some other caller already refreshed is reused rather than exchanged again.
 * `timeoutMs` bounds the exchange (request and body).
 */
export async function getAccessToken(
  sa: ServiceAccount,
  tokenUrl: string,
  staleToken?: string,
  timeoutMs = 10_000,
): Promise<string> {
  const key = `${sa.client_email}|${tokenUrl}`;
  if (cached && cached.key === key && staleToken !== undefined && cached.token === staleToken) cached = null;
  if (cached && cached.key === key && cached.expiresAt - REFRESH_MARGIN_MS > Date.now()) return cached.token;
  if (!inFlight || inFlight.key !== key) {
    const promise = exchange(sa, tokenUrl, key, timeoutMs).finally(() => {
      if (inFlight?.promise === promise) inFlight = null;
    });
    inFlight = { key, promise };
  }
  cached = await inFlight.promise;
  return cached.token;
}
