import { createRoute } from "@hono/zod-openapi";
import { requireRole } from "../platform/auth";
import { clientNetwork } from "../platform/client-ip";
import { errorResponses, json, jsonBody, optionalSecurity, security } from "../platform/openapi";
import { rateLimit } from "../platform/rate-limit";
import { erasureSchema, ingestBodySchema, ingestResultSchema, userIdParamSchema } from "./schemas";

const tags = ["analytics"];

/**
 * Per client network (an IPv4 address, an IPv6 /64), signed in or not: Cloudflare sets
 * CF-Connecting-IP on every request and overwrites a client's own. Without it (local tools
 * only) every caller shares one bucket.
 */
const ipRateLimit = rateLimit({
  binding: (e) => e.ANALYTICS_IP_RATE_LIMITER,
  prefix: "ingest-ip",
  key: (c) => clientNetwork(c.req.header("cf-connecting-ip") ?? "unknown"),
});

export const ingestRoute = createRoute({
  method: "post",
  path: "/analytics/events",
  operationId: "ingestAnalyticsEvents",
  tags,
  summary: "Track a batch of client events (anonymous allowed with session_id)",
  // Anonymous visitors are tracked by session_id; a token that is sent must still be valid (401).
  security: optionalSecurity,
  middleware: [ipRateLimit] as const,
  request: { body: jsonBody(ingestBodySchema) },
  responses: {
    202: json(
      ingestResultSchema,
      "Accepted durably (the ingest queue has them), visible in reports within seconds; per-event rejections are itemised",
    ),
    // BAD_REQUEST: the body is not JSON at all. RATE_LIMITED: the client IP, a session, or a
    // daily byte budget (docs/analytics.md, "Abuse limits"). PAYLOAD_TOO_LARGE also when the
    // accepted events would not fit one queue sendBatch. UPSTREAM_UNAVAILABLE: the ingest queue
    // or the budget object failed; nothing was accepted, retry after Retry-After.
    ...errorResponses("BAD_REQUEST", "UNAUTHENTICATED", "RATE_LIMITED", "UPSTREAM_UNAVAILABLE"),
  },
});

export const eraseRoute = createRoute({
  method: "delete",
  path: "/analytics/users/{id}",
  operationId: "eraseAnalyticsUser",
  tags,
  summary: "Erase one user's analytics events",
  security,
  middleware: [requireRole("admin")],
  request: { params: userIdParamSchema },
  // Erasing a user with no events is a 200 with deleted: 0, never a 404.
  responses: { 200: json(erasureSchema, "Erased"), ...errorResponses("UNAUTHENTICATED", "FORBIDDEN") },
});
