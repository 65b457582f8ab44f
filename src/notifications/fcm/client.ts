import type { Config } from "../../platform/config";
import type { Outcome } from "../deliveries.service";
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
  if (code === "INVALID_ARGUMENT" && namesToken(body)) return { kind: "token_removed", code };
  if (status === 429 || status >= 500) return { kind: "retry", code, retryAfterSeconds: retryAfter };
  return { kind: "failed", code };
}

/**
 * One FCM v1 send. A 401 refreshes the access token once and tries again; a second
 * 401 is retried later through the queue (a rotated key heals without losing pushes).
 */
export async function sendMessage(config: Config, message: FcmMessage): Promise<Outcome> {
  const sa = config.GOOGLE_SERVICE_ACCOUNT_JSON;
  const url = `${config.FCM_API_URL.replace(/\/$/, "")}/v1/projects/${encodeURIComponent(sa.project_id)}/messages:send`;
  let token: string;
  try {
    token = await getAccessToken(sa, config.GOOGLE_TOKEN_URL);
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
      });
    } catch {
      return { kind: "retry", code: "NETWORK_ERROR", retryAfterSeconds: null };
    }
    if (res.ok) {
      const body = (await res.json().catch(() => null)) as { name?: unknown } | null;
      return typeof body?.name === "string"
        ? { kind: "sent", name: body.name }
        : { kind: "retry", code: "BAD_RESPONSE", retryAfterSeconds: null };
    }
    const body = (await res.json().catch(() => null)) as GoogleError | null;
    if (res.status === 401 && attempt === 0) {
      try {
        token = await getAccessToken(sa, config.GOOGLE_TOKEN_URL, token);
      } catch (err) {
        return oauthOutcome(err);
      }
      continue;
    }
    if (res.status === 401) return { kind: "retry", code: "UNAUTHENTICATED", retryAfterSeconds: null };
    return classify(res.status, body, parseRetryAfter(res.headers.get("retry-after")));
  }
}

function oauthOutcome(err: unknown): Outcome {
  // Even a rejected assertion is retried: it is a config problem the DLQ will surface,
  // and every queued push would otherwise be lost to it.
  const code = err instanceof OAuthError ? `OAUTH_${err.status || "UNREACHABLE"}` : "OAUTH_ERROR";
  return { kind: "retry", code, retryAfterSeconds: null };
}
