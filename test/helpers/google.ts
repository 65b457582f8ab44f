import { env } from "cloudflare:workers";
import { importPKCS8, SignJWT } from "jose";

/**
 * Controls for the Google OAuth / FCM emulator (emulators/src/google). Test code runs inside
 * the platform worker, whose outbound fetches all reach the emulators worker.
 *
 * Scripted FCM outcomes by device token prefix (no setup needed):
 *   unregistered-…  404 NOT_FOUND, errorCode UNREGISTERED
 *   invalid-…       400 INVALID_ARGUMENT, errorCode INVALID_ARGUMENT, fieldViolation message.token
 *   mismatch-…      403 PERMISSION_DENIED, errorCode SENDER_ID_MISMATCH
 *   quota-… / quota<S>-…  429 RESOURCE_EXHAUSTED, errorCode QUOTA_EXCEEDED, Retry-After: 30 (or S)
 *   unavailable-…   503 UNAVAILABLE;  internal-… 500 INTERNAL
 *   flaky<N>-…      503 UNAVAILABLE for the first N attempts of that token, then delivered
 *   anything else   200 { name: "projects/{p}/messages/…" }
 */

export const EMULATOR = "http://127.0.0.1:8788";
const CONTROL = `${EMULATOR}/_emulator/google`;

export type SentMessage = {
  name: string;
  token: string | null;
  topic: string | null;
  condition: string | null;
  /** body.message exactly as the platform sent it. */
  message: Record<string, unknown>;
  access_token_suffix: string;
  received_at: string;
};

export type GoogleStats = {
  /** Successful OAuth exchanges; a cached access token means this stays flat. */
  token_exchanges: number;
  token_exchanges_failed: number;
  sends_ok: number;
  /** Every send answered with a non-200 (auth, validation, scripted or injected failures). */
  sends_failed: number;
  /** validate_only sends that passed. */
  sends_validated: number;
  /** Peak number of sends being handled at once (see setSendLatency). */
  max_concurrency: number;
  in_flight: number;
};

async function control<T>(path: string, body?: unknown): Promise<T> {
  const init: RequestInit =
    body === undefined
      ? {}
      : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
  const res = await fetch(`${CONTROL}/${path}`, init);
  if (!res.ok) throw new Error(`google emulator ${path}: ${res.status} ${await res.text()}`);
  return res.json<T>();
}

/** Delivered messages (oldest first), optionally only those to one device token; at most `limit` (100). */
export async function sentMessages(token?: string, limit = 100): Promise<SentMessage[]> {
  const q = new URLSearchParams({ limit: String(limit) });
  if (token !== undefined) q.set("token", token);
  return (await control<{ messages: SentMessage[] }>(`messages?${q}`)).messages;
}

/** Emulator-wide counters. Other test files may share the emulator: compare deltas, not absolutes. */
export function googleStats(): Promise<GoogleStats> {
  return control<GoogleStats>("stats");
}

/** Clears recorded messages, counters, faults and flaky attempt counts. Issued tokens survive unless asked. */
export function resetGoogle(opts: { tokens?: boolean; config?: boolean } = {}): Promise<{ ok: true }> {
  return control("reset", opts);
}

export type FcmFault =
  | { status: 429 | 500 | 503; count: number; retry_after?: number; token_prefix?: string; hang_ms?: number }
  | {
      status: 401;
      error_code: "THIRD_PARTY_AUTH_ERROR";
      count: number;
      token_prefix?: string;
      hang_ms?: number;
    };

/**
 * The next `count` sends fail with `status` (503 UNAVAILABLE, 500 INTERNAL, 429 QUOTA_EXCEEDED,
 * or 401 THIRD_PARTY_AUTH_ERROR: FCM's answer when the APNs / Web Push credentials are bad),
 * whatever their token, optionally with Retry-After. Pass `token_prefix` to confine the outage
 * to sends whose target starts with it (keeps parallel tests from eating each other's faults).
 * `hang_ms`: each such send first hangs that long (a stalled upstream), then answers the fault.
 */
export function injectFcmFault(fault: FcmFault): Promise<{ queued: number }> {
  return control("faults", fault);
}

/** The next `count` sends to tokens starting with `prefix` get FCM's THIRD_PARTY_AUTH_ERROR (401). */
export function breakThirdPartyAuth(prefix: string, count: number): Promise<{ queued: number }> {
  return injectFcmFault({ status: 401, error_code: "THIRD_PARTY_AUTH_ERROR", count, token_prefix: prefix });
}

/** How many injected failures are left for a token prefix (each send consumes one). */
export async function faultsLeft(tokenPrefix: string): Promise<number> {
  const q = new URLSearchParams({ token_prefix: tokenPrefix });
  return (await control<{ remaining: number }>(`faults?${q}`)).remaining;
}

/** Ends an injected outage: drops the faults of one token prefix. */
export function clearFcmFaults(tokenPrefix: string): Promise<{ cleared: number }> {
  return control("faults/clear", { token_prefix: tokenPrefix });
}

/** Invalidates every issued access token: the next send with a cached token gets 401. */
export function revokeGoogleTokens(): Promise<{ revoked: number }> {
  return control("revoke", {});
}

/** Delays every send by `ms` inside the emulator so concurrent sends overlap (0 turns it off). */
export function setSendLatency(ms: number): Promise<unknown> {
  return control("config", { send_latency_ms: ms });
}

/**
 * While held, every send waits inside the emulator (counted in `in_flight`) until released:
 * a deterministic way to see how many sends a client keeps in flight at once.
 */
export function holdSends(hold: boolean): Promise<{ holding: boolean; in_flight: number }> {
  return control("hold", { hold });
}

/** Lifetime of access tokens issued from now on (default 3599 s); 0 issues already-expired tokens. */
export function setAccessTokenTtl(seconds: number): Promise<unknown> {
  return control("config", { access_token_ttl_s: seconds });
}

export const FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";

/** A service-account assertion signed with the platform's real key (override any claim or the key). */
export async function signAssertion(
  claims: Record<string, unknown> = {},
  opts: { lifetimeS?: number; issuedAt?: number; key?: CryptoKey } = {},
): Promise<string> {
  const sa = JSON.parse(env.GOOGLE_SERVICE_ACCOUNT_JSON) as { client_email: string; private_key: string };
  const key = opts.key ?? (await importPKCS8(sa.private_key, "RS256"));
  const iat = opts.issuedAt ?? Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: sa.client_email,
    scope: FCM_SCOPE,
    aud: env.GOOGLE_TOKEN_URL,
    iat,
    exp: iat + (opts.lifetimeS ?? 3600),
    ...claims,
  })
    .setProtectedHeader({ alg: "RS256", typ: "JWT" })
    .sign(key);
}

/** Exchanges an assertion at the emulator's token endpoint exactly as the platform does. */
export function exchangeAssertion(
  assertion: string,
  grantType = "urn:ietf:params:oauth:grant-type:jwt-bearer",
) {
  return fetch(env.GOOGLE_TOKEN_URL, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: grantType, assertion }),
  });
}

/** A fresh, valid FCM access token. */
export async function accessToken(): Promise<string> {
  const res = await exchangeAssertion(await signAssertion());
  if (!res.ok) throw new Error(`token exchange failed: ${res.status} ${await res.text()}`);
  return (await res.json<{ access_token: string }>()).access_token;
}

/** The project the platform's service account belongs to (the emulator's GOOGLE_PROJECT_ID). */
export function projectId(): string {
  return (JSON.parse(env.GOOGLE_SERVICE_ACCOUNT_JSON) as { project_id: string }).project_id;
}

/** POST messages:send for the emulator's project (or another), as the platform would. */
export function fcmSend(body: unknown, token: string | null, project = projectId()): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return fetch(`${env.FCM_API_URL}/v1/projects/${project}/messages:send`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Google's error envelope, as the token endpoint's sibling APIs (FCM) answer it. */
export type GoogleError = {
  error: {
    code: number;
    message: string;
    status: string;
    details?: Array<{
      "@type": string;
      errorCode?: string;
      fieldViolations?: Array<{ field?: string; description: string }>;
    }>;
  };
};

export const FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError";
export const BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest";

/** The FcmError detail's errorCode (UNREGISTERED, QUOTA_EXCEEDED, …), if any. */
export const fcmCode = (e: GoogleError["error"]) =>
  e.details?.find((d) => d["@type"] === FCM_ERROR)?.errorCode;

/** The BadRequest detail's field violations, if any. */
export const fieldViolations = (e: GoogleError["error"]) =>
  e.details?.find((d) => d["@type"] === BAD_REQUEST)?.fieldViolations;
