/**
 * Google's API error envelope (google.rpc.Status as JSON), with the FCM-specific detail
 * the Admin SDKs read: `details[].errorCode` of type google.firebase.fcm.v1.FcmError.
 */

export type GoogleStatus =
  | "INVALID_ARGUMENT"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "NOT_FOUND"
  | "RESOURCE_EXHAUSTED"
  | "INTERNAL"
  | "UNAVAILABLE";

export type FcmErrorCode =
  | "UNSPECIFIED_ERROR"
  | "INVALID_ARGUMENT"
  | "UNREGISTERED"
  | "SENDER_ID_MISMATCH"
  | "QUOTA_EXCEEDED"
  | "UNAVAILABLE"
  | "INTERNAL"
  | "THIRD_PARTY_AUTH_ERROR";

export type FieldViolation = { field?: string; description: string };

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type EmulatorReply = { status: number; body: JsonValue; headers?: Record<string, string> };

/** A reply as it crosses the Durable Object RPC boundary (recursive JSON types do not). */
export type WireReply = { status: number; json: string; headers?: Record<string, string> };

export const toWire = (reply: EmulatorReply): WireReply => ({
  status: reply.status,
  json: JSON.stringify(reply.body),
  headers: reply.headers,
});

const HTTP_CODE: Record<GoogleStatus, number> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
};

export const fcmDetail = (errorCode: FcmErrorCode): JsonValue => ({
  "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
  errorCode,
});

export const badRequestDetail = (fieldViolations: FieldViolation[]): JsonValue => ({
  "@type": "type.googleapis.com/google.rpc.BadRequest",
  fieldViolations,
});

export function googleError(
  status: GoogleStatus,
  message: string,
  details: JsonValue[] = [],
  headers?: Record<string, string>,
): EmulatorReply {
  const code = HTTP_CODE[status];
  const error: JsonValue = details.length ? { code, message, status, details } : { code, message, status };
  return headers ? { status: code, body: { error }, headers } : { status: code, body: { error } };
}

/** A per-message FCM failure: the google.rpc status plus the FcmError code. */
export function fcmFailure(
  status: GoogleStatus,
  errorCode: FcmErrorCode,
  message: string,
  headers?: Record<string, string>,
): EmulatorReply {
  return googleError(status, message, [fcmDetail(errorCode)], headers);
}

const AUTH_HELP =
  "Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";

export function unauthenticated(missing: boolean): EmulatorReply {
  const message = missing
    ? `Request is missing required authentication credential. ${AUTH_HELP}`
    : `Request had invalid authentication credentials. ${AUTH_HELP}`;
  return googleError(
    "UNAUTHENTICATED",
    message,
    [
      {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        reason: missing ? "CREDENTIALS_MISSING" : "ACCESS_TOKEN_EXPIRED",
        domain: "googleapis.com",
        metadata: { service: "fcm.googleapis.com", method: "google.firebase.fcm.v1.FcmService.SendMessage" },
      },
    ],
    { "www-authenticate": 'Bearer realm="https://accounts.google.com/"' },
  );
}

export function projectDenied(project: string): EmulatorReply {
  const resource = `//cloudresourcemanager.googleapis.com/projects/${project}`;
  return googleError(
    "PERMISSION_DENIED",
    `Permission 'cloudmessaging.messages.create' denied on resource '${resource}' (or it may not exist).`,
    [
      {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        reason: "IAM_PERMISSION_DENIED",
        domain: "cloudresourcemanager.googleapis.com",
        metadata: { permission: "cloudmessaging.messages.create", resource },
      },
    ],
  );
}
