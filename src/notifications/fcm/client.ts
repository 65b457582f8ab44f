import type { Config } from "../../platform/config";
import type { Outcome } from "../deliveries.service";
import { QUOTA_FIRST_STEP_S } from "../retry-schedule";
import type { FcmMessage } from "./message";
import { getAccessToken, OAuthError } from "./oauth";

type GoogleError = {
  error?: {
    code?: number;
    message?: string;
    status?: string;
    details?: Array<{
      "@type"?: string;
      errorCode?: string;
      fieldViolations?: Array<{ field?: string; description?: string }>;
    }>;
  };
};

const FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError";

/**
 * FCM could not authenticate to APNs or Web Push with the credentials uploaded to the
 * Firebase project (HTTP 401, told apart from an expired access token only by the FcmError
 * detail). A per-platform configuration failure: no token refresh or retry can fix it.
 */
export const THIRD_PARTY_AUTH_ERROR = "THIRD_PARTY_AUTH_ERROR";

/** Tokens FCM says are dead or belong to someone else: the device row goes. */
const TOKEN_DEAD = new Set(["UNREGISTERED", "SENDER_ID_MISMATCH"]);

/** Retry-After as seconds (delta or HTTP date), or null. */
export function parseRetryAfter(value: string | null, at = Date.now()): number | null {
  if (!value) return null;
  const n = Number(value);
  if (Number.isFinite(n) && n >= 0) return Math.ceil(n);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - at) / 1000));
}

/** The `errorCode` of the google.firebase.fcm.v1.FcmError detail, if Google sent one. */
function fcmErrorCode(body: GoogleError | null): string | undefined {
  return body?.error?.details?.find((d) => d["@type"] === FCM_ERROR_TYPE && typeof d.errorCode === "string")
    ?.errorCode;
}

function errorCodeOf(body: GoogleError | null, status: number): string {
  const details = body?.error?.details ?? [];
  const fcm = details.find((d) => typeof d.errorCode === "string")?.errorCode;
  return fcm ?? body?.error?.status ?? `HTTP_${status}`;
}

/** INVALID_ARGUMENT is a dead token only when Google says the token is what is wrong. */
function namesToken(body: GoogleError | null): boolean {
  const details = body?.error?.details ?? [];
  if (details.some((d) => d.fieldViolations?.some((v) => v.field === "message.token" || v.field === "token")))
    return true;
  return /registration token/i.test(body?.error?.message ?? "");
}

export function classify(status: number, body: GoogleError | null, retryAfter: number | null): Outcome {
  const code = errorCodeOf(body, status);
  if (TOKEN_DEAD.has(code)) return { kind: "token_removed", code };
  if (fcmErrorCode(body) === THIRD_PARTY_AUTH_ERROR) return { kind: "failed", code: THIRD_PARTY_AUTH_ERROR };
  if (code === "INVALID_ARGUMENT" && namesToken(body)) return { kind: "token_removed", code };
  // A quota refusal without Retry-After backs off from a minute (FCM's error-code reference).
  if (status === 429 && retryAfter === null)
    return { kind: "retry", code, retryAfterSeconds: null, firstStepS: QUOTA_FIRST_STEP_S };
  if (status === 429 || status >= 500) return { kind: "retry", code, retryAfterSeconds: retryAfter };
  return { kind: "failed", code };
}

/**
 * One FCM v1 send, each request bounded by FCM_TIMEOUT_MS (a hung request is a retry, not a
 * stalled batch). A 401 for our access token refreshes it once and tries again; a second
 * 401 is retried later through the queue (a rotated key heals without losing pushes). A 401
 * whose FcmError detail says THIRD_PARTY_AUTH_ERROR is not about our token: it fails the
 * delivery at once, with no refresh.
 */
export async function sendMessage(config: Config, message: FcmMessage): Promise<Outcome> {
  const sa = config.GOOGLE_SERVICE_ACCOUNT_JSON;
  const url = `${config.FCM_API_URL.replace(/\/$/, "")}/v1/projects/${encodeURIComponent(sa.project_id)}/messages:send`;
  let token: string;
  try {
    token = await getAccessToken(sa, config.GOOGLE_TOKEN_URL, undefined, config.FCM_TIMEOUT_MS);
  } catch (err) {
    return oauthOutcome(err);
  }
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ message }),
        signal: AbortSignal.timeout(config.FCM_TIMEOUT_MS),
      });
    } catch (err) {
      return { kind: "retry", code: isTimeout(err) ? "TIMEOUT" : "NETWORK_ERROR", retryAfterSeconds: null };
    }
    if (res.ok) {
      // The timeout covers the body too: a reply that stalls mid-body is a BAD_RESPONSE retry.
      const body = (await res.json().catch(() => null)) as { name?: unknown } | null;
      return typeof body?.name === "string"
        ? { kind: "sent", name: body.name }
        : { kind: "retry", code: "BAD_RESPONSE", retryAfterSeconds: null };
    }
    const body = (await res.json().catch(() => null)) as GoogleError | null;
    const thirdParty = fcmErrorCode(body) === THIRD_PARTY_AUTH_ERROR;
    if (res.status === 401 && attempt === 0 && !thirdParty) {
      try {
        token = await getAccessToken(sa, config.GOOGLE_TOKEN_URL, token, config.FCM_TIMEOUT_MS);
      } catch (err) {
        return oauthOutcome(err);
      }
      continue;
    }
    if (res.status === 401 && !thirdParty)
      return { kind: "retry", code: "UNAUTHENTICATED", retryAfterSeconds: null };
    return classify(res.status, body, parseRetryAfter(res.headers.get("retry-after")));
  }
}

function oauthOutcome(err: unknown): Outcome {
  // Even a rejected assertion is retried: it is a config problem the DLQ will surface,
  // and every queued push would otherwise be lost to it.
  const code = err instanceof OAuthError ? `OAUTH_${err.status || "UNREACHABLE"}` : "OAUTH_ERROR";
  return { kind: "retry", code, retryAfterSeconds: null };
}

const isTimeout = (err: unknown): boolean =>
  err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
