import { z } from "@hono/zod-openapi";
import { ANALYTICS_BOOKMARK_HEADER, BOOKMARK_HEADER, MAX_BOOKMARK_CHARS } from "./d1-session";
import { ERROR_STATUS, type ErrorCode } from "./errors";

/** The one error envelope, as the OpenAPI document describes it (see errors.ts). */
export const errorEnvelopeSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      details: z
        .union([z.array(z.record(z.string(), z.unknown())), z.record(z.string(), z.unknown())])
        .optional(),
      request_id: z.string(),
    }),
  })
  .openapi("ErrorEnvelope");

/** A JSON response with its description. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A required JSON request body. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

/** Operations that need a bearer token. */
export const security = [{ bearer: [] }];
/** Operations a token is optional for (anonymous callers are accepted). */
export const optionalSecurity: Array<Record<string, string[]>> = [{}, { bearer: [] }];

const DESCRIPTIONS: Record<ErrorCode, string> = {
  VALIDATION_FAILED: "The request failed validation; details name each path",
  BAD_REQUEST: "The request is malformed",
  UNAUTHENTICATED: "Missing or invalid bearer token",
  PAYMENT_FAILED: "The payment was declined",
  FORBIDDEN: "Authenticated but not allowed",
  NOT_FOUND: "Not found (or not yours)",
  CONFLICT: "Conflicts with the resource's current state",
  IDEMPOTENCY_CONFLICT: "The Idempotency-Key was used with another request",
  PAYLOAD_TOO_LARGE: "The request body is too large",
  UNSUPPORTED_MEDIA_TYPE: "The body is not application/json",
  UNPROCESSABLE: "Valid, but not allowed by the rules",
  UPGRADE_REQUIRED: "A WebSocket upgrade was expected",
  RATE_LIMITED: "Too many requests; see Retry-After",
  INTERNAL: "Internal error",
  UPSTREAM_FAILED: "An upstream service (Stripe, Google) refused or failed",
  UPSTREAM_UNAVAILABLE: "An upstream service is unavailable; retry after Retry-After",
};

// What UPSTREAM_UNAVAILABLE means on a rate-limited operation: the limiter may be what failed.
const LIMITER_UNAVAILABLE = "An upstream service or the rate limiter is unavailable; retry after Retry-After";

/** Retry-After as a documented response header (every 429 and 503; health.ts's 503 too). */
export const retryAfterHeader = {
  "Retry-After": {
    description: "Seconds to wait before retrying",
    schema: { type: "integer" as const, minimum: 0 },
  },
};
/** On a 409, Retry-After is there only when the request is still in progress and may be retried. */
const conflictRetryAfterHeader = {
  "Retry-After": {
    ...retryAfterHeader["Retry-After"],
    description: "Present when the same request is still in progress: seconds to wait before retrying it",
  },
};
const RETRY_AFTER_HEADERS: Partial<Record<number, typeof retryAfterHeader>> = {
  [ERROR_STATUS.CONFLICT]: conflictRetryAfterHeader,
  [ERROR_STATUS.RATE_LIMITED]: retryAfterHeader,
  [ERROR_STATUS.UPSTREAM_UNAVAILABLE]: retryAfterHeader,
};

// Every route can answer these: the body limit, the validator and onError apply to all of them.
const ALWAYS: ErrorCode[] = ["VALIDATION_FAILED", "PAYLOAD_TOO_LARGE", "INTERNAL"];

/**
 * The documented error responses of one operation, built from the closed code enum so a route
 * lists exactly the codes it can return. Codes sharing a status are described together.
 * A rate-limited route can also answer 503 UPSTREAM_UNAVAILABLE: the limit binding failed and
 * the request was refused, not let through (limits.ts `enforceLimit`).
 */
export function errorResponses(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  const limited = codes.includes("RATE_LIMITED");
  const implied: ErrorCode[] = limited ? ["UPSTREAM_UNAVAILABLE"] : [];
  const describe = (c: ErrorCode) =>
    `${c}: ${limited && c === "UPSTREAM_UNAVAILABLE" ? LIMITER_UNAVAILABLE : DESCRIPTIONS[c]}`;
  for (const code of [...ALWAYS, ...codes, ...implied]) {
    const list = byStatus.get(ERROR_STATUS[code]) ?? [];
    if (!list.includes(code)) list.push(code);
    byStatus.set(ERROR_STATUS[code], list);
  }
  const out: Record<number, ReturnType<typeof json> & { headers?: typeof retryAfterHeader }> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const response = json(errorEnvelopeSchema, list.map(describe).join("; "));
    const headers = RETRY_AFTER_HEADERS[status];
    out[status] = headers ? { ...response, headers } : response;
  }
  return out;
}

// Every operation with a request body also passes zod-openapi's media-type gate (415) and the
// JSON parser (400 BAD_REQUEST on malformed JSON): documented once here, not per route.
const BODY_ERRORS: ErrorCode[] = ["BAD_REQUEST", "UNSUPPORTED_MEDIA_TYPE"];

type Operation = {
  requestBody?: unknown;
  parameters?: unknown[];
  responses?: Record<string, { description: string; content?: unknown; headers?: Record<string, unknown> }>;
};

/**
 * Adds the body errors to every operation that takes a body, merging into existing statuses.
 * The envelope's content is the operation's own 500 (errorResponses always documents INTERNAL),
 * so the generator's reference to ErrorEnvelope is reused and no `$ref` is written by hand.
 */
export function withBodyErrors<D extends { paths?: unknown }>(doc: D): D {
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Operation>>;
  for (const [path, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (!op.requestBody || !op.responses) continue;
      const envelope = op.responses[String(ERROR_STATUS.INTERNAL)]?.content;
      if (!envelope) throw new Error(`${method.toUpperCase()} ${path} documents no errorResponses()`);
      for (const code of BODY_ERRORS) {
        const status = String(ERROR_STATUS[code]);
        const line = `${code}: ${DESCRIPTIONS[code]}`;
        const existing = op.responses[status];
        if (!existing) op.responses[status] = { description: line, content: envelope };
        else if (!existing.description.includes(`${code}:`)) existing.description += `; ${line}`;
      }
    }
  }
  return doc;
}

const bookmarkDescription = (database: string, header: string) =>
  `A D1 bookmark (Sessions API) of ${database}: the newest state of that database this request saw or ` +
  `wrote. Send it back as the ${header} request header on a later read to see at least that state, even ` +
  "from a replica. Never send it in the other database's header.";

const bookmarkParameter = (database: string, header: string) => ({
  name: header,
  in: "header",
  required: false,
  description:
    `The ${header} of an earlier response (${database} only). Reads then see at least that state; writes ` +
    `always use the primary. A value that is not a D1 bookmark is a 400 VALIDATION_FAILED.`,
  schema: { type: "string", maxLength: MAX_BOOKMARK_CHARS },
});

/**
 * Every operation runs in D1 sessions (d1-session.ts): all accept DB's bookmark header and may
 * answer one; the analytics operations, the ones that read or write ANALYTICS_DB, also take and
 * return its own. Documented once here, as shared components.
 */
export function withBookmarkHeader<D extends { paths?: unknown; components?: unknown }>(doc: D): D {
  const components = (doc.components ?? {}) as Record<string, Record<string, unknown> | undefined>;
  doc.components = components;
  components.headers = {
    ...components.headers,
    D1Bookmark: { description: bookmarkDescription("DB", BOOKMARK_HEADER), schema: { type: "string" } },
    D1AnalyticsBookmark: {
      description: bookmarkDescription("ANALYTICS_DB", ANALYTICS_BOOKMARK_HEADER),
      schema: { type: "string" },
    },
  };
  components.parameters = {
    ...components.parameters,
    D1Bookmark: bookmarkParameter("DB", BOOKMARK_HEADER),
    D1AnalyticsBookmark: bookmarkParameter("ANALYTICS_DB", ANALYTICS_BOOKMARK_HEADER),
  };
  const db = ["D1Bookmark", BOOKMARK_HEADER] as const;
  const analytics = ["D1AnalyticsBookmark", ANALYTICS_BOOKMARK_HEADER] as const;
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Operation>>;
  for (const [path, ops] of Object.entries(paths)) {
    const kinds = path.includes("/analytics/") ? [db, analytics] : [db];
    for (const op of Object.values(ops)) {
      op.parameters = [
        ...(op.parameters ?? []),
        ...kinds.map(([k]) => ({ $ref: `#/components/parameters/${k}` })),
      ];
      for (const response of Object.values(op.responses ?? {})) {
        const headers = { ...response.headers };
        for (const [k, header] of kinds) headers[header] = { $ref: `#/components/headers/${k}` };
        response.headers = headers;
      }
    }
  }
  return doc;
}
