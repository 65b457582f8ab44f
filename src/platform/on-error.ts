import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ZodError } from "zod";
import type { AppEnv } from "./app-env";
import { bearerChallenge } from "./auth";
import { ConfigError } from "./config";
import { ApiError, type ErrorCode, errorBody, UNAVAILABLE_RETRY_AFTER_S } from "./errors";
import { createLogger } from "./logger";
import { zodDetails } from "./validation";

const HTTP_EXCEPTION_CODES: Partial<Record<number, ErrorCode>> = {
  400: "BAD_REQUEST",
  401: "UNAUTHENTICATED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "RATE_LIMITED",
};

/** Every 401 carries a `WWW-Authenticate` challenge (RFC 7235 §3.1), built here once. */
function withChallenge(
  c: Context<AppEnv>,
  message: string,
  headers: Record<string, string> = {},
): Record<string, string> {
  return { ...headers, "WWW-Authenticate": bearerChallenge(c.req, message) };
}

const hasHeader = (headers: Record<string, string> | undefined, name: string) =>
  Object.keys(headers ?? {}).some((h) => h.toLowerCase() === name);

/** The single place an error becomes a response. Internals never leave through here. */
export function onError(err: Error, c: Context<AppEnv>): Response {
  const requestId = c.var.requestId ?? "unknown";
  const logger = c.var.logger ?? createLogger({ request_id: requestId });

  if (err instanceof ApiError) {
    if (err.status >= 500) logger.error("request failed", { code: err.code, err, cause: err.cause });
    const headers =
      err.status === 401
        ? withChallenge(c, err.message, err.headers)
        : err.status === 503 && !hasHeader(err.headers, "retry-after")
          ? // Every 503 says when to come back (README, the OpenAPI document): a transient fault.
            { ...err.headers, "Retry-After": String(UNAVAILABLE_RETRY_AFTER_S) }
          : err.headers;
    return c.json(errorBody(err.code, err.message, requestId, err.details), err.status, headers);
  }
  if (err instanceof ZodError) {
    return c.json(
      errorBody("VALIDATION_FAILED", "Request validation failed", requestId, zodDetails(err)),
      400,
    );
  }
  if (err instanceof HTTPException) {
    const code = HTTP_EXCEPTION_CODES[err.status] ?? (err.status >= 500 ? "INTERNAL" : "BAD_REQUEST");
    // Hono's own messages (e.g. "Malformed JSON in request body") are safe to echo.
    const message = err.status >= 500 ? "Internal error" : err.message || "Bad request";
    const headers = err.status === 401 ? withChallenge(c, message) : undefined;
    return c.json(errorBody(code, message, requestId), err.status as ContentfulStatusCode, headers);
  }
  if (err instanceof ConfigError) {
    logger.error("configuration invalid", { err: err.message });
    return c.json(errorBody("INTERNAL", "Server is misconfigured", requestId), 500);
  }
  logger.error("unhandled error", { err: err.message, stack: err.stack });
  return c.json(errorBody("INTERNAL", "Internal error", requestId), 500);
}

export function onNotFound(c: Context<AppEnv>): Response {
  const requestId = c.var.requestId ?? "unknown";
  return c.json(
    errorBody("NOT_FOUND", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`, requestId),
    404,
  );
}
