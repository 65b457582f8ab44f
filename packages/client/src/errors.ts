import type { components } from "./generated/api";

type Envelope = components["schemas"]["ErrorEnvelope"];
/** The platform's closed set of error codes, from the document. */
export type ErrorCode = Envelope["error"]["code"];

/**
 * A non-2xx answer. `code`, `message`, `requestId` and `details` come from the error envelope;
 * an answer without one (a proxy's HTML page, say) is `UNEXPECTED_RESPONSE` with its status.
 */
export class PlatformError extends Error {
  override readonly name = "PlatformError";

  constructor(
    readonly status: number,
    readonly code: ErrorCode | "UNEXPECTED_RESPONSE",
    message: string,
    readonly requestId: string | null,
    readonly details?: Envelope["error"]["details"],
  ) {
    super(message);
  }

  /** Builds the error from a response and the body openapi-fetch already parsed (if any). */
  static from(response: Response, body: unknown): PlatformError {
    const requestId = response.headers.get("x-request-id");
    if (isEnvelope(body)) {
      const { code, message, request_id, details } = body.error;
      return new PlatformError(response.status, code, message, request_id ?? requestId, details);
    }
    return new PlatformError(
      response.status,
      "UNEXPECTED_RESPONSE",
      `HTTP ${response.status} without an error envelope`,
      requestId,
    );
  }
}

function isEnvelope(body: unknown): body is Envelope {
  if (typeof body !== "object" || body === null || !("error" in body)) return false;
  const error = body.error;
  return typeof error === "object" && error !== null && "code" in error && "message" in error;
}

/** One openapi-fetch result: data on success, the parsed error body otherwise. */
type Result = { data?: unknown; error?: unknown; response: Response };
/** The success member's data (openapi-fetch types the two members apart); a 204 has none. */
type DataOf<R> = R extends { data: infer D; error?: never } ? ([D] extends [never] ? undefined : D) : never;

/**
 * The data of a call, or a thrown PlatformError:
 * `const intent = await ok(api.POST("/api/v1/payments/create-intent", { body }))`.
 */
export async function ok<R extends Result>(call: Promise<R>): Promise<DataOf<R>> {
  const result = await call;
  if (result.response.ok) return result.data as DataOf<R>;
  throw PlatformError.from(result.response, result.error);
}
