import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * The closed set of error codes. Every non-2xx answer carries exactly one of these in
 * the envelope `{ error: { code, message, details?, request_id } }`.
 */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  PAYMENT_FAILED: 402,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  IDEMPOTENCY_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE: 422,
  UPGRADE_REQUIRED: 426,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UPSTREAM_FAILED: 502,
  UPSTREAM_UNAVAILABLE: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Retry-After (seconds) of a 503 whose thrower named none: a transient fault, retry soon. */
export const UNAVAILABLE_RETRY_AFTER_S = 5;
/** …and of one caused by an overloaded Durable Object, which must not be retried at once. */
export const OVERLOADED_RETRY_AFTER_S = 30;

export type ErrorDetail = { path?: string; message: string; [k: string]: unknown };

export type ErrorBody = {
  error: {
    code: ErrorCode;
    message: string;
    details?: ErrorDetail[] | Record<string, unknown>;
    request_id: string;
  };
};

/**
 * A domain or HTTP error with a known code. Services throw these (they never build
 * responses); `onError` turns them into the envelope.
 */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[] | Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: {
      details?: ErrorDetail[] | Record<string, unknown>;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = "ApiError";
    this.code = code;
    this.details = opts.details;
    this.headers = opts.headers;
  }

  get status(): ContentfulStatusCode {
    return ERROR_STATUS[this.code];
  }
}

export const notFound = (what = "Resource") => new ApiError("NOT_FOUND", `${what} not found`);
export const forbidden = (message = "You may not do this") => new ApiError("FORBIDDEN", message);

export function errorBody(
  code: ErrorCode,
  message: string,
  requestId: string,
  details?: ErrorDetail[] | Record<string, unknown>,
): ErrorBody {
  return { error: { code, message, ...(details === undefined ? {} : { details }), request_id: requestId } };
}
