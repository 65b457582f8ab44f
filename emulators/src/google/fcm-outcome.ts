import { type EmulatorReply, fcmFailure } from "./fcm-errors";
import { fcmInvalid } from "./fcm-validate";

/**
 * Scripted FCM behaviour, chosen by the device token's prefix so tests can provoke every
 * branch of a client's error handling without any setup call.
 */

export const DEFAULT_QUOTA_RETRY_AFTER_S = 30;

/** `flaky2-abc` fails twice (per token), then succeeds. Returns N, or null for other tokens. */
export function flakyFailures(token: string): number | null {
  const m = /^flaky(\d+)-/.exec(token);
  return m ? Number(m[1]) : null;
}

export function unavailable(headers?: Record<string, string>): EmulatorReply {
  return fcmFailure("UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable.", headers);
}

export function internalError(headers?: Record<string, string>): EmulatorReply {
  return fcmFailure("INTERNAL", "INTERNAL", "Internal error encountered.", headers);
}

export function quotaExceeded(retryAfterS: number | null): EmulatorReply {
  return fcmFailure(
    "RESOURCE_EXHAUSTED",
    "QUOTA_EXCEEDED",
    "Quota exceeded for quota metric 'Send requests' and limit 'Send requests per minute'.",
    retryAfterS === null ? undefined : { "retry-after": String(retryAfterS) },
  );
}

/** The reply for a token-targeted send, or null when it is delivered. */
export function outcomeForToken(token: string): EmulatorReply | null {
  if (token === "" || token.startsWith("invalid-")) {
    return fcmInvalid("The registration token is not a valid FCM registration token", "message.token");
  }
  if (token.startsWith("unregistered-")) {
    return fcmFailure("NOT_FOUND", "UNREGISTERED", "Requested entity was not found.");
  }
  if (token.startsWith("mismatch-")) {
    return fcmFailure("PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch");
  }
  const quota = /^quota(\d+)?-/.exec(token);
  if (quota) return quotaExceeded(quota[1] ? Number(quota[1]) : DEFAULT_QUOTA_RETRY_AFTER_S);
  if (token.startsWith("unavailable-")) return unavailable();
  if (token.startsWith("internal-")) return internalError();
  return null;
}

/**
 * FCM's answer when it cannot authenticate to APNs or Web Push with the project's uploaded
 * credentials (ErrorCode THIRD_PARTY_AUTH_ERROR, HTTP 401, status UNAUTHENTICATED). Unlike
 * an expired access token, it carries the FcmError detail and no ErrorInfo.
 */
export function thirdPartyAuthError(): EmulatorReply {
  return fcmFailure("UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR", "Auth error from APNS or Web Push Service");
}

/** An injected outage (POST /_emulator/google/faults), whatever the token. */
export function faultReply(status: number, retryAfterS: number | null): EmulatorReply {
  const headers = retryAfterS === null ? undefined : { "retry-after": String(retryAfterS) };
  if (status === 401) return thirdPartyAuthError();
  if (status === 429) return quotaExceeded(retryAfterS);
  if (status === 500) return internalError(headers);
  return unavailable(headers);
}
